"""`treadwalk zones`: the walker's heart-rate zones in bpm, from config [heart_rate]."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "zones",
        help="your heart-rate zones in bpm (config [heart_rate])",
        description="Print your five heart-rate zones in bpm, from the [heart_rate] table of your config.",
    )
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from treadwalk.core.config import load_config
    from treadwalk.core.zones import zones

    config = load_config()
    hr = config.heart_rate
    table = zones(hr)  # ConfigError (exit 2) naming the key to set
    ceiling = hr.ceiling_bpm
    if args.json:
        print(
            json.dumps(
                {
                    "model": hr.zones.value,
                    "zones": [
                        {"zone": z.number, "low_bpm": round(z.low_bpm), "high_bpm": round(z.high_bpm)}
                        for z in table
                    ],
                    "ceiling_bpm": ceiling,
                }
            )
        )
        return 0
    names = {"max": "% of max heart rate", "hrr": "% of heart-rate reserve", "lthr": "% of threshold"}
    print(f"Heart-rate zones ({names[hr.zones.value]}):")
    for z in table:
        print(f"  zone {z.number}  {round(z.low_bpm):>3}-{round(z.high_bpm):<3} bpm")
    if ceiling is not None:
        print(f"  ceiling {ceiling} bpm: above it speed and incline are eased off at once")
    return 0
