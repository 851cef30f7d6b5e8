"""The composition root supervises what the walker depends on (DESIGN.md: nothing unsupervised).

`treadwalk run --sim` as the CLI builds it (`_Composition`: the real engine, FtmsTreadmill, the
Bumble radio, the virtual treadmill, the recorder), in virtual time. The one thing injected is a
dashboard whose drawing breaks mid-walk: the walker has lost their keys, so the belt must stop at
once (not after the profile and its cool-down), the reason is one sentence, the exit is 1, and
the record says "error".
"""

from __future__ import annotations

import argparse
import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from treadwalk.cli.run import _Composition
from treadwalk.core.model import Limits, Phase, Plan, PlanSegment
from treadwalk.dashboard import Dashboard
from treadwalk.engine import Session, Settings
from treadwalk.recording import SessionStore

pytestmark = pytest.mark.virtual_time


def _args(**over: Any) -> argparse.Namespace:
    base: dict[str, Any] = {
        "sim": True,
        "hci": None,
        "no_dashboard": False,
        "yes": True,
        "summary_json": None,
        "mqtt_id": None,
        "mqtt_control": False,
    }
    base.update(over)
    return argparse.Namespace(**base)


def _composition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **args: Any) -> _Composition:
    monkeypatch.setenv("TREADWALK_DATA_DIR", str(tmp_path / "data"))
    plan = Plan(
        name="long walk",
        segments=tuple(
            PlanSegment(name=f"s{i}", kind="work", speed_kmh=4.0 + i, incline_pct=0.0, duration_s=300.0)
            for i in range(3)
        ),
    )
    return _Composition(
        args=_args(**args),
        device="treadwalk-sim",
        plan=plan,
        limits=Limits(),
        settings=Settings(auto_start=True, cooldown_s=120.0, countdown_s=3.0),
        speedup=1.0,
        reconnect_grace_s=30.0,
        quirks={},
        mqtt=None,
    )


class BreaksMidWalk(Dashboard):
    """A real dashboard drawing to a terminal-like buffer, whose drawing raises once the belt
    has been walked on for a while (a bug in a renderer, a terminal gone away)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.broke_at: float | None = None

    def frame(self, width: int, height: int) -> object:
        snap = self.snapshot
        if snap is not None and snap.phase is Phase.RUNNING and snap.session_elapsed_s >= 20.0:
            self.broke_at = asyncio.get_running_loop().time()
            raise RuntimeError("renderer exploded")
        return super().frame(width, height)


async def test_a_dashboard_that_fails_mid_walk_stops_the_belt_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    comp = _composition(tmp_path, monkeypatch)
    made: list[BreaksMidWalk] = []

    def display(self: _Composition, session: Session, saved_to: str) -> Any:
        console = Console(file=io.StringIO(), force_terminal=True, width=100, height=30, color_system=None)
        dash = BreaksMidWalk(console, submit=session.submit, keys=False, screen=False, saved_to=saved_to)
        session.add_observer(dash)
        made.append(dash)
        return dash

    monkeypatch.setattr(_Composition, "_display", display)
    code = await asyncio.wait_for(comp.main(), 600)

    assert code == 1
    assert comp.display_error is not None
    assert "dashboard failed" in comp.display_error
    assert "renderer exploded" in comp.display_error
    broke_at = made[0].broke_at
    assert broke_at is not None
    # the belt got a stop within a few seconds of the failure: not 15 minutes later, after the
    # rest of the profile and its cool-down
    stops = [t for t, hex_ in comp.sim.received if hex_.startswith("08")]
    assert stops, "the belt was never told to stop"
    assert stops[0] - broke_at < 3.0
    assert comp.sim.stopped and comp.sim.target_speed_kmh == 0.0
    with SessionStore(tmp_path / "data" / "sessions.db") as store:
        (row,) = store.list_sessions()
    assert row.stop_reason == "error"


async def test_a_display_that_ends_early_also_stops_the_belt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    comp = _composition(tmp_path, monkeypatch)

    class EndsEarly:
        def on_snapshot(self, snapshot: Any) -> None:
            pass

        def on_event(self, event: Any) -> None:
            pass

        async def run(self) -> None:
            await asyncio.sleep(30.0)  # the belt is running by then: and then the keys are gone

    def display(self: _Composition, session: Session, saved_to: str) -> Any:
        return EndsEarly()

    monkeypatch.setattr(_Composition, "_display", display)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    code = await asyncio.wait_for(comp.main(), 600)
    assert code == 1
    assert comp.display_error is not None
    assert "ended before the session" in comp.display_error
    assert loop.time() - t0 < 60.0
    assert comp.sim.stopped and comp.sim.target_speed_kmh == 0.0


@pytest.mark.parametrize("fault", ["no_answer:08", "reject:08"])
async def test_a_stop_the_treadmill_refuses_is_said_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fault: str
) -> None:
    """Safety rule 7 end to end: the virtual treadmill never answers a Stop (it never answers a Stop, or answers "operation failed" and keeps going), so
    the belt may still be turning: never a silent "finished"; the summary and the store say so."""
    import json

    summary_path = tmp_path / "summary.json"
    comp = _composition(tmp_path, monkeypatch, no_dashboard=True, summary_json=str(summary_path))
    comp.sim_faults = (fault,)
    comp.plan = Plan(
        name="short", segments=(PlanSegment(name="s", kind="work", speed_kmh=4.0, duration_s=20.0),)
    )
    comp.settings = Settings(auto_start=True, cooldown_s=0.0, countdown_s=3.0)
    code = await asyncio.wait_for(comp.main(), 600)
    assert code == 1
    err = capsys.readouterr().err
    assert "did not confirm the stop: press its stop button" in err
    assert comp.sim.running  # it really is still turning: the message is not a false alarm
    summary = json.loads(summary_path.read_text())
    assert summary["belt_stopped"] is False
    with SessionStore(tmp_path / "data" / "sessions.db") as store:
        (row,) = store.list_sessions()
    assert row.summary["belt_stopped"] is False


async def test_control_refused_is_one_sentence_and_no_false_alarm_about_the_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The treadmill refuses control (another app holds it): the belt never moved, so the stop
    that cannot be sent either is confirmed by the machine's own data, not "press its stop
    button" over a standing belt; one sentence, exit 1."""
    comp = _composition(tmp_path, monkeypatch, no_dashboard=True)
    comp.sim_faults = ("refuse_control",)
    code = await asyncio.wait_for(comp.main(), 600)
    assert code == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("treadwalk:")]
    assert len(err) == 1
    assert "The belt did not start: the treadmill refused control ('control not permitted'); close" in err[0]
    assert "did not confirm the stop" not in err[0]
    assert not comp.sim.running
