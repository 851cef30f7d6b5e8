"""`treadwalk info --device ADDR|NAME [--capture PATH]`: what a treadmill is and can do.

With ``--capture``, also records the machine's raw traffic while the walker uses it, into a
fixture file named from the machine's own identity (address masked), so users can contribute
their treadmill as a test case (python-kasa's habit).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "info",
        help="device information, features and ranges of a treadmill",
        description="Show a treadmill's device information, features and ranges (the belt is not moved).",
    )
    p.add_argument("--device", required=True, metavar="ADDR|NAME", help="address or advertised name")
    p.add_argument(
        "--hci", metavar="SPEC", help="use a Bumble HCI transport instead of the OS Bluetooth stack"
    )
    p.add_argument(
        "--capture",
        metavar="PATH",
        help="record raw traffic into a fixture file (a .json path, or a folder: named from the machine)",
    )
    p.add_argument(
        "--seconds", type=float, default=60.0, help="how long to record with --capture (default 60 s)"
    )
    p.add_argument("--timeout", type=float, default=10.0, metavar="S", help="how long to look for the device")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from treadwalk.core.errors import UsageError

    if args.seconds <= 0 or args.timeout <= 0:
        raise UsageError("--seconds and --timeout take a number of seconds above 0.")
    return asyncio.run(_info(args))


def capture_name(identity: dict[str, str | None]) -> str:
    """``KingSmith`` / ``KS-MC21`` / ``1.2.3`` -> ``kingsmith_ks-mc21_1.2.3.json``."""
    parts = [identity.get(k) or "" for k in ("manufacturer", "model", "firmware")]
    if not any(parts):
        parts = [identity.get("name") or "unknown"]
    slug = "_".join(re.sub(r"[^a-z0-9.+-]+", "-", p.strip().lower()).strip("-") or "unknown" for p in parts)
    return f"{slug}.json"


def mask_address(address: str) -> str:
    return re.sub(r"[0-9A-Fa-f]", "X", address)


async def _info(args: argparse.Namespace) -> int:
    if not args.hci:
        return await _describe(args, None)
    from treadwalk.cli.hci import open_radio, until_lost

    async with open_radio(args.hci) as radio:
        return await until_lost(radio, _describe(args, radio), "run 'treadwalk info' again")


async def _describe(args: argparse.Namespace, radio: Any) -> int:
    import asyncio
    import contextlib

    from treadwalk.core.clock import LoopClock
    from treadwalk.treadmill.ftms import FtmsTreadmill

    clock = LoopClock()
    async with contextlib.AsyncExitStack() as stack:
        tm = FtmsTreadmill(args.device, clock=clock, radio=radio, scan_timeout_s=args.timeout)
        if args.capture:
            tm.raw_log = []
        await stack.enter_async_context(tm)
        caps = tm.capabilities
        info: dict[str, Any] = {
            "name": caps.name,
            "address": caps.address,
            "manufacturer": caps.manufacturer,
            "model": caps.model,
            "firmware": caps.firmware,
            "features": sorted(caps.features),
            "targets": sorted(caps.targets),
            "speed_kmh": {"min": caps.speed.minimum, "max": caps.speed.maximum, "step": caps.speed.step},
            "incline_pct": None
            if caps.incline is None
            else {"min": caps.incline.minimum, "max": caps.incline.maximum, "step": caps.incline.step},
            "quirks": tm.quirks.active,
        }
        if args.json:
            print(json.dumps(info))
        else:
            for key, value in info.items():
                if isinstance(value, dict):
                    value = f"{value['min']:g} to {value['max']:g}, step {value['step']:g}"
                elif isinstance(value, list):
                    value = ", ".join(value) or "-"
                print(f"{key.replace('_', ' '):<13} {value if value is not None else '-'}")
        if args.capture:
            print(f"recording for {args.seconds:g} s: walk, change speed and incline on the console...")
            await asyncio.sleep(args.seconds)
            assert tm.raw_log is not None
            fixture = capture_fixture(tm)
            out = _write_capture(Path(args.capture), fixture)
            print(f"saved {len(fixture['frames'])} frames to {out}")
    return 0


def capture_fixture(tm: Any) -> dict[str, Any]:
    """The fixture of a connected ``FtmsTreadmill`` whose ``raw_log`` was recording."""
    caps = tm.capabilities
    log = tm.raw_log or []
    t0 = log[0][0] if log else 0.0
    return {
        "format": "treadwalk-capture/1",
        "identity": {
            "name": caps.name,
            "manufacturer": caps.manufacturer,
            "model": caps.model,
            "firmware": caps.firmware,
        },
        "address": mask_address(caps.address or ""),
        "features": sorted(caps.features),
        "targets": sorted(caps.targets),
        "speed_kmh": {"min": caps.speed.minimum, "max": caps.speed.maximum, "step": caps.speed.step},
        "incline_pct": None
        if caps.incline is None
        else {"min": caps.incline.minimum, "max": caps.incline.maximum, "step": caps.incline.step},
        "quirks": tm.quirks.active,
        "frames": [{"t": round(t - t0, 3), "char": c, "dir": d, "hex": h} for t, c, d, h in log],
    }


def _write_capture(out: Path, fixture: dict[str, Any]) -> Path:
    """Write atomically; a folder gets a file named from the machine's identity."""
    if out.suffix != ".json":
        out.mkdir(parents=True, exist_ok=True)
        out = out / capture_name(fixture["identity"])
    tmp = out.with_suffix(".json.part")
    tmp.write_text(json.dumps(fixture, indent=1) + "\n")
    tmp.replace(out)
    return out
