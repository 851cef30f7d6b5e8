"""`treadwalk scan`: FTMS treadmills and heart-rate straps in range, with a kind column."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "scan",
        help="list FTMS treadmills and heart-rate straps in range",
        description="List FTMS treadmills and heart-rate straps (Heart Rate Service) in range.",
    )
    p.add_argument("--timeout", type=float, default=5.0, metavar="S", help="how long to listen (default 5 s)")
    p.add_argument(
        "--hci", metavar="SPEC", help="use a Bumble HCI transport (e.g. usb:0, tcp-client:host:port)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per device (with its kind)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from treadwalk.core.errors import UsageError

    if not args.timeout > 0:
        raise UsageError("--timeout must be a number of seconds above 0, e.g. --timeout 5.")
    return asyncio.run(_scan(args))


async def _both(timeout_s: float, backend: Any) -> tuple[list[Any], list[Any]]:
    """Treadmills and straps from one listening window: one scanner, not two side by side (BlueZ
    refuses a second discovery while one runs: "Operation already in progress")."""
    from treadwalk.heartrate.discovery import straps_in
    from treadwalk.treadmill.discovery import listen, machines_in

    heard = await listen(timeout_s, backend=backend)
    return machines_in(heard), straps_in(heard)


async def _scan(args: argparse.Namespace) -> int:
    if args.hci:
        from treadwalk.cli.hci import open_radio, until_lost

        async with open_radio(args.hci) as radio:
            machines, straps = await until_lost(
                radio, _both(args.timeout, radio.scanner_backend), "scan again"
            )
    else:
        machines, straps = await _both(args.timeout, None)
    if args.json:
        for m in machines:
            print(
                json.dumps(
                    {
                        "kind": "treadmill",
                        "name": m.name,
                        "address": m.address,
                        "rssi": m.rssi,
                        "machine_types": list(m.machine_types),
                        "available": m.available,
                    }
                )
            )
        for s in straps:
            print(json.dumps({"kind": "heart_rate", "name": s.name, "address": s.address, "rssi": s.rssi}))
        return 0
    if not machines and not straps:
        print(
            f"No FTMS treadmill or heart-rate strap heard in {args.timeout:g} s. Is it on, awake (a strap: "
            "worn, electrodes wet) and not connected to another app?"
        )
        return 0
    print(f"{'NAME':<24} {'ADDRESS':<20} {'RSSI':>5}  {'KIND':<11} TYPE")
    rows = [(m, "treadmill", ", ".join(m.machine_types) or "FTMS (type not advertised)") for m in machines]
    rows += [(s, "heart rate", "Heart Rate Service") for s in straps]
    for d, kind, detail in rows:
        rssi = "" if d.rssi is None else str(d.rssi)
        print(f"{(d.name or '(no name)'):<24} {d.address:<20} {rssi:>5}  {kind:<11} {detail}")
    return 0
