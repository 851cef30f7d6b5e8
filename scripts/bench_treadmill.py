"""Benchmark FtmsTreadmill through the in-process radio against the virtual treadmill.

- command latency: ``await tm.set_speed(v)`` from the call to the confirmed control-point
  response, next to the bare wire (bleak ``write_gatt_char`` + waiting for the indication in the
  same process), so the cost of the client's policy (clamping, serialising, control, echo
  bookkeeping) shows as the difference.
- recovery: from a link drop (the sim drops and advertises again at once) to control
  re-established, with the configured backoff, next to that backoff.

Real time (``time.perf_counter``), one process. Usage:

    .venv/bin/python scripts/bench_treadmill.py [--commands 500] [--drops 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time

from bleak import BleakClient, BleakScanner

from treadwalk import ftms
from treadwalk.core.clock import LoopClock
from treadwalk.core.model import ConnectionState
from treadwalk.radio import VirtualRadio
from treadwalk.sim import VirtualTreadmill
from treadwalk.treadmill.ftms import FtmsTreadmill

NAME = "treadwalk-sim"


def summary(label: str, samples_s: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples_s)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return f"| {label} | {len(ms)} | {statistics.median(ms):.2f} | {p99:.2f} | {ms[-1]:.2f} |"


async def bench_commands(count: int) -> tuple[list[float], list[float]]:
    clock = LoopClock()
    client_s: list[float] = []
    wire_s: list[float] = []
    async with VirtualRadio() as radio:
        device = await radio.new_device(NAME)
        async with VirtualTreadmill(device, clock, name=NAME, notify_hz=4) as _sim:
            async with FtmsTreadmill(NAME, clock=clock, radio=radio) as tm:
                await tm.start()
                for i in range(count):
                    v = 3.0 + (i % 20) * 0.1
                    t0 = time.perf_counter()
                    await tm.set_speed(v)
                    client_s.append(time.perf_counter() - t0)
                await tm.stop()
            found = await BleakScanner.find_device_by_name(NAME, timeout=5.0, backend=radio.scanner_backend)
            assert found is not None
            async with BleakClient(found, backend=radio.client_backend) as client:
                answered: asyncio.Queue[bytes] = asyncio.Queue()
                await client.start_notify(
                    ftms.CONTROL_POINT_UUID, lambda _c, d: answered.put_nowait(bytes(d))
                )
                await client.write_gatt_char(ftms.CONTROL_POINT_UUID, ftms.request_control(), response=True)
                await answered.get()
                await client.write_gatt_char(ftms.CONTROL_POINT_UUID, ftms.start_or_resume(), response=True)
                await answered.get()
                for i in range(count):
                    payload = ftms.set_target_speed(3.0 + (i % 20) * 0.1)
                    t0 = time.perf_counter()
                    await client.write_gatt_char(ftms.CONTROL_POINT_UUID, payload, response=True)
                    await answered.get()
                    wire_s.append(time.perf_counter() - t0)
                await client.write_gatt_char(ftms.CONTROL_POINT_UUID, ftms.stop(), response=True)
    return client_s, wire_s


async def bench_recovery(drops: int, backoff_s: float) -> list[float]:
    clock = LoopClock()
    samples: list[float] = []
    async with VirtualRadio() as radio:
        device = await radio.new_device(NAME)
        async with VirtualTreadmill(device, clock, name=NAME) as sim:
            tm = FtmsTreadmill(NAME, clock=clock, radio=radio, backoff_s=(backoff_s,), reconnect_grace_s=30)
            async with tm:
                await tm.start()
                for _ in range(drops):
                    t0 = time.perf_counter()
                    sim.drop_link(come_back_after_s=0.0)
                    while tm.connection is not ConnectionState.RECONNECTING:
                        await asyncio.sleep(0.001)
                    while not (tm.connection is ConnectionState.CONNECTED and tm.has_control):
                        await asyncio.sleep(0.001)
                    samples.append(time.perf_counter() - t0)
                await tm.stop()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=500)
    parser.add_argument("--drops", type=int, default=20)
    parser.add_argument("--backoff", type=float, default=0.5)
    args = parser.parse_args()
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    print(
        f"machine: {cpu}, nproc {os.cpu_count()}, Python {platform.python_version()}, load {os.getloadavg()}"
    )
    client_s, wire_s = asyncio.run(bench_commands(args.commands))
    recovery = asyncio.run(bench_recovery(args.drops, args.backoff))
    print("| what | n | median ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    print(summary("`FtmsTreadmill.set_speed` (call to confirmed response)", client_s))
    print(summary("bare bleak write + indication (same radio, same sim)", wire_s))
    print(summary(f"link drop to control re-established (backoff {args.backoff:g} s)", recovery))
    print(f"ratio client/wire (medians): {statistics.median(client_s) / statistics.median(wire_s):.2f}")


if __name__ == "__main__":
    main()
