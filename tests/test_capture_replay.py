"""Every capture in tests/fixtures/captures (virtual/ and real/, see tests/captures.py) is a test
case of the client (python-kasa's habit):
the capture is served back by ``treadwalk.sim.replay.ReplayTreadmill`` over the in-process radio,
and the real ``FtmsTreadmill`` connects to it through bleak, in virtual time.

The expectation is built from the capture alone, decoded with ``treadwalk.ftms``: the machine's
identity and grids, the state after every recorded 0x2ACD record (multi-packet records merged by
the codec's assembler), the machine events its 0x2ADA frames stand for. The state is checked
at every moment the recorded machine sent something new: the replay's clock takes a snapshot of
the client's state each time it wakes to send the next frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from captures import ALL as CAPTURES
from captures import VIRTUAL, capture_id
from test_sim_cli import controllers  # noqa: F401  (the fixture is used by name)

from treadwalk import ftms
from treadwalk.core.clock import LoopClock
from treadwalk.core.errors import CommandRejected, DecodeError, TreadmillError, UsageError
from treadwalk.core.model import (
    ConnectionChanged,
    ControlLost,
    MachineEvent,
    MachineStarted,
    MachineStopped,
    TargetChanged,
    TreadmillState,
)
from treadwalk.radio import VirtualRadio
from treadwalk.sim.replay import ReplayTreadmill, load_capture
from treadwalk.treadmill.ftms import FtmsTreadmill

ROOT = Path(__file__).resolve().parent.parent
PLAYED = ("2acd", "2ada", "2ad3")
# TreadmillState field <- decoded 0x2ACD field (what the capture says the belt did).
FIELDS = {
    "speed_kmh": "speed_kmh",
    "distance_m": "distance_m",
    "steps": "steps",
    "incline_pct": "incline_pct",
    "elapsed_s": "elapsed_s",
}


# -- the expectation, from the capture alone ------------------------------------------------------


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def timeline(capture: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in capture["frames"] if f["char"] in PLAYED and f["dir"] in ("notify", "indicate")]


def expected_states(capture: dict[str, Any]) -> list[dict[str, Any]]:
    """The client's state just before each new moment of the timeline (and once after the last):
    every record completed so far merged, a field a record leaves out keeping its last value."""
    assembler = ftms.TreadmillDataAssembler()
    state: dict[str, Any] = dict.fromkeys(FIELDS)
    out: list[dict[str, Any]] = []
    last_t: float | None = None
    for frame in timeline(capture):
        if frame["t"] != last_t:
            out.append(dict(state))
            last_t = frame["t"]
        if frame["char"] != "2acd":
            continue
        try:
            record = assembler.feed(bytes.fromhex(frame["hex"]))
        except DecodeError:  # a malformed frame: the client skips it too
            continue
        if record is None:
            continue
        decoded = record.to_dict()
        for ours, theirs in FIELDS.items():
            if decoded.get(theirs) is not None:
                state[ours] = decoded[theirs]
    out.append(dict(state))
    return out


def expected_events(capture: dict[str, Any]) -> list[MachineEvent]:
    """The machine events the 0x2ADA frames stand for, in order. A target change on a belt known
    to stand is not news (the client reports it only on a belt that is not stopped)."""
    events: list[MachineEvent] = []
    standing: bool | None = None  # None: not known yet
    assembler = ftms.TreadmillDataAssembler()
    S = ftms.StatusOp
    for frame in timeline(capture):
        data = bytes.fromhex(frame["hex"])
        if frame["char"] == "2acd":
            with contextlib.suppress(DecodeError):
                record = assembler.feed(data)
                if record is not None and standing is None and record.speed_kmh is not None:
                    standing = record.speed_kmh == 0
            continue
        if frame["char"] != "2ada":
            continue
        status = ftms.decode_machine_status(data)
        if status.op == S.STOPPED_OR_PAUSED_BY_USER:
            paused = status.params.get("control") == 2
            events.append(MachineStopped(at=0, paused=paused, by="user"))
            standing = not paused
        elif status.op == S.STOPPED_BY_SAFETY_KEY:
            events.append(MachineStopped(at=0, paused=False, by="safety_key"))
            standing = True
        elif status.op == S.STARTED_OR_RESUMED_BY_USER:
            events.append(MachineStarted(at=0))
            standing = False
        elif status.op == S.RESET:
            standing = True
        elif status.op == S.TARGET_SPEED_CHANGED and not standing:
            events.append(TargetChanged(at=0, speed_kmh=status.params["target_speed_kmh"]))
        elif status.op == S.TARGET_INCLINE_CHANGED and not standing:
            events.append(TargetChanged(at=0, incline_pct=status.params["target_incline_pct"]))
        elif status.op == S.CONTROL_PERMISSION_LOST:
            events.append(ControlLost(at=0))
    return events


def recorded_responses(capture: dict[str, Any], op: int) -> list[str]:
    out = []
    for f in capture["frames"]:
        if (
            f["char"] == "2ad9"
            and f["dir"] != "write"
            and ftms.decode_control_response(bytes.fromhex(f["hex"])).request_op == op
        ):
            out.append(f["hex"])
    return out


# -- the rig ----------------------------------------------------------------------------------------


class SnapshotClock(LoopClock):
    """The replay's clock: each time the replay wakes to send the next frames, it first looks at
    the client's state (everything sent before has arrived: virtual time only moves when the loop
    is idle)."""

    def __init__(self) -> None:
        super().__init__()
        self.look: Callable[[], TreadmillState] | None = None
        self.snapshots: list[TreadmillState] = []

    async def sleep_until(self, deadline: float) -> None:
        await super().sleep_until(deadline)
        if self.look is not None:
            self.snapshots.append(self.look())


@dataclass
class Replayed:
    capture: dict[str, Any]
    replay: ReplayTreadmill
    tm: FtmsTreadmill
    clock: SnapshotClock
    events: list[MachineEvent] = field(default_factory=list)


@contextlib.asynccontextmanager
async def replayed(path: Path) -> AsyncIterator[Replayed]:
    capture = read_json(path)
    name = capture["identity"]["name"] or "treadwalk-replay"
    clock = SnapshotClock()
    async with VirtualRadio() as radio:
        device = await radio.new_device(name)
        async with ReplayTreadmill(device, clock, load_capture(path), name=name) as replay:
            tm = FtmsTreadmill(name, clock=LoopClock(), radio=radio)
            tm.raw_log = []
            clock.look = lambda: tm.state
            r = Replayed(capture, replay, tm, clock)

            async def record() -> None:
                async for event in tm.events():
                    r.events.append(event)

            task = asyncio.get_running_loop().create_task(record(), name="test.replay-events")
            try:
                async with tm:
                    yield r
            finally:
                await asyncio.wait_for(task, 5.0)  # the client ends its event streams on exit


def fields(state: TreadmillState) -> dict[str, Any]:
    return {k: getattr(state, k) for k in FIELDS}


def same_event(a: MachineEvent, b: MachineEvent) -> bool:
    from dataclasses import replace

    return type(a) is type(b) and replace(a, at=0) == replace(b, at=0)  # type: ignore[type-var]


# -- tests ------------------------------------------------------------------------------------------


def test_there_are_captures_to_replay() -> None:
    assert len(VIRTUAL) >= 4


@pytest.mark.parametrize("path", CAPTURES, ids=capture_id)
@pytest.mark.virtual_time
async def test_the_client_follows_a_replayed_machine(path: Path) -> None:
    async with replayed(path) as r:
        caps = r.tm.capabilities
        cap = r.capture
        ident = cap["identity"]
        assert (caps.name, caps.manufacturer, caps.model, caps.firmware) == (
            ident["name"],
            ident["manufacturer"],
            ident["model"],
            ident["firmware"],
        )
        assert sorted(caps.features) == cap["features"]
        assert sorted(caps.targets) == cap["targets"]
        speed = cap["speed_kmh"]
        assert (caps.speed.minimum, caps.speed.maximum, caps.speed.step) == pytest.approx(
            (speed["min"], speed["max"], speed["step"])
        )
        incline = cap["incline_pct"]
        if incline is None:
            assert caps.incline is None
        else:
            assert caps.incline is not None
            assert (caps.incline.minimum, caps.incline.maximum, caps.incline.step) == pytest.approx(
                (incline["min"], incline["max"], incline["step"])
            )

        await r.replay.finished.wait()
        await asyncio.sleep(0.01)  # the last frames arrive
        r.clock.snapshots.append(r.tm.state)

        # The state followed the recorded machine at every moment it sent something new.
        expected = expected_states(cap)
        seen = [fields(s) for s in r.clock.snapshots]
        assert len(seen) == len(expected)
        for i, (got, want) in enumerate(zip(seen, expected, strict=True)):
            assert got == pytest.approx(want), f"moment {i} of {len(expected)}"
        assert any(s["speed_kmh"] for s in seen), "the belt moved in the capture"

        # Every frame of the timeline went out, as recorded.
        sent = [(c, h) for _, c, h in r.replay.sent]
        assert sent == [(f["char"], f["hex"]) for f in timeline(cap)]

        # The machine's own reports became events, in order; anything else is the client's
        # inference from data (a belt that stands for a while was stopped on the console).
        machine = [e for e in r.events if not isinstance(e, ConnectionChanged)]
        want_events = expected_events(cap)
        got = iter(machine)
        for want_event in want_events:
            assert any(same_event(e, want_event) for e in got), f"{want_event} missing from {machine}"
        extra = [e for e in machine if not any(same_event(e, w) for w in want_events)]
        assert all(isinstance(e, MachineStopped) and e.by == "unknown" for e in extra), extra
        if any(isinstance(e, TargetChanged) for e in want_events):
            assert all(not e.by_us for e in machine if isinstance(e, TargetChanged))

        # Nothing was sent on the client's own (control lost alone makes it ask for control again).
        regain = any(isinstance(e, ControlLost) for e in want_events)
        assert all(h == "00" for _, h in r.replay.received) if regain else r.replay.received == []
        assert not [x for x in r.tm.raw_log or [] if x[2] == "write" and not regain]


@pytest.mark.parametrize("path", CAPTURES, ids=capture_id)
@pytest.mark.virtual_time
async def test_a_command_gets_the_recorded_answers(path: Path) -> None:
    async with replayed(path) as r:
        await r.replay.playing.wait()
        caps = r.tm.capabilities
        control = recorded_responses(r.capture, ftms.OpCode.REQUEST_CONTROL)
        speed = recorded_responses(r.capture, ftms.OpCode.SET_TARGET_SPEED)
        target = caps.speed.minimum + 2 * caps.speed.step
        answered = (
            control
            and speed
            and all(
                ftms.decode_control_response(bytes.fromhex(h)).result == 1 for h in control[:1] + speed[:1]
            )
        )
        if answered:
            await r.tm.set_speed(target)
        else:  # a machine that does not answer: the client may confirm from data, or give up
            with contextlib.suppress(TreadmillError):
                await r.tm.set_speed(target)
        await asyncio.sleep(0.01)

        writes = [h for _, h in r.replay.received]
        assert writes == [h for _, c, d, h in r.tm.raw_log or [] if c == "2ad9" and d == "write"]
        assert [h[:2] for h in writes] == ["00", "02"]
        answers = [h for _, c, h in r.replay.sent if c == "2ad9"]
        assert answers == control[:1] + speed[:1]
        assert [h for _, c, d, h in r.tm.raw_log or [] if c == "2ad9" and d != "write"] == answers


def test_a_file_that_is_not_a_capture_is_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    for text in ("{", '{"format": "other"}', json.dumps({"format": "treadwalk-capture/1", "identity": {}})):
        bad.write_text(text)
        with pytest.raises(UsageError) as info:
            load_capture(bad)
        assert str(info.value).count(".") >= 1 and "\n" not in str(info.value)
    with pytest.raises(UsageError, match="Cannot read"):
        load_capture(tmp_path / "missing.json")


@pytest.mark.virtual_time
async def test_answers_follow_the_recording_in_order_and_an_unanswered_op_gets_none(tmp_path: Path) -> None:
    """A machine recorded answering op 02 with success, then 'invalid parameter', and never
    answering op 03: the replay answers the same way, and the client sees it so."""
    capture = read_json(next(p for p in VIRTUAL if "strict" in p.name))
    frames = [f for f in capture["frames"] if not (f["char"] == "2ad9" and f["dir"] != "write")]
    frames[3:3] = [
        {"t": 0.0, "char": "2ad9", "dir": "indicate", "hex": "800001"},
        {"t": 0.0, "char": "2ad9", "dir": "indicate", "hex": "800201"},
        {"t": 0.0, "char": "2ad9", "dir": "indicate", "hex": "800203"},
    ]
    capture["frames"] = frames
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(capture))
    async with replayed(path) as r:
        await r.replay.playing.wait()
        await r.tm.set_speed(4.0)
        with pytest.raises(CommandRejected) as rejected:
            await r.tm.set_speed(5.0)
        assert rejected.value.result == ftms.ResultCode.INVALID_PARAMETER
        with contextlib.suppress(TreadmillError):  # no answer: confirmed from data, or given up
            await r.tm.set_incline(2.0)
        await asyncio.sleep(0.01)
        assert [h for _, h in r.replay.received] == ["00", "029001", "02f401", "031400"]
        assert [h for _, c, h in r.replay.sent if c == "2ad9"] == ["800001", "800201", "800203"]


# -- `treadwalk sim --replay FILE` -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "extra", "words"),
    [
        ("{", [], "is not a treadwalk capture"),
        ('{"format": "treadwalk-capture/0"}', [], "is not a treadwalk capture"),
        (None, [], "Cannot read the capture"),
        (
            '{"format": "treadwalk-capture/1", "identity": {}, "frames": []}',
            ["--quirks", "urevo"],
            "drop --quirks",
        ),
    ],
)
def test_sim_replay_of_a_bad_file_is_one_sentence_and_exit_2(
    content: str | None, extra: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from treadwalk.cli import main

    path = tmp_path / "capture.json"
    if content is not None:
        path.write_text(content)
    assert main(["sim", "--hci", "tcp-client:127.0.0.1:1", "--replay", str(path), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err
    assert err.count("\n") == 0


@pytest.mark.slow
async def test_sim_replay_serves_a_capture_to_another_process(controllers: tuple[int, int]) -> None:  # noqa: F811
    """`treadwalk sim --replay` in another process over a TCP controller pair (real time, x10)."""
    import os
    import sys

    from treadwalk.radio import HciRadio

    p1, p2 = controllers
    path = next(p for p in VIRTUAL if "citysports" in p.name)
    capture = read_json(path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "treadwalk",
        "sim",
        "--hci",
        f"tcp-client:127.0.0.1:{p1}",
        "--replay",
        str(path),
        "--name",
        "tcp-replay",
        "--speedup",
        "10",
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    try:
        async with asyncio.timeout(15.0):
            while b"serving" not in await proc.stderr.readline():
                pass
        async with HciRadio(f"tcp-client:127.0.0.1:{p2}") as radio:
            tm = FtmsTreadmill("tcp-replay", clock=LoopClock(), radio=radio, scan_timeout_s=10.0)
            async with tm:
                assert tm.capabilities.model == capture["identity"]["model"]
                async with asyncio.timeout(10.0):
                    while (tm.state.speed_kmh or 0) < 3.0:
                        await asyncio.sleep(0.1)
        proc.send_signal(2)
        async with asyncio.timeout(10.0):
            rest = (await proc.stderr.read()).decode()
            assert await proc.wait() == 0, rest
        assert "Traceback" not in rest
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
