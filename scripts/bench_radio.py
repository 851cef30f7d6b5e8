"""Benchmark the in-process radio: connect time and a write-to-indication round trip.

- connect: from the start of a scan (``BleakScanner.find_device_by_name``) to a client that is
  connected, has exchanged the MTU, discovered every service and subscribed (CCCD written) to
  a notify and an indicate characteristic; the peripheral advertises every 20 ms.
- round trip: ``write_gatt_char(control point, response=True)`` until the peripheral's
  indication reaches the ``start_notify`` callback (the FTMS control-point exchange).

Real time (wall clock, ``time.perf_counter``), one process, this machine. Usage:

    .venv/bin/python scripts/bench_radio.py [--connects 50] [--round-trips 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from radio_peripheral import CONTROL, NOTIFY, build_peripheral

from treadwalk.radio import VirtualRadio

NAME = "Bench"


def summary(label: str, samples_s: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples_s)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return f"{label}: n={len(ms)} median={statistics.median(ms):.2f} ms p99={p99:.2f} ms max={ms[-1]:.2f} ms"


async def bench_connect(count: int) -> list[float]:
    samples: list[float] = []
    for _ in range(count):
        async with VirtualRadio() as radio:
            await build_peripheral(await radio.new_device(NAME), NAME)
            start = time.perf_counter()
            device = await BleakScanner.find_device_by_name(NAME, timeout=5.0, backend=radio.scanner_backend)
            assert device is not None
            async with BleakClient(device, backend=radio.client_backend) as client:
                await client.start_notify(NOTIFY, lambda _c, _d: None)
                await client.start_notify(CONTROL, lambda _c, _d: None)
                samples.append(time.perf_counter() - start)
    return samples


async def bench_round_trip(count: int) -> list[float]:
    samples: list[float] = []
    async with VirtualRadio() as radio:
        await build_peripheral(await radio.new_device(NAME), NAME)
        device = await BleakScanner.find_device_by_name(NAME, timeout=5.0, backend=radio.scanner_backend)
        assert device is not None
        async with BleakClient(device, backend=radio.client_backend) as client:
            answered: asyncio.Queue[bytes] = asyncio.Queue()

            def on_indication(_c: BleakGATTCharacteristic, data: bytearray) -> None:
                answered.put_nowait(bytes(data))

            await client.start_notify(CONTROL, on_indication)
            for i in range(count + 20):  # the first 20 warm up
                op = bytes([i % 0x7F])
                start = time.perf_counter()
                await client.write_gatt_char(CONTROL, op, response=True)
                response = await answered.get()
                elapsed = time.perf_counter() - start
                assert response == b"\x80" + op + b"\x01", response
                if i >= 20:
                    samples.append(elapsed)
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connects", type=int, default=50)
    parser.add_argument("--round-trips", type=int, default=500)
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()}".rstrip())
    print(f"python {platform.python_version()} on {platform.system()} {platform.release()}")
    print(summary("scan-to-subscribed connect", await bench_connect(args.connects)))
    print(summary("write-to-indication round trip", await bench_round_trip(args.round_trips)))


if __name__ == "__main__":
    asyncio.run(main())
