"""``treadwalk sim``: serve the virtual treadmill on a Bumble HCI transport until Ctrl+C, and the
virtual heart-rate strap on its own transport (``--hr-hci SPEC``; its heart follows the belt).

``register`` uses argparse only; ``run`` validates the flags (quirks, faults, the capture file)
before opening the transport, then serves, logging one line per event to stderr. ``--replay
FILE`` serves a machine capture (``treadwalk info --capture``) instead of the simulated belt.
"""

from __future__ import annotations

import argparse
from typing import Any

from treadwalk.core.errors import UsageError

STRAP_ADDRESS = "D0:7D:00:00:48:52"  # static random (two top bits set); "HR"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sim",
        help="serve a virtual FTMS treadmill on a Bluetooth HCI transport",
        description=(
            "Serve a virtual FTMS treadmill (real GATT over a Bumble host) on an HCI transport until "
            "Ctrl+C, logging what it receives and does. Example: treadwalk sim --hci tcp-client:127.0.0.1:9001 "
            "--quirks urevo --fault drop@30s+10s"
        ),
    )
    p.add_argument(
        "--hci", metavar="SPEC", help="Bumble HCI transport, e.g. usb:0 or tcp-client:127.0.0.1:9001"
    )
    p.add_argument(
        "--quirks",
        metavar="LIST",
        default="",
        help="comma-separated quirks or presets (strict spec when empty): citysports, urevo, kingsmith, "
        "step_count_bit13, responses_as_notifications, padded_status, no_control_enforcement, echo_status, "
        "reserved_training_status, mph_ranges, multi_packet_mtu23, notify_before_subscribe, no_response",
    )
    p.add_argument(
        "--fault",
        metavar="SPEC",
        action="append",
        default=[],
        help="inject a fault (repeatable): drop@30s, drop@30s+10s, refuse_control, reject:OP, no_answer:OP, "
        "malformed@20s, console_stop@40s (the walker presses Stop), control_lost@30s (status 0xFF)",
    )
    p.add_argument(
        "--replay",
        metavar="FILE",
        help="serve a capture made by 'treadwalk info --capture' (its frames on their recorded timing) "
        "instead of the simulated belt",
    )
    p.add_argument(
        "--name", help="advertised name (default: treadwalk-sim, or the captured name with --replay)"
    )
    p.add_argument(
        "--speedup", type=float, default=1.0, metavar="N", help="run the sim's clock N times faster"
    )
    p.add_argument(
        "--hr-hci",
        metavar="SPEC",
        help="also serve a virtual heart-rate strap on this HCI transport (its heart follows the belt)",
    )
    p.add_argument(
        "--hr-walker",
        choices=("fit", "average", "unfit"),
        default="average",
        help="whose heart the virtual strap carries (default: average)",
    )
    p.add_argument(
        "--hr-quirks",
        metavar="LIST",
        default="",
        help="strap quirks: uint16, no_contact_feature, no_rr, energy, no_battery",
    )
    p.add_argument(
        "--hr-fault",
        metavar="SPEC",
        action="append",
        default=[],
        help="strap fault (repeatable): drop@T[+D], contact_lost@T[+D], zero@T[+D], 255@T[+D], frozen@T[+D]",
    )
    p.add_argument(
        "--hr-name", default="treadwalk-hr", help="the strap's advertised name (default: treadwalk-hr)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib

    from treadwalk.sim.options import parse_fault, parse_quirks
    from treadwalk.sim.strap_options import parse_strap_fault, parse_strap_quirks

    quirks = parse_quirks(args.quirks)
    faults = [parse_fault(f) for f in args.fault]
    strap: dict[str, Any] | None = None
    hr_flags = args.hr_quirks or args.hr_fault or args.hr_walker != "average"
    if args.hr_hci:
        strap = {
            "spec": args.hr_hci,
            "name": args.hr_name,
            "walker": args.hr_walker,
            "quirks": parse_strap_quirks(args.hr_quirks),
            "faults": [parse_strap_fault(f) for f in args.hr_fault],
        }
    elif hr_flags:
        raise UsageError(
            "--hr-walker, --hr-quirks and --hr-fault shape the virtual strap: add --hr-hci SPEC."
        )
    capture = None
    if args.replay:
        from treadwalk.sim.replay import load_capture

        if quirks or faults:
            raise UsageError(
                "--replay plays a recorded machine as it was; drop --quirks and --fault, or drop --replay."
            )
        capture = load_capture(args.replay)
    if not args.hci:
        raise UsageError(
            "treadwalk sim needs --hci SPEC (e.g. --hci tcp-client:127.0.0.1:9001 or --hci usb:0): "
            "without a transport nobody can reach the virtual treadmill."
        )
    if args.hr_hci and args.hr_hci == args.hci:
        raise UsageError(
            "--hr-hci needs its own transport (a second controller or dongle), not the treadmill's --hci."
        )
    if not args.speedup >= 1.0:
        raise UsageError(f"--speedup must be 1 or more, not {args.speedup:g}.")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.hci, args.name, quirks, faults, args.speedup, capture, strap))
    return 0


async def _serve(
    spec: str,
    name: str | None,
    quirks: frozenset[str],
    faults: list[Any],
    speedup: float,
    capture: Any = None,
    strap: dict[str, Any] | None = None,
) -> None:
    import asyncio
    import contextlib
    import logging
    import signal
    import sys

    from treadwalk.core.clock import LoopClock
    from treadwalk.core.errors import TreadmillError
    from treadwalk.radio import open_hci_link
    from treadwalk.sim import VirtualStrap, VirtualTreadmill
    from treadwalk.sim.replay import ReplayTreadmill

    if name is None:
        name = (capture.identity.get("name") if capture is not None else None) or "treadwalk-sim"

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("treadwalk sim: %(message)s"))
    sim_logger = logging.getLogger("treadwalk.sim")
    sim_logger.addHandler(handler)
    sim_logger.setLevel(logging.INFO)
    sim_logger.propagate = False

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def open_device(at: str, as_name: str, address: str | None = None) -> tuple[Any, Any]:
        try:
            opened = open_hci_link(at, as_name, address)
            return opened, await opened.__aenter__()
        except (OSError, ValueError, RuntimeError, TimeoutError) as exc:
            raise TreadmillError(
                f"Cannot open the HCI transport '{at}' ({type(exc).__name__}: {exc}); check the spec "
                "(e.g. usb:0, tcp-client:127.0.0.1:9001) and that the device or controller is there."
            ) from exc

    try:
        async with contextlib.AsyncExitStack() as stack:
            opened, link = await open_device(spec, name)
            stack.push_async_exit(opened)
            device = link.device
            clock = LoopClock(speedup)
            server: Any = (
                ReplayTreadmill(device, clock, capture, name=name)
                if capture is not None
                else VirtualTreadmill(device, clock, name=name, quirks=quirks, faults=faults)
            )
            await stack.enter_async_context(server)
            print(f"treadwalk sim: serving '{name}' on {spec}; Ctrl+C to stop", file=sys.stderr, flush=True)
            if strap is not None:
                # its own address: on the same link as the treadmill's it must not be taken for it
                opened_hr, hr_link = await open_device(strap["spec"], strap["name"], STRAP_ADDRESS)
                stack.push_async_exit(opened_hr)
                hr_device = hr_link.device
                await stack.enter_async_context(
                    VirtualStrap(
                        hr_device,
                        clock,
                        belt=server if isinstance(server, VirtualTreadmill) else None,
                        walker=strap["walker"],
                        name=strap["name"],
                        quirks=strap["quirks"],
                        faults=strap["faults"],
                    )
                )
                print(
                    f"treadwalk sim: serving heart-rate strap '{strap['name']}' ({strap['walker']} walker) "
                    f"on {strap['spec']}",
                    file=sys.stderr,
                    flush=True,
                )
            await _until_stopped_or_lost(stop, link.lost, spec)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        sim_logger.removeHandler(handler)


async def _until_stopped_or_lost(stop: Any, lost: Any, spec: str) -> None:
    """Serve until Ctrl+C/SIGTERM, or end when the transport closed under us."""
    import asyncio

    from treadwalk.cli.hci import transport_closed

    stopped = asyncio.create_task(stop.wait(), name="sim-stop")
    try:
        await asyncio.wait({stopped, lost}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        await asyncio.wait({stopped})
    if lost.done() and not stop.is_set():
        raise transport_closed(spec, lost, "run 'treadwalk sim' again")
