"""Benchmark treadwalk on the path real Linux users run: bleak's default BlueZ backend, bluetoothd,
D-Bus and the kernel's HCI layer. Runs INSIDE the BlueZ tier's VM (``TREADWALK_BLUEZ_CASES=bench
scripts/test-bluez.sh``), never on a real machine: it starts its own ``treadwalk sim --hci SPEC``
on the VM's Bumble link (tests/bluez/link.py), as tests/bluez/guest.sh does.

Measured in one run, side by side, real time (treadwalk's ``LoopClock``, as ``treadwalk run``):

1. scan-to-subscribed connect: ``async with FtmsTreadmill(...)`` entry (scan, connect through
   bleak-retry-connector, Device Information + Feature + range reads, four subscriptions), next to
   bare bleak doing the same steps (``find_device_by_name``, ``BleakClient.connect``, the same six
   reads, ``start_notify`` on 2ACD, 2ADA, 2AD3, 2AD9); repetitions alternate which goes first.
2. Set Target Speed to confirmed: ``await tm.set_speed(v)`` (returns on the control point's
   success indication; its data confirmation is used only when a machine does not answer, so with
   the virtual treadmill it is the same moment) next to the bare exchange on the same stack
   (``write_gatt_char(2AD9, 02 + uint16, response=True)`` then the indication ``80 02 01``), after
   Request Control and Start, in blocks taking turns with (1)'s connections.
3. link drop to control re-established: a sim with ``--fault drop@T+D`` (several), a connected
   ``FtmsTreadmill`` with the belt running; from the client's disconnection (its ``ConnectionChanged``
   RECONNECTING) to link up (CONNECTED), to control back (Request Control answered) and to the speed
   target re-sent (the walk restored), each also minus the sim's away time D.

Prints a markdown table and writes ``bench-bluez.json`` and ``bench-bluez.md`` to ``--out``.

    .venv/bin/python scripts/bench_bluez.py --hci tcp-client:127.0.0.1:9001 --out /tmp/results
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bleak
from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic

from treadwalk import ftms
from treadwalk.core.clock import LoopClock
from treadwalk.core.model import ConnectionChanged, ConnectionState
from treadwalk.treadmill.ftms import FtmsTreadmill

NAME = "treadwalk-sim"
SCAN_TIMEOUT_S = 20.0
READS = (
    ftms.MANUFACTURER_NAME_UUID,
    ftms.MODEL_NUMBER_UUID,
    ftms.FIRMWARE_REVISION_UUID,
    ftms.FEATURE_UUID,
    ftms.SPEED_RANGE_UUID,
    ftms.INCLINE_RANGE_UUID,
)
SUBSCRIBED = (
    ftms.TREADMILL_DATA_UUID,
    ftms.MACHINE_STATUS_UUID,
    ftms.TRAINING_STATUS_UUID,
    ftms.CONTROL_POINT_UUID,
)


def speed_at(i: int) -> float:
    """Targets that change every command (3.0-4.9 km/h on the sim's 0.1 grid)."""
    return 3.0 + (i % 20) * 0.1


# --------------------------------------------------------------------------- statistics


def p99(values: list[float]) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, round(0.99 * (len(v) - 1)))]


def stats_ms(samples_s: list[float]) -> dict[str, float | int]:
    if not samples_s:
        return {"n": 0}
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "median_ms": statistics.median(ms),
        "p99_ms": p99(ms),
        "min_ms": min(ms),
        "max_ms": max(ms),
    }


# --------------------------------------------------------------------------- the sim


class Sim:
    """``treadwalk sim --hci SPEC [--fault ...]`` as a child process, logging to a file."""

    def __init__(self, hci: str, log: Path, faults: list[str]) -> None:
        self._cmd = [str(Path(sys.executable).with_name("treadwalk")), "sim", "--hci", hci]
        for f in faults:
            self._cmd += ["--fault", f]
        self._log = log
        self._proc: subprocess.Popen[bytes] | None = None
        self.serving_at = 0.0  # loop time when "serving" was seen (the sim's fault clock starts ~there)

    def _launch(self) -> subprocess.Popen[bytes]:
        with open(self._log, "wb") as out:
            return subprocess.Popen(self._cmd, stdout=out, stderr=subprocess.STDOUT)

    async def __aenter__(self) -> Sim:
        loop = asyncio.get_running_loop()
        self._proc = self._launch()
        deadline = loop.time() + 90
        while b"serving" not in self._log.read_bytes():
            if self._proc.poll() is not None or loop.time() > deadline:
                raise RuntimeError(f"the sim did not start serving: {self._log.read_text()[-300:]}")
            await asyncio.sleep(0.05)
        self.serving_at = loop.time()
        return self

    async def __aexit__(self, *exc: object) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(2)  # SIGINT: the sim closes cleanly
        for _ in range(100):
            if proc.poll() is not None:
                return
            await asyncio.sleep(0.1)
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------- (1) + (2)


@dataclass
class Figures:
    tw_connect: list[float] = field(default_factory=list)
    bare_connect: list[float] = field(default_factory=list)
    bare_parts: dict[str, list[float]] = field(
        default_factory=lambda: {"scan": [], "connect": [], "reads": [], "subscribe": []}
    )
    tw_set_speed: list[float] = field(default_factory=list)
    bare_set_speed: list[float] = field(default_factory=list)
    tw_cpu: list[float] = field(default_factory=list)  # this process's CPU time per command
    bare_cpu: list[float] = field(default_factory=list)
    # one connection, the two taking turns command by command
    il_tw: list[float] = field(default_factory=list)
    il_bare: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class SignalledLog(list[tuple[float, str, str, str]]):
    """``FtmsTreadmill.raw_log`` that wakes a waiter on every control-point indication: the bare
    exchange on FtmsTreadmill's own connection learns of its answer through it."""

    def __init__(self) -> None:
        super().__init__()
        self.indicated = asyncio.Event()

    def append(self, item: tuple[float, str, str, str]) -> None:
        super().append(item)
        if item[1] == "2ad9" and item[2] == "indicate":
            self.indicated.set()


async def treadwalk_block(clock: LoopClock, commands: int, base: int, fig: Figures) -> None:
    tm = FtmsTreadmill(NAME, clock=clock, scan_timeout_s=SCAN_TIMEOUT_S)
    log = SignalledLog()
    tm.raw_log = log
    t0 = time.perf_counter()
    async with tm:
        fig.tw_connect.append(time.perf_counter() - t0)
        await tm.start()  # Request Control, then Start
        for i in range(commands):
            v = speed_at(base + i)
            t0, c0 = time.perf_counter(), time.process_time()
            await tm.set_speed(v)
            fig.tw_set_speed.append(time.perf_counter() - t0)
            fig.tw_cpu.append(time.process_time() - c0)
        # The same connection, command by command in turns: the bare exchange writes on the
        # BleakClient FtmsTreadmill holds (a private attribute: a benchmark's reach, not an API)
        # and sees the answer through the raw log, so only the client's policy differs.
        client: BleakClient | None = tm._client
        assert client is not None
        for i in range(commands):
            for who in ("treadwalk", "bare") if i % 2 == 0 else ("bare", "treadwalk"):
                v = speed_at(base + 2 * i + (who == "bare"))
                if who == "treadwalk":
                    t0 = time.perf_counter()
                    await tm.set_speed(v)
                    fig.il_tw.append(time.perf_counter() - t0)
                    continue
                seen = len(log)
                log.indicated.clear()
                t0 = time.perf_counter()
                await client.write_gatt_char(ftms.CONTROL_POINT_UUID, ftms.set_target_speed(v), response=True)
                while not any(h.startswith("8002") for _t, c, d, h in log[seen:] if c == "2ad9"):
                    await asyncio.wait_for(log.indicated.wait(), 10.0)
                    log.indicated.clear()
                fig.il_bare.append(time.perf_counter() - t0)
    # leaving stops the belt (confirmed) and disconnects


async def bare_block(commands: int, base: int, fig: Figures) -> None:
    answers: asyncio.Queue[bytes] = asyncio.Queue()

    def on_cp(_c: BleakGATTCharacteristic, data: bytearray) -> None:
        answers.put_nowait(bytes(data))

    def ignore(_c: BleakGATTCharacteristic, _d: bytearray) -> None:
        pass

    async def exchange(client: BleakClient, payload: bytes) -> None:
        await client.write_gatt_char(ftms.CONTROL_POINT_UUID, payload, response=True)
        while True:
            answer = await asyncio.wait_for(answers.get(), 10.0)
            if answer[:2] == bytes((0x80, payload[0])):
                break
        if answer[2] != ftms.ResultCode.SUCCESS:
            raise RuntimeError(f"the sim answered {answer.hex()} to {payload.hex()}")

    t0 = time.perf_counter()
    device = await BleakScanner.find_device_by_name(NAME, timeout=SCAN_TIMEOUT_S)
    if device is None:
        raise RuntimeError(f"bare bleak did not find {NAME} within {SCAN_TIMEOUT_S:g} s")
    t1 = time.perf_counter()
    client = BleakClient(device)
    await client.connect()
    try:
        t2 = time.perf_counter()
        for uuid in READS:
            if client.services.get_characteristic(uuid) is not None:
                await client.read_gatt_char(uuid)
        t3 = time.perf_counter()
        callbacks: dict[str, Callable[[BleakGATTCharacteristic, bytearray], None]] = {
            ftms.CONTROL_POINT_UUID: on_cp
        }
        for uuid in SUBSCRIBED:
            await client.start_notify(uuid, callbacks.get(uuid, ignore))
        t4 = time.perf_counter()
        fig.bare_connect.append(t4 - t0)
        for part, dt in zip(
            ("scan", "connect", "reads", "subscribe"), (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True
        ):
            fig.bare_parts[part].append(dt)
        await exchange(client, ftms.request_control())
        await exchange(client, ftms.start_or_resume())
        for i in range(commands):
            payload = ftms.set_target_speed(speed_at(base + i))
            t0, c0 = time.perf_counter(), time.process_time()
            await exchange(client, payload)
            fig.bare_set_speed.append(time.perf_counter() - t0)
            fig.bare_cpu.append(time.process_time() - c0)
        await exchange(client, ftms.stop())
    finally:
        await client.disconnect()


async def bench_connect_and_commands(hci: str, out: Path, reps: int, commands: int) -> Figures:
    fig = Figures()
    clock = LoopClock()
    async with Sim(hci, out / "bench-sim.log", []):
        for rep in range(reps):
            order = ("treadwalk", "bare") if rep % 2 == 0 else ("bare", "treadwalk")
            for who in order:
                try:
                    if who == "treadwalk":
                        await treadwalk_block(clock, commands, rep * commands, fig)
                    else:
                        await bare_block(commands, rep * commands, fig)
                except Exception as exc:  # a failed repetition is reported, the rest goes on
                    fig.errors.append(f"rep {rep} {who}: {type(exc).__name__}: {exc}")
                print(f"  rep {rep + 1}/{reps} {who} done", file=sys.stderr, flush=True)
                await asyncio.sleep(1.0)  # the sim advertises again; BlueZ sees it
    return fig


# --------------------------------------------------------------------------- (3)


@dataclass
class Drop:
    link_s: float | None = None
    control_s: float | None = None
    restored_s: float | None = None
    note: str = ""


async def bench_drops(
    hci: str, out: Path, drops: int, first_s: float, every_s: float, away_s: float
) -> list[Drop]:
    clock = LoopClock()
    loop = asyncio.get_running_loop()
    times = [first_s + i * every_s for i in range(drops)]
    faults = [f"drop@{t:g}s+{away_s:g}s" for t in times]
    results: list[Drop] = []
    events: list[ConnectionChanged] = []
    arrived = asyncio.Event()
    async with Sim(hci, out / "bench-drop-sim.log", faults) as sim:
        tm = FtmsTreadmill(NAME, clock=clock, scan_timeout_s=SCAN_TIMEOUT_S)
        tm.raw_log = []

        async def watch() -> None:
            async for event in tm.events():
                if isinstance(event, ConnectionChanged):
                    events.append(event)
                    arrived.set()

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0)  # subscribed before the first event
        try:
            async with tm:
                await tm.start()
                await tm.set_speed(4.0)
                for t in times:
                    drop_at = sim.serving_at + t
                    if loop.time() > drop_at:
                        results.append(Drop(note="the client was not ready before this drop"))
                        continue
                    results.append(await one_drop(tm, events, arrived, deadline=drop_at + 45))
                    print(f"  drop {len(results)}/{drops}: {results[-1]}", file=sys.stderr, flush=True)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    return results


async def one_drop(
    tm: FtmsTreadmill, events: list[ConnectionChanged], arrived: asyncio.Event, deadline: float
) -> Drop:
    loop = asyncio.get_running_loop()
    seen = len(events)

    async def next_state(state: ConnectionState) -> ConnectionChanged | None:
        nonlocal seen
        while True:
            for i in range(seen, len(events)):
                if events[i].state is state:
                    seen = i + 1
                    return events[i]
            seen = len(events)
            arrived.clear()
            try:
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    await arrived.wait()
            except TimeoutError:
                return None

    lost = await next_state(ConnectionState.RECONNECTING)
    if lost is None:
        return Drop(note="no disconnection seen")
    up = await next_state(ConnectionState.CONNECTED)
    if up is None:
        return Drop(note=f"not reconnected; states {[e.state.value for e in events[-3:]]}")
    assert tm.raw_log is not None
    log = tm.raw_log

    def answer_after(t0: float, op: str) -> float | None:
        return next(
            (
                t
                for t, char, d, h in log
                if t >= t0 and char == "2ad9" and d == "indicate" and h.startswith(f"80{op}")
            ),
            None,
        )

    while loop.time() < deadline:
        control = answer_after(lost.at, "00")
        restored = answer_after(control, "02") if control is not None else None
        if control is not None and restored is not None and tm.has_control:
            return Drop(link_s=up.at - lost.at, control_s=control - lost.at, restored_s=restored - lost.at)
        await asyncio.sleep(0.05)
    control = answer_after(lost.at, "00")
    return Drop(
        link_s=up.at - lost.at,
        control_s=None if control is None else control - lost.at,
        note="the speed target was not re-sent in time",
    )


# --------------------------------------------------------------------------- report


def calibrate(rounds: int = 5, count: int = 2000) -> float:
    """µs per Treadmill Data decode (a 17-byte frame), best of ``rounds``: run it on the host too
    to see how much slower Python runs under emulation."""
    frame = bytes.fromhex("8424" + "a401" + "d20400" + "2c01" + "0000" + "00" + "5802" + "e80300")
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(count):
            ftms.decode_treadmill_data(frame)
        best = min(best, time.perf_counter() - t0)
    return best / count * 1e6


def machine() -> dict[str, Any]:
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    try:
        bluez = subprocess.run(
            ["/usr/libexec/bluetooth/bluetoothd", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        bluez = "?"
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "kernel": platform.release(),
        "bluez": bluez,
        "bleak": getattr(bleak, "__version__", None) or _dist_version("bleak"),
        "python": platform.python_version(),
        "loadavg": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d"),
        "decode_us": calibrate(),
    }


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def fmt(s: dict[str, float | int]) -> tuple[str, str, str]:
    if not s.get("n"):
        return "0", "–", "–"
    return str(s["n"]), f"{s['median_ms']:.1f}", f"{s['p99_ms']:.1f}"


def report(fig: Figures, drops: list[Drop], away_s: float, m: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rows: list[tuple[str, dict[str, float | int]]] = [
        (
            "connect, `async with FtmsTreadmill(...)`: scan + connect + 6 reads + 4 subscriptions",
            stats_ms(fig.tw_connect),
        ),
        ("connect, bare bleak: the same steps", stats_ms(fig.bare_connect)),
    ]
    for part, vals in fig.bare_parts.items():
        rows.append((f"  bare: {part}", stats_ms(vals)))
    rows += [
        ("`set_speed` to the success indication (FtmsTreadmill)", stats_ms(fig.tw_set_speed)),
        (
            "bare `write_gatt_char(2AD9, 02 …, response=True)` + indication `80 02 01`",
            stats_ms(fig.bare_set_speed),
        ),
        ("  CPU of this process per command, FtmsTreadmill", stats_ms(fig.tw_cpu)),
        ("  CPU of this process per command, bare", stats_ms(fig.bare_cpu)),
        ("one connection, in turns: `set_speed` (FtmsTreadmill)", stats_ms(fig.il_tw)),
        ("one connection, in turns: bare write + indication", stats_ms(fig.il_bare)),
    ]
    ok = [d for d in drops if d.restored_s is not None]
    for label, key in (
        ("link up (CONNECTED)", "link_s"),
        ("control back", "control_s"),
        ("speed target re-sent", "restored_s"),
    ):
        vals = [getattr(d, key) for d in ok]
        rows.append((f"link drop to {label}", stats_ms(vals)))
        rows.append(
            (f"  the same minus the sim's away time {away_s:g} s", stats_ms([v - away_s for v in vals]))
        )
    lines = ["| what | n | median ms | p99 ms |", "|---|---|---|---|"]
    for label, s in rows:
        n, med, p = fmt(s)
        lines.append(f"| {label} | {n} | {med} | {p} |")
    extra: dict[str, Any] = {}
    if fig.tw_set_speed and fig.bare_set_speed:
        tw, bare = statistics.median(fig.tw_set_speed), statistics.median(fig.bare_set_speed)
        extra["set_speed_median_diff_ms"] = (tw - bare) * 1000
        extra["set_speed_ratio"] = tw / bare
        lines.append("")
        lines.append(
            f"set_speed median difference (FtmsTreadmill − bare): {(tw - bare) * 1000:+.2f} ms; ratio {tw / bare:.3f}"
        )
    if fig.il_tw and fig.il_bare:
        pairs = [a - b for a, b in zip(fig.il_tw, fig.il_bare, strict=False)]
        extra["interleaved_median_diff_ms"] = (
            statistics.median(fig.il_tw) - statistics.median(fig.il_bare)
        ) * 1000
        extra["interleaved_paired_diff_median_ms"] = statistics.median(pairs) * 1000
        lines.append(
            "one connection, in turns: median difference "
            f"{extra['interleaved_median_diff_ms']:+.2f} ms; median of the paired differences "
            f"{extra['interleaved_paired_diff_median_ms']:+.2f} ms (n={len(pairs)})"
        )
    if fig.tw_cpu and fig.bare_cpu:
        extra["cpu_median_diff_ms"] = (statistics.median(fig.tw_cpu) - statistics.median(fig.bare_cpu)) * 1000
        lines.append(f"CPU per command, median difference: {extra['cpu_median_diff_ms']:+.2f} ms")
    if fig.tw_connect and fig.bare_connect:
        tw, bare = statistics.median(fig.tw_connect), statistics.median(fig.bare_connect)
        extra["connect_median_diff_ms"] = (tw - bare) * 1000
        extra["connect_ratio"] = tw / bare
        lines.append(
            f"connect median difference (FtmsTreadmill − bare): {(tw - bare) * 1000:+.0f} ms; ratio {tw / bare:.2f}"
        )
    notes = [d.note for d in drops if d.note]
    problems = fig.errors + notes
    if problems:
        lines.append("")
        lines += [f"- {p}" for p in problems]
    head = (
        f"machine: {m['cpu']}, nproc {m['nproc']}, kernel {m['kernel']}, BlueZ {m['bluez']}, "
        f"bleak {m['bleak']}, Python {m['python']}, load {tuple(round(x, 2) for x in m['loadavg'])}, {m['date']}; "
        f"one Treadmill Data decode {m['decode_us']:.1f} µs (`--calibrate` on the host for the emulation factor)"
    )
    md = head + "\n\n" + "\n".join(lines) + "\n"
    data = {
        "machine": m,
        "rows": {label.strip(): s for label, s in rows},
        "samples_s": {
            "treadwalk_connect": fig.tw_connect,
            "bare_connect": fig.bare_connect,
            "bare_parts": fig.bare_parts,
            "treadwalk_set_speed": fig.tw_set_speed,
            "bare_set_speed": fig.bare_set_speed,
            "interleaved_treadwalk": fig.il_tw,
            "interleaved_bare": fig.il_bare,
            "treadwalk_cpu": fig.tw_cpu,
            "bare_cpu": fig.bare_cpu,
            "drops": [vars(d) for d in drops],
        },
        "away_s": away_s,
        "errors": problems,
        **extra,
    }
    return md, data


async def amain(args: argparse.Namespace) -> int:
    out = Path(args.out)
    print("bench_bluez: connect + set_speed", file=sys.stderr, flush=True)
    fig = await bench_connect_and_commands(args.hci, out, args.reps, args.commands)
    drops: list[Drop] = []
    if args.drops > 0:
        print("bench_bluez: link drops", file=sys.stderr, flush=True)
        try:
            drops = await bench_drops(args.hci, out, args.drops, args.first_drop, args.drop_every, args.away)
        except Exception as exc:
            fig.errors.append(f"drops: {type(exc).__name__}: {exc}")
    md, data = report(fig, drops, args.away, machine())
    (out / "bench-bluez.md").write_text(md)
    (out / "bench-bluez.json").write_text(json.dumps(data, indent=2) + "\n")
    print(md)
    complete = fig.tw_set_speed and fig.bare_set_speed and fig.tw_connect and fig.bare_connect
    return 0 if complete and not fig.errors else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hci", default="tcp-client:127.0.0.1:9001", help="the sim's Bumble transport")
    parser.add_argument("--out", default="/tmp/results", help="folder for bench-bluez.json/.md")
    parser.add_argument("--reps", type=int, default=5, help="connect repetitions (each side)")
    parser.add_argument("--commands", type=int, default=8, help="set_speed commands per connection")
    parser.add_argument("--drops", type=int, default=3)
    parser.add_argument("--first-drop", type=float, default=30.0, help="sim seconds to the first drop")
    parser.add_argument("--drop-every", type=float, default=35.0)
    parser.add_argument("--away", type=float, default=3.0, help="the sim's away time D per drop")
    parser.add_argument("--calibrate", action="store_true", help="only the decode calibration, then exit")
    args = parser.parse_args()
    if args.calibrate:
        print(f"one Treadmill Data decode: {calibrate():.2f} µs")
        return
    Path(args.out).mkdir(parents=True, exist_ok=True)
    sys.exit(asyncio.run(amain(args)))


if __name__ == "__main__":
    main()
