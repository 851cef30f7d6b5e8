"""`treadwalk scan`: FTMS treadmills in range."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "scan", help="list FTMS treadmills in range", description="List FTMS treadmills in range."
    )
    p.add_argument("--timeout", type=float, default=5.0, metavar="S", help="how long to listen (default 5 s)")
    p.add_argument(
        "--hci", metavar="SPEC", help="use a Bumble HCI transport (e.g. usb:0, tcp-client:host:port)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per machine")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from treadwalk.core.errors import UsageError

    if not args.timeout > 0:
        raise UsageError("--timeout must be a number of seconds above 0, e.g. --timeout 5.")
    return asyncio.run(_scan(args))


async def _scan(args: argparse.Namespace) -> int:
    from treadwalk.treadmill.discovery import scan

    if args.hci:
        from treadwalk.cli.hci import open_radio, until_lost

        async with open_radio(args.hci) as radio:
            found = scan(args.timeout, backend=radio.scanner_backend)
            machines = await until_lost(radio, found, "scan again")
    else:
        machines = await scan(args.timeout)
    if args.json:
        for m in machines:
            print(
                json.dumps(
                    {
                        "name": m.name,
                        "address": m.address,
                        "rssi": m.rssi,
                        "machine_types": list(m.machine_types),
                        "available": m.available,
                    }
                )
            )
        return 0
    if not machines:
        print(
            f"No FTMS treadmill heard in {args.timeout:g} s. Is it on, awake and not connected to another app?"
        )
        return 0
    print(f"{'NAME':<24} {'ADDRESS':<20} {'RSSI':>5}  TYPE")
    for m in machines:
        kind = ", ".join(m.machine_types) or "FTMS (type not advertised)"
        rssi = "" if m.rssi is None else str(m.rssi)
        print(f"{(m.name or '(no name)'):<24} {m.address:<20} {rssi:>5}  {kind}")
    return 0
