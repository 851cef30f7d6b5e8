#!/usr/bin/env python3
"""MQTT telemetry benchmark: publish-to-receive latency and throughput through a real Mosquitto.

Measures the whole path a sample takes: ``MqttTelemetry.on_snapshot`` (JSON, bounded queue) ->
its publisher task -> aiomqtt/paho -> Mosquitto -> an independent aiomqtt subscriber.
Latency is receive ``time.time()`` minus the snapshot's ``wall`` (set just before
``on_snapshot``), both on this machine.

1. latency at 1 Hz (median, p99);
2. the highest sample rate sustained without loss (rates stepped up; a step loses nothing);
3. 10 treadmills at 4 Hz through one broker: messages lost, latency.

Starts its own broker (``mosquitto`` on a free loopback port) unless ``--url`` is given.
Prints a Markdown section for docs/benchmarks.md.

    .venv/bin/python scripts/bench_mqtt.py [--seconds 30] [--url mqtt://host:port]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import aiomqtt

from treadwalk.core.model import (
    BeltState,
    ConnectionState,
    Phase,
    Plan,
    PlanSegment,
    SessionSnapshot,
    TreadmillState,
)
from treadwalk.telemetry import MqttTelemetry, parse_mqtt_url
from treadwalk.telemetry.settings import MqttSettings

PLAN = Plan("bench", (PlanSegment("Walk", "work", 5.0, 2.0, duration_s=3600),))


def sample(seq: int) -> SessionSnapshot:
    now = time.time()
    return SessionSnapshot(
        at=float(seq),
        wall=now,
        plan=PLAN,
        phase=Phase.RUNNING,
        connection=ConnectionState.CONNECTED,
        segment_index=0,
        session_elapsed_s=float(seq),  # the sequence number travels as elapsed_s
        target_speed_kmh=5.0,
        target_incline_pct=2.0,
        machine=TreadmillState(
            at=float(seq), speed_kmh=5.0, incline_pct=2.0, heart_rate_bpm=120, belt=BeltState.RUNNING
        ),
        distance_m=seq * 1.4,
    )


class Receiver:
    def __init__(self) -> None:
        self.latency_s: list[float] = []
        self.seen: dict[str, set[int]] = defaultdict(set)
        self.arrived = asyncio.Event()

    async def run(self, settings: MqttSettings, ready: asyncio.Event) -> None:
        import json

        async with aiomqtt.Client(settings.host, settings.port, max_queued_incoming_messages=0) as client:
            await client.subscribe(f"{settings.prefix}/+/state")
            ready.set()
            async for message in client.messages:
                now = time.time()
                if message.retain:
                    continue  # the last state of an earlier case, kept by the broker
                assert isinstance(message.payload, bytes)
                doc = json.loads(message.payload)
                self.latency_s.append(now - doc["wall"])
                self.seen[doc["treadmill"]].add(int(doc["elapsed_s"]))
                self.arrived.set()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def drive(telemetries: list[MqttTelemetry], rate_hz: float, seconds: float) -> int:
    """Feed every telemetry ``rate_hz`` samples a second on absolute deadlines; returns samples each."""
    n = round(rate_hz * seconds)
    tick = max(1.0 / rate_hz, 0.005)  # above 200 Hz, send a small batch per 5 ms tick
    per_tick = max(1, round(rate_hz * tick))
    loop = asyncio.get_running_loop()
    start = loop.time()
    seq = 0
    k = 0
    while seq < n:
        for _ in range(min(per_tick, n - seq)):
            for t in telemetries:
                t.on_snapshot(sample(seq))
            seq += 1
        k += 1
        await asyncio.sleep(max(0.0, start + k * tick - loop.time()))
    return n


async def settle(receiver: Receiver, expected: int, timeout_s: float = 5.0) -> None:
    """Wait (bounded) until ``expected`` samples arrived, then a little more for strays."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            while sum(len(s) for s in receiver.seen.values()) < expected:
                receiver.arrived.clear()
                await receiver.arrived.wait()
    await asyncio.sleep(0.2)


async def run_case(
    settings: MqttSettings, ids: list[str], rate_hz: float, seconds: float
) -> tuple[Receiver, int]:
    receiver = Receiver()
    ready = asyncio.Event()
    rx = asyncio.create_task(receiver.run(settings, ready), name="bench-receiver")
    await ready.wait()
    telemetries = [MqttTelemetry(settings, i, state_interval_s=0.0, queue_size=256) for i in ids]
    try:
        for t in telemetries:
            await t.__aenter__()
        await asyncio.gather(*(t.connected.wait() for t in telemetries))
        n = await drive(telemetries, rate_hz, seconds)
        await settle(receiver, n * len(ids))
    finally:
        for t in telemetries:
            await t.aclose()
        rx.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await rx
    return receiver, n


def fmt_ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.2f} ms, p99 {pct(values, 0.99) * 1000:.2f} ms"


async def main(args: argparse.Namespace) -> None:
    settings = replace(parse_mqtt_url(args.url), discovery_prefix=None)
    out: list[str] = []

    # 1. latency at 1 Hz
    receiver, n = await run_case(settings, ["lat"], 1.0, args.seconds)
    got = len(receiver.seen["lat"])
    out.append(f"| latency at 1 Hz, {n} samples | {fmt_ms(receiver.latency_s)}; lost {n - got} |")
    print(out[-1], file=sys.stderr)

    # 2. the highest rate without loss
    best: tuple[float, Receiver] | None = None
    for rate in (10, 50, 100, 200, 500, 1000, 2000, 5000):
        receiver, n = await run_case(settings, ["rate"], float(rate), args.step_seconds)
        got = len(receiver.seen["rate"])
        print(f"  {rate} Hz: {got}/{n} received, {fmt_ms(receiver.latency_s)}", file=sys.stderr)
        if got < n:
            break
        best = (rate, receiver)
    if best is not None:
        out.append(
            f"| highest rate without loss (one treadmill, {args.step_seconds:g} s steps) | "
            f"{best[0]:g} Hz; at that rate {fmt_ms(best[1].latency_s)} |"
        )
    print(out[-1], file=sys.stderr)

    # 3. ten treadmills at 4 Hz
    ids = [f"lane{i}" for i in range(10)]
    receiver, n = await run_case(settings, ids, 4.0, args.seconds)
    got = sum(len(receiver.seen[i]) for i in ids)
    out.append(
        f"| 10 treadmills at 4 Hz, {args.seconds:g} s | {got}/{n * 10} received (lost {n * 10 - got}); "
        f"{fmt_ms(receiver.latency_s)} |"
    )
    print(out[-1], file=sys.stderr)

    print(machine())
    print("| case | result |\n|---|---|")
    print("\n".join(out))


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    try:
        version = subprocess.run([binary, "-h"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        version = "mosquitto ?"
    return (
        f"Machine: {cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, aiomqtt {aiomqtt.__version__ if hasattr(aiomqtt, '__version__') else '2'}, "
        f"{version.strip()} on loopback.\n"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_broker(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    conf = directory / "mosquitto.conf"
    conf.write_text(
        f"persistence false\nallow_anonymous true\nlog_type error\nlistener {port} 127.0.0.1\n"
        f"user {os.environ.get('USER') or 'root'}\n"
    )
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    process = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"mqtt://127.0.0.1:{port}/bench"
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise SystemExit("mosquitto did not start") from None
            time.sleep(0.05)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="use this broker instead of starting one")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of cases 1 and 3 (default 30)")
    parser.add_argument(
        "--step-seconds", type=float, default=3.0, help="length of each rate step (default 3)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = None
        if not args.url:
            broker, args.url = start_broker(Path(tmp))
        try:
            asyncio.run(main(args))
        finally:
            if broker is not None:
                broker.kill()
                broker.wait()
