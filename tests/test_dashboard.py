"""The dashboard: text snapshots of every phase at 80x24 and 140x40, keys, the live loop, plain
lines, the summary, and the README picture."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import os
import termios
from pathlib import Path

import pytest
from rich.console import Console

from treadwalk.core.model import (
    Command,
    CommandKind,
    ConnectionState,
    Cue,
    PausedBy,
    Phase,
    Plan,
    PlanSegment,
    SessionEvent,
    SessionSnapshot,
    StopReason,
    TreadmillState,
)
from treadwalk.dashboard import (
    Controls,
    Dashboard,
    KeyReader,
    SessionSummary,
    View,
    decode_keys,
    render,
    render_summary,
)
from treadwalk.dashboard.bigtext import big_rows, read_big
from treadwalk.dashboard.chart import plan_timeline
from treadwalk.dashboard.view import help_line

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "docs" / "dashboard.svg"

PLAN = Plan(
    "Demo walk",
    (
        PlanSegment(
            "Warm-up", "warmup", 4.0, 1.0, duration_s=300, cues=(Cue("Relax the shoulders", at_s=30),)
        ),
        PlanSegment(
            "Brisk",
            "work",
            6.0,
            3.0,
            duration_s=240,
            cues=(Cue("Short quick steps, land under the hip", at_s=10),),
            repeat="1/2",
        ),
        PlanSegment("Easy", "recovery", 4.5, 1.0, duration_s=120, repeat="1/2"),
        PlanSegment("Hill", "work", 5.5, 8.0, distance_m=400, end_incline_pct=10.0),
        PlanSegment("Cool-down", "cooldown", 4.0, 0.0, duration_s=300, end_speed_kmh=3.0),
    ),
    description="A short tour of what treadwalk does: speed, incline and stride cues.",
)

RUNNING = SessionSnapshot(
    at=400.0,
    wall=1_767_225_600.0,
    plan=PLAN,
    phase=Phase.RUNNING,
    connection=ConnectionState.CONNECTED,
    segment_index=1,
    segment_elapsed_s=100.0,
    segment_remaining_s=140.0,
    segment_progress=100 / 240,
    session_elapsed_s=400.0,
    session_remaining_s=1010.0,
    target_speed_kmh=6.0,
    target_incline_pct=3.0,
    machine=TreadmillState(at=400.0, speed_kmh=5.6, incline_pct=3.0, heart_rate_bpm=128, steps=812),
    distance_m=620.0,
    ascent_m=14.0,
    energy_kcal=42.0,
    cue="Short quick steps, land under the hip",
)


def snap(**changes: object) -> SessionSnapshot:
    return dataclasses.replace(RUNNING, **changes)  # type: ignore[arg-type]


PHASES: dict[str, SessionSnapshot] = {
    "connecting": snap(
        phase=Phase.CONNECTING,
        connection=ConnectionState.CONNECTING,
        segment_index=None,
        machine=TreadmillState(),
    ),
    "ready": snap(phase=Phase.READY, segment_index=None, session_elapsed_s=0.0, machine=TreadmillState()),
    "countdown": snap(phase=Phase.COUNTDOWN, segment_index=0, countdown_s=2.4, machine=TreadmillState()),
    "running": RUNNING,
    "paused": snap(
        phase=Phase.PAUSED, paused_by=PausedBy.MACHINE, machine=TreadmillState(speed_kmh=0.0, incline_pct=3.0)
    ),
    "cooldown": snap(  # the engine's cool-down (after the plan or a stop): outside the plan
        phase=Phase.COOLDOWN,
        segment_index=None,
        segment_remaining_s=60.0,
        segment_progress=0.8,
        target_speed_kmh=3.2,
        target_incline_pct=0.0,
        cue=None,
    ),
    "finished": snap(
        phase=Phase.FINISHED, stop_reason=StopReason.FINISHED, session_id=12, segment_index=None
    ),
    "aborted": snap(phase=Phase.ABORTED, stop_reason=StopReason.USER, session_id=13, segment_index=None),
}


def text_of(snapshot: SessionSnapshot | None, width: int, height: int, view: View | None = None) -> list[str]:
    console = Console(record=True, width=width, height=height, color_system=None, file=io.StringIO())
    console.print(render(snapshot, width, height, view))
    return console.export_text().rstrip("\n").split("\n")


def big_number(lines: list[str], label: str, col_width: int, scale: int = 1) -> str:
    """Read the big number under ``label`` (a column heading) back into text."""
    row = next(i for i, line in enumerate(lines) if label in line)
    start = lines[row].index(label)
    rows = [line[start : start + col_width] for line in lines[row + 1 : row + 1 + 3 * scale]]
    return read_big([r.rstrip() for r in rows], scale)


# ---------------------------------------------------------------------------------------------
# Rendering


@pytest.mark.parametrize("size", [(80, 24), (140, 40)])
@pytest.mark.parametrize("phase", list(PHASES))
def test_every_phase_fits_and_shows_its_state(phase: str, size: tuple[int, int]) -> None:
    width, height = size
    lines = text_of(PHASES[phase], width, height)
    assert len(lines) <= height
    assert all(len(line) <= width for line in lines), max(lines, key=len)
    screen = "\n".join(lines)
    assert "Demo walk" in lines[0]
    word = {
        "connecting": "CONNECTING",
        "ready": "READY",
        "countdown": "STARTING",
        "running": "RUNNING",
        "paused": "PAUSED",
        "cooldown": "COOL-DOWN",
        "finished": "FINISHED",
        "aborted": "STOPPED",
    }[phase]
    assert word in lines[0]
    if phase not in ("finished", "aborted"):
        assert "x  STOP NOW" in lines[-1]  # the emergency key is always on screen
    if phase in ("running", "paused", "cooldown"):
        assert ("space resume" if phase == "paused" else "space pause") in lines[-1]
        assert ("]/[ incline" in lines[-1]) == (phase != "cooldown")
        assert "you are here" in screen
        assert "● connected" in lines[0]


def test_running_80x24_shows_the_numbers_that_matter() -> None:
    lines = text_of(RUNNING, 80, 24)
    screen = "\n".join(lines)
    assert big_number(lines, "SPEED km/h", 26) == "5.6"
    assert big_number(lines, "INCLINE %", 26) == "3.0"
    assert big_number(lines, "SEGMENT LEFT", 28) == "2:20"
    assert "▲ target 6.0" in screen  # the belt is still speeding up towards its target
    assert "target 3.0" in screen
    assert "▲ target 3.0" not in screen
    assert "▼ target 3.0" not in screen
    assert "of 4:00" in screen
    for text in ("pace 10:43 min/km", "elapsed 6:40", "to go 16:50", "distance 0.62 km", "ascent 14 m"):
        assert text in screen
    assert "energy 42 kcal" in screen
    assert "♥ 128 bpm" in screen
    assert "steps 812" in screen
    assert "2/5 Brisk · work · round 1/2 · 6.0 km/h · 3 %" in screen
    assert " » Short quick steps, land under the hip " in screen
    assert "Next ▸ Easy · 4.5 km/h · 1 % · 2:00  in 2:20" in screen
    assert "1:40 / 4:00" in screen
    assert len(lines) == 24  # the space is used, and nothing scrolls


def test_running_140x40_uses_bigger_digits_and_shows_recent_events() -> None:
    events = tuple(
        SessionEvent(at=float(i), wall=0.0, kind="segment", message=f"segment {i}") for i in range(1, 4)
    )
    lines = text_of(RUNNING, 140, 40, View(events=events))
    assert big_number(lines, "SPEED km/h", 35, scale=2) == "5.6"
    assert big_number(lines, "SEGMENT LEFT", 35, scale=2) == "2:20"
    assert big_number(lines, "HEART bpm", 35, scale=2) == "128"  # a reading, on a wide terminal
    screen = "\n".join(lines)
    assert "── recent" in screen
    assert "segment 3" in screen
    assert len(lines) <= 40


def test_the_marker_sits_where_the_walker_is_and_done_columns_are_shaded() -> None:
    lines = text_of(RUNNING, 80, 24)
    marker = next(line for line in lines if "▲ you are here" in line)
    done = marker.index("▲") - 8  # columns of the plan already walked (gutter of 8)
    chart_width = 80 - 8
    position = 300 + 100  # warm-up + 100 s of "Brisk"
    total = PLAN.duration_s
    assert done == int(position / total * chart_width)
    assert set(marker[8 : 8 + done]) == {"━"}
    rows = plan_timeline(RUNNING, 80, 1, 1, axis=False)
    styles = [span.style for span in rows[0].spans]
    assert styles[0] == "grey42"  # walked: shaded
    assert "bold green" in styles  # the current segment stands out
    assert styles[-1] == "green"  # still to come


def test_countdown_is_big() -> None:
    lines = text_of(PHASES["countdown"], 80, 24)
    assert any("The belt starts in 3" in line for line in lines)
    at = next(i for i, line in enumerate(lines) if "The belt starts in 3" in line)
    digits = [line.rstrip() for line in lines[at + 1 : at + 7]]
    indent = min(len(d) - len(d.lstrip()) for d in digits if d.strip())
    assert indent > 30  # centred
    assert read_big([d[indent:] for d in digits], 2) == "3"
    assert "▀" not in "".join(digits), "scaled digits are solid blocks, not striped half blocks"


def test_ready_says_how_to_start() -> None:
    screen = "\n".join(text_of(PHASES["ready"], 80, 24))
    assert "press  Enter  to start the belt" in screen
    assert "First ▸ Warm-up · 4.0 km/h · 1 %" in screen
    assert "▲ start" in screen
    assert "Enter start the belt" in screen


def test_connection_and_machine_states_are_always_visible() -> None:
    for state, words in [
        (ConnectionState.RECONNECTING, ("◌ reconnecting…", "Link lost")),
        (ConnectionState.CONTROL_LOST, ("✕ CONTROL LOST", "Control lost")),
        (ConnectionState.DISCONNECTED, ("✕ disconnected",)),
    ]:
        screen = "\n".join(text_of(snap(connection=state), 80, 24))
        for w in words:
            assert w in screen
    paused = "\n".join(text_of(PHASES["paused"], 80, 24))
    assert "PAUSED  by the treadmill" in paused
    assert "The treadmill paused itself" in paused


def test_a_failing_recording_is_on_the_screen_until_it_works_again() -> None:
    """The recorder's RECORDING event (the store is full) shows on the live screen at once, over
    a cap notice, and goes when the store works again."""
    from treadwalk.core.model import EventKind

    failing = "Recording is failing (database or disk is full): the walk goes on and is kept in memory"
    dash = Dashboard(console=Console(file=io.StringIO(), width=120), keys=False)
    dash.on_snapshot(snap(clamped="above your --max-speed 6.0 km/h"))
    dash.on_event(
        SessionEvent(1.0, 1.0, EventKind.RECORDING, failing, {"saved": False, "fallback": "/tmp/x"})
    )
    screen = "\n".join(text_of(dash.snapshot, 120, 30, dash.view()))
    assert f"! {failing}" in screen
    dash.on_event(SessionEvent(9.0, 9.0, EventKind.RECORDING, "Recording works again.", {"saved": True}))
    screen = "\n".join(text_of(dash.snapshot, 120, 30, dash.view()))
    assert f"! {failing}" not in screen
    assert "! target capped" in screen


def test_clamped_targets_and_overrides_say_so() -> None:
    s = snap(clamped="above your --max-speed 6.0 km/h", speed_override_kmh=0.5, incline_override_pct=-1.0)
    screen = "\n".join(text_of(s, 80, 24))
    assert "capped" in screen
    assert "! target capped: above your --max-speed 6.0 km/h" in screen
    assert "(+0.5 yours)" in screen
    assert "(-1.0 yours)" in screen


def test_the_still_changing_arrow_shows_while_moving_not_while_paused() -> None:
    changing = TreadmillState(speed_kmh=3.0, incline_pct=1.0)
    moving = "\n".join(text_of(snap(machine=changing, target_speed_kmh=5.0, target_incline_pct=3.0), 80, 24))
    assert "▲ target" in moving
    paused = snap(
        phase=Phase.PAUSED, paused_by=PausedBy.USER, machine=TreadmillState(speed_kmh=0.0, incline_pct=1.0)
    )
    paused = dataclasses.replace(paused, target_speed_kmh=5.0, target_incline_pct=3.0)
    screen = "\n".join(text_of(paused, 80, 24))
    assert "target 5.0" in screen
    assert "▲ target" not in screen
    assert "▼ target" not in screen


def test_target_captions_never_run_into_the_next_column() -> None:
    # at a cap with a big override: "target 12.0 (+8.3 yours) c▲ target 0.5" at 80 columns
    s = snap(
        target_speed_kmh=12.0,
        speed_override_kmh=8.3,
        clamped="speed held at the treadmill's maximum 12 km/h",
        target_incline_pct=4.5,
        incline_override_pct=-1.5,
        machine=TreadmillState(speed_kmh=11.0, incline_pct=3.0),
    )
    for units in ("metric", "pace", "pace_imperial"):
        lines = text_of(s, 80, 24, View(units=units))
        row = next(line for line in lines if "target" in line)
        speed, incline = row[:26], row[26:52]
        assert speed.rstrip().endswith("capped"), row
        assert "(+" in speed
        assert incline.startswith("▲ target 4.5 (-1.5"), row
        assert "capped" not in incline  # the cap was on the speed
    wide = "\n".join(text_of(s, 140, 40))
    assert "▲ target 12.0 (+8.3 yours) capped" in wide  # room for every word


def test_units_pace_and_imperial() -> None:
    pace = text_of(RUNNING, 80, 24, View(units="pace"))
    assert big_number(pace, "PACE min/km", 26) == "10:43"
    assert "speed 5.6 km/h" in "\n".join(pace)
    mph = text_of(RUNNING, 80, 24, View(units="imperial"))
    assert big_number(mph, "SPEED mph", 26) == "3.5"
    screen = "\n".join(mph)
    assert "pace 17:15 min/mi" in screen
    assert "distance 0.39 mi" in screen
    assert "ascent 46 ft" in screen
    pace_mi = text_of(RUNNING, 80, 24, View(units="pace_imperial"))
    assert big_number(pace_mi, "PACE min/mi", 26) == "17:15"


def test_confirmation_and_cue_are_shown() -> None:
    screen = "\n".join(text_of(RUNNING, 80, 24, View(confirm_stop=True)))
    assert "Stop the session?  q or y: stop   any other key: carry on" in screen
    no_cue = "\n".join(text_of(snap(cue=None, segment_elapsed_s=5.0), 80, 24))
    assert "· in 0:05: Short quick steps" in no_cue  # the coming cue, quietly


def test_distance_segment_counts_metres() -> None:
    s = snap(segment_index=3, segment_remaining_s=None, segment_remaining_m=250.0, segment_progress=0.375)
    lines = text_of(s, 80, 24)
    assert big_number(lines, "SEGMENT M LEFT", 28) == "250"
    assert "150 m" not in "\n".join(lines)  # progress is in km with two decimals
    assert "0.15 km / 0.40 km" in "\n".join(lines)


def test_an_extended_segment_shows_its_new_length() -> None:
    # `e` added a minute: "of 4:00" and "1:40 / 4:00" next to 3:20 left did not add up
    timed = text_of(snap(segment_extra=60.0, segment_remaining_s=200.0, segment_progress=100 / 300), 80, 24)
    screen = "\n".join(timed)
    assert big_number(timed, "SEGMENT LEFT", 28) == "3:20"
    assert "of 5:00" in screen
    assert "1:40 / 5:00" in screen
    # 100 m more on a 400 m segment, 50 m walked: not "-0.05 km / 0.40 km"
    s = snap(
        segment_index=3,
        segment_remaining_s=None,
        segment_remaining_m=450.0,
        segment_progress=0.1,
        segment_extra=100.0,
    )
    screen = "\n".join(text_of(s, 80, 24))
    assert "0.05 km / 0.50 km" in screen
    assert "of 0.50 km" in screen
    assert "-0." not in screen


@pytest.mark.parametrize("size", [(60, 18), (80, 20), (200, 60), (40, 12)])
def test_odd_sizes_never_overflow(size: tuple[int, int]) -> None:
    width, height = size
    for s in PHASES.values():
        lines = text_of(s, width, height)
        assert all(len(line) <= width for line in lines)
        if s.phase not in (Phase.FINISHED, Phase.ABORTED):
            assert len(lines) <= height


def test_summary_panel_totals_bands_and_where_saved() -> None:
    summary = SessionSummary()
    t = 0.0
    for i, (seg, incline, speed) in enumerate(
        [(0, 1.0, 4.0)] * 10 + [(1, 3.0, 6.0)] * 10 + [(3, 9.0, 5.5)] * 5
    ):
        s = snap(
            segment_index=seg,
            session_elapsed_s=t,
            distance_m=t * 1.5,
            ascent_m=t * 0.05,
            machine=TreadmillState(speed_kmh=speed, incline_pct=incline),
        )
        summary.add(s)
        t += 60.0 if i < 24 else 0.0
    end = snap(
        phase=Phase.FINISHED,
        stop_reason=StopReason.FINISHED,
        session_id=12,
        session_elapsed_s=t,
        distance_m=t * 1.5,
        ascent_m=t * 0.05,
    )
    summary.add(end)
    assert summary.by_kind["warmup"].time_s == 600.0
    assert summary.by_kind["work"].time_s == 840.0
    assert summary.by_band_s["gentle   1–4 %"] == 1200.0
    assert summary.by_band_s["steep    8–12 %"] == 240.0
    lines = text_of(end, 80, 24, View(summary=summary, saved_to="/home/w/.local/share/treadwalk/sessions.db"))
    screen = "\n".join(lines)
    assert len(lines) <= 24
    assert all(len(x) <= 80 for x in lines)
    assert "Session summary · profile finished" in screen
    assert "24:00 moving · 2.16 km · 72 m up" in screen
    assert "average 11:07 min/km (5.4 km/h)" in screen
    assert "warmup" in screen
    assert "work" in screen
    assert "14:00" in screen
    assert "steep    8–12 %" in screen
    assert "17 %" in screen
    assert "Saved as session 12" in screen
    assert "treadwalk history show 12" in screen
    assert "sessions.db" in screen


# ---------------------------------------------------------------------------------------------
# Keys


def test_quitting_before_the_start_says_so_instead_of_a_table_of_zeros() -> None:
    quit_early = snap(
        phase=Phase.ABORTED,
        stop_reason=StopReason.USER,
        session_id=4,
        segment_index=None,
        session_elapsed_s=0.0,
        distance_m=0.0,
        ascent_m=0.0,
        machine=TreadmillState(),
    )
    console = Console(record=True, width=80, color_system=None, file=io.StringIO())
    console.print(render_summary(quit_early))
    screen = console.export_text()
    assert "Nothing was walked" in screen
    assert "--" not in screen
    assert "session 4" in screen


def test_summary_kinds_add_up_to_the_session_after_a_pause() -> None:
    # the belt rolls on for a few metres after a pause (and after a stop from a pause): the
    # summary showed 0.02 km in total over a single 0.01 km segment
    summary = SessionSummary()
    for phase, t, d in [
        (Phase.RUNNING, 0.0, 0.0),
        (Phase.RUNNING, 10.0, 15.0),
        (Phase.PAUSED, 10.0, 17.0),
        (Phase.PAUSED, 10.0, 18.0),
        (Phase.ABORTED, 10.0, 18.5),
    ]:
        summary.add(snap(phase=phase, segment_index=1, session_elapsed_s=t, distance_m=d))
    assert summary.distance_m == 18.5
    assert summary.by_kind["work"].distance_m == pytest.approx(18.5)
    assert summary.by_kind["work"].time_s == pytest.approx(10.0)
    assert sum(summary.by_band_s.values()) == pytest.approx(10.0)


def test_decode_keys() -> None:
    assert decode_keys(b" +=-][neuqyx") == list(" +=-][neuqyx")
    assert decode_keys(b"\r\n\x1b[A\x1b[B\x1bOC\x1b\x7f\x1b[15~") == [
        "enter",
        "enter",
        "up",
        "down",
        "right",
        "escape",
        "backspace",
        "unknown",
    ]


def test_controls_map_keys_to_commands() -> None:
    units: list[int] = []
    c = Controls(on_units=lambda: units.append(1))
    run = RUNNING
    assert c.press(" ", run) == Command(CommandKind.TOGGLE_PAUSE)
    assert c.press("+", run) == Command(CommandKind.SPEED, 0.5)
    assert c.press("=", run) == Command(CommandKind.SPEED, 0.5)
    assert c.press("-", run) == Command(CommandKind.SPEED, -0.5)
    assert c.press("]", run) == Command(CommandKind.INCLINE, 0.5)
    assert c.press("[", run) == Command(CommandKind.INCLINE, -0.5)
    assert c.press("n", run) == Command(CommandKind.SKIP)
    assert c.press("e", run) == Command(CommandKind.EXTEND, 60.0)
    assert c.press("e", snap(segment_index=3)) == Command(CommandKind.EXTEND, 100.0)  # metres
    assert c.press("u", run) is None
    assert units == [1]
    assert c.press("x", run) == Command(CommandKind.EMERGENCY_STOP)
    assert c.press("X", run) == Command(CommandKind.EMERGENCY_STOP)


def test_q_asks_first() -> None:
    c = Controls()
    assert c.press("q", RUNNING) is None
    assert c.confirm_stop
    assert c.press("q", RUNNING) == Command(CommandKind.STOP)
    assert not c.confirm_stop
    assert c.press("q", RUNNING) is None
    assert c.press("y", RUNNING) == Command(CommandKind.STOP)
    assert c.press("q", RUNNING) is None
    assert c.press("+", RUNNING) is None
    assert not c.confirm_stop
    assert c.notice == "Carrying on."
    assert c.press("q", RUNNING) is None
    assert c.press("x", RUNNING) == Command(CommandKind.EMERGENCY_STOP)  # ...but x always stops


def test_start_only_from_ready_and_only_on_purpose() -> None:
    c = Controls()
    ready = PHASES["ready"]
    assert c.press(" ", ready) is None  # space does not start a belt
    assert c.notice == "Press Enter to start the belt."
    assert c.press("+", ready) is None
    assert c.press("enter", ready) == Command(CommandKind.START)
    assert c.press("s", ready) == Command(CommandKind.START)
    assert c.press("enter", RUNNING) is None
    assert c.press("enter", PHASES["connecting"]) is None
    assert c.press("q", ready) == Command(CommandKind.STOP)  # nothing moves yet: no question
    assert c.press(" ", PHASES["countdown"]) == Command(CommandKind.TOGGLE_PAUSE)  # not yet
    assert c.press("+", PHASES["countdown"]) is None
    assert c.press("q", PHASES["countdown"]) == Command(CommandKind.STOP)


def test_the_cool_down_shows_only_the_keys_that_work_there() -> None:
    # the engine's cool-down has its own easy pace: +/-, ]/[ and e do nothing there, so the
    # help line does not offer them and pressing them says why
    cooldown = dataclasses.replace(PHASES["cooldown"], message="Stopping: cool-down at 3 km/h for 2:00.")
    paused = dataclasses.replace(cooldown, phase=Phase.PAUSED, paused_by=PausedBy.USER)
    for s, space in ((cooldown, "space pause"), (paused, "space resume")):
        lines = text_of(s, 80, 24)
        screen = "\n".join(lines)
        assert space in lines[-1]
        assert "q end now" in lines[-1]
        assert "+/- speed" not in lines[-1]
        assert "e extend" not in lines[-1]
        assert "Cool-down: easing off before the belt stops." in screen
        assert "Next ▸ stop" in screen
    c = Controls()
    for s in (cooldown, paused):
        for key in "+-][e":
            assert c.press(key, s) is None
            assert c.notice == "The cool-down keeps its own easy pace: q ends it now."
    screen = "\n".join(text_of(cooldown, 80, 24, View(notice=c.notice)))
    assert "The cool-down keeps its own easy pace" in screen  # not hidden by the engine's message
    assert c.press(" ", cooldown) == Command(CommandKind.TOGGLE_PAUSE)
    assert c.press("+", PHASES["paused"]) == Command(CommandKind.SPEED, 0.5)  # a paused segment: held


def test_help_line_fits_80_columns() -> None:
    for phase in Phase:
        assert help_line(phase, 80).cell_len <= 80


async def test_key_reader_on_a_real_pty_sends_commands_and_restores_the_terminal() -> None:
    master, slave = os.openpty()
    try:
        before = termios.tcgetattr(slave)
        got: list[Command] = []
        dash = Dashboard(Console(file=io.StringIO()), got.append, keys=slave, print_summary=False)
        dash.on_snapshot(RUNNING)
        with KeyReader(dash.press, slave) as reader:
            assert reader.active
            during = termios.tcgetattr(slave)
            assert not during[3] & termios.ICANON
            assert not during[3] & termios.ECHO
            assert during[3] & termios.ISIG  # Ctrl+C still interrupts
            os.write(master, b" +]")
            os.write(master, b"-[ne")
            os.write(master, b"q")
            os.write(master, b"y\x1b[Ax")
            for _ in range(200):
                if len(got) >= 10:
                    break
                await asyncio.sleep(0.01)
        assert termios.tcgetattr(slave) == before
        assert [c.kind for c in got] == [
            CommandKind.TOGGLE_PAUSE,
            CommandKind.SPEED,
            CommandKind.INCLINE,
            CommandKind.SPEED,
            CommandKind.INCLINE,
            CommandKind.SKIP,
            CommandKind.EXTEND,
            CommandKind.STOP,
            CommandKind.SPEED,
            CommandKind.EMERGENCY_STOP,
        ]
    finally:
        os.close(master)
        os.close(slave)


async def test_key_reader_ignores_a_non_terminal() -> None:
    r, w = os.pipe()
    try:
        with KeyReader(lambda k: None, r) as reader:
            assert not reader.active
    finally:
        os.close(r)
        os.close(w)


async def test_a_failing_submit_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(cmd: Command) -> None:
        raise RuntimeError("engine gone")

    dash = Dashboard(Console(file=io.StringIO()), broken, keys=False)
    dash.on_snapshot(RUNNING)
    with caplog.at_level(logging.ERROR):
        dash.press("+")
    assert "did not take the command speed" in caplog.text


# ---------------------------------------------------------------------------------------------
# The live loop


def terminal_console(width: int = 80, height: int = 24) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=width, height=height, color_system="standard"), out


@pytest.mark.virtual_time
async def test_live_draws_at_most_4_frames_a_second_and_ends_with_the_session() -> None:
    console, out = terminal_console()
    dash = Dashboard(console, keys=False)
    task = asyncio.create_task(dash.run(), name="dashboard")
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for i in range(1000):  # 100 snapshots a second for 10 s
        speed = 5.0 + (i % 10) / 10  # a new number on screen every snapshot
        dash.on_snapshot(snap(at=float(i), machine=TreadmillState(speed_kmh=speed, incline_pct=3.0)))
        await asyncio.sleep(0.01)
    elapsed = loop.time() - t0
    assert dash.renders <= 4 * elapsed + 2
    assert dash.renders >= 3 * elapsed  # and it keeps up
    dash.on_snapshot(PHASES["finished"])
    await asyncio.wait_for(task, 2.0)
    text = out.getvalue()
    assert "\x1b[?1049h" in text
    assert "\x1b[?1049l" in text
    assert "\x1b[?25l" in text
    assert text.rstrip().count("\x1b[?25h") >= 1
    assert text.index("\x1b[?1049l") < text.rindex("Session summary")  # the summary stays on screen


@pytest.mark.virtual_time
async def test_live_redraws_on_resize_and_restores_on_cancel() -> None:
    console, out = terminal_console()
    dash = Dashboard(console, keys=False)
    dash.on_snapshot(RUNNING)
    task = asyncio.create_task(dash.run(), name="dashboard")
    await asyncio.sleep(3.0)  # nothing changes: one frame, then nothing to redraw
    idle = dash.renders
    assert idle == 1
    dash.on_snapshot(snap(session_elapsed_s=401.0))
    await asyncio.sleep(0.3)
    assert dash.renders == idle + 1
    dash.on_snapshot(snap(session_elapsed_s=401.2))  # the same screen (seconds shown)
    await asyncio.sleep(0.3)
    assert dash.renders == idle + 1
    idle = dash.renders
    console.size = (140, 40)  # type: ignore[assignment]
    await asyncio.sleep(0.3)
    assert dash.renders == idle + 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    text = out.getvalue()
    assert text.endswith("\x1b[?1049l") or "\x1b[?1049l" in text[-2000:]
    assert "Session summary" in text  # printed on the way out, too


@pytest.mark.virtual_time
async def test_live_restores_the_screen_when_drawing_fails() -> None:
    console, out = terminal_console()
    dash = Dashboard(console, keys=False, print_summary=False)

    def explode(width: int, height: int) -> object:
        raise ValueError("bad frame")

    dash.frame = explode  # type: ignore[method-assign]
    dash.on_snapshot(RUNNING)
    with pytest.raises(ValueError, match="bad frame"):
        await dash.run()
    assert "\x1b[?1049l" in out.getvalue()
    assert "\x1b[?25h" in out.getvalue()


@pytest.mark.virtual_time
async def test_logs_are_held_while_the_screen_is_ours(caplog: pytest.LogCaptureFixture) -> None:
    console, _ = terminal_console()
    dash = Dashboard(console, keys=False, print_summary=False)
    dash.on_snapshot(RUNNING)
    task = asyncio.create_task(dash.run(), name="dashboard")
    await asyncio.sleep(0.5)
    logging.getLogger("treadwalk.test").warning("the radio hiccuped")
    await asyncio.sleep(0.5)
    assert any(e.kind == "log" and e.message == "the radio hiccuped" for e in dash.events)
    dash.on_snapshot(PHASES["finished"])
    await task
    assert "the radio hiccuped" in caplog.text


async def test_without_a_terminal_it_prints_plain_lines() -> None:
    out = io.StringIO()
    dash = Dashboard(Console(file=out, width=200), keys=False, status_every_s=30.0)
    task = asyncio.create_task(dash.run(), name="dashboard")
    await asyncio.sleep(0)
    for i in range(0, 100, 10):
        dash.on_snapshot(snap(at=400.0 + i, session_elapsed_s=400.0 + i))
    dash.on_event(SessionEvent(at=1.0, wall=0.0, kind="segment", message="Brisk: 6.0 km/h, 3 %"))
    dash.on_snapshot(PHASES["finished"])
    await asyncio.wait_for(task, 1.0)
    lines = out.getvalue().splitlines()
    status = [x for x in lines if "running · 2/5 Brisk" in x]
    assert len(status) == 4  # at 400, 430, 460, 490 s
    assert "5.6 km/h (target 6.0)" in status[0]
    assert "3.0 % (target 3.0)" in status[0]
    assert "[   8:10] segment: Brisk: 6.0 km/h, 3 %" in lines
    assert "\x1b" not in out.getvalue()
    assert any("Session summary" in x for x in lines)


# ---------------------------------------------------------------------------------------------
# The README picture


def readme_picture() -> str:
    console = Console(record=True, width=100, height=30, color_system="truecolor", file=io.StringIO())
    events = (
        SessionEvent(at=300.0, wall=0.0, kind="segment", message="Brisk: 6.0 km/h, 3 %"),
        SessionEvent(at=310.0, wall=0.0, kind="cue", message="Short quick steps, land under the hip"),
    )
    console.print(render(RUNNING, 100, 30, View(events=events)))
    return console.export_svg(title="treadwalk demo")


def test_readme_picture_is_current() -> None:
    """docs/dashboard.svg is this test's output. TREADWALK_REGEN=1 rewrites it; otherwise a
    difference fails, so the README never shows a dashboard the code no longer draws."""
    svg = readme_picture()
    if os.environ.get("TREADWALK_REGEN") == "1" or not SVG.exists():
        SVG.parent.mkdir(parents=True, exist_ok=True)
        SVG.write_text(svg, encoding="utf-8")
    assert SVG.read_text(encoding="utf-8") == svg, "run TREADWALK_REGEN=1 pytest tests/test_dashboard.py"


def test_big_digits_round_trip() -> None:
    for text in ("0.0", "12.5", "10:43", "1:02:05", "250", "-- "):
        for scale in (1, 2, 3):
            assert read_big(big_rows(text, scale), scale) == text.strip()


def test_a_stops_cool_down_keeps_the_marker_where_the_walker_stopped() -> None:
    dash = Dashboard(Console(file=io.StringIO(), width=80, height=24), keys=False)
    dash.on_snapshot(RUNNING)
    cooling = snap(phase=Phase.COOLDOWN, segment_index=None, cue=None, segment_remaining_s=100.0)
    dash.on_snapshot(cooling)
    console = Console(record=True, width=80, height=24, color_system=None, file=io.StringIO())
    console.print(dash.frame(80, 24))
    lines = console.export_text().splitlines()
    marker = next(line for line in lines if "you are here" in line)
    assert marker.index("▲") - 8 == int(400 / PLAN.duration_s * 72)
    assert any("Cool-down: easing off before the belt stops." in line for line in lines)
    assert any("Next ▸ stop  in 1:40" in line for line in lines)


def test_the_default_console_follows_the_terminal_not_columns_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    from treadwalk.dashboard.live import terminal_console

    monkeypatch.setenv("COLUMNS", "33")  # bash exports these and Rich would stop following resizes
    monkeypatch.setenv("LINES", "7")
    console = terminal_console()
    assert console.size != (33, 7)
    assert console.width != 33


# ---------------------------------------------------------------------------------------------
# Heart rate on the dashboard


def test_heart_rate_shows_its_zone_the_held_range_and_what_the_controller_does() -> None:
    from treadwalk.dashboard import SessionSummary

    held = snap(
        hr_bpm=118.0, hr_zone=2, hr_low_bpm=110.0, hr_high_bpm=125.0, hr_adjust="incline", hr_action="raise"
    )
    summary = SessionSummary()
    for i in range(61):  # a minute in the segment, the last 20 s below the range
        summary.add(dataclasses.replace(held, session_elapsed_s=300.0 + i, hr_bpm=118.0 if i < 40 else 104.0))
    text = "\n".join(text_of(held, 100, 30, View(summary=summary)))
    assert "♥ 118 bpm Z2 · holding 110–125 · incline auto (raising)" in text
    assert "in range 0:40 of 1:00 (67 %)" in text
    panel = Console(record=True, width=100, color_system=None, file=io.StringIO())
    panel.print(render_summary(dataclasses.replace(held, phase=Phase.FINISHED), summary))
    out = panel.export_text()
    assert "heart rate average 113 · max 118 bpm" in out
    assert "zone 2 1:00" in out


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        ({"hr_bpm": None, "hr_reason": "no_contact"}, "♥ -- no skin contact"),
        ({"hr_bpm": None, "hr_reason": "stale"}, "♥ -- no new reading"),
        (
            {"hr_bpm": None, "hr_reason": None, "machine": TreadmillState(speed_kmh=5.0, heart_rate_bpm=255)},
            None,
        ),
        (
            {"hr_bpm": None, "hr_reason": None, "machine": TreadmillState(speed_kmh=5.0, heart_rate_bpm=0)},
            None,
        ),
    ],
)
def test_no_reading_is_shown_as_such_never_as_a_number(changes: dict[str, object], shown: str | None) -> None:
    """Safety rule 6 on the screen: a strap without contact, a stale one, a treadmill's 0 or 255."""
    text = "\n".join(text_of(snap(**changes), 100, 30))
    if shown is None:
        assert "♥" not in text and "255" not in text
    else:
        assert shown in text


def test_the_ready_screen_shows_the_second_screens_address() -> None:
    """The QR code printed before the dashboard is under its full screen: the address stays in view."""
    url = "http://192.168.1.20:8765/?t=abc123"
    text = "\n".join(text_of(PHASES["ready"], 100, 30, View(second_screen=url)))
    assert f"Second screen: {url}" in text
    assert "Second screen" not in "\n".join(text_of(PHASES["ready"], 100, 30, View()))


def test_a_segment_that_holds_heart_rate_shows_it_in_big_digits_where_four_fit() -> None:
    held = snap(hr_bpm=118.0, hr_zone=2, hr_low_bpm=110.0, hr_high_bpm=125.0, hr_adjust="incline")
    lines = text_of(held, 120, 34)
    assert big_number(lines, "HEART bpm", 30, scale=2) == "118"
    assert big_number(lines, "SEGMENT LEFT", 30, scale=2) == "2:20"  # the others keep their size
    assert "zone 2 · hold 110–125" in "\n".join(lines)
    # 100 columns: four would not fit at the same size, so heart rate stays on its ♥ line
    narrow = text_of(held, 100, 30)
    assert not any("HEART bpm" in line for line in narrow)
    assert big_number(narrow, "SPEED km/h", 33, scale=2) == "5.6"
    assert not any("HEART bpm" in line for line in text_of(RUNNING, 100, 30))  # no held segment
