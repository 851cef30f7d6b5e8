"""Heart rate inside the engine's pure core: a segment held by the controller through the real
``step`` (targets on the grid and under the caps), the walker's and the console's changes, the
ceiling on every segment, stale readings, and what the snapshot shows."""

from __future__ import annotations

from dataclasses import replace

from hr_walkers import WALKERS, Heart, grade_for, steady_bpm
from test_engine_core import Run, new_run, plan, seg

from treadwalk.core.model import (
    Command,
    CommandKind,
    ConnectionState,
    EventKind,
    HrAdjust,
    HrHold,
    Limits,
    TargetChanged,
)
from treadwalk.core.zones import HeartRateConfig, zones
from treadwalk.engine.core import Emit, HeartReading, SetIncline, SetSpeed, snapshot

ZONE2 = HrHold(HrAdjust.SPEED, 3.0, 7.0, zone=2, low_bpm=108.0, high_bpm=126.0)


def hr_events(r: Run) -> list[str]:
    return [a.message for _, a in r.log if isinstance(a, Emit) and a.kind is EventKind.HEART_RATE]


def tick(r: Run, bpm: float | None, until: float, *, stale: bool = False) -> None:
    """One reading a second (the same old one when ``stale``) up to ``until``."""
    at = r.now
    while r.now < until:
        r.now += 1.0
        at = at if stale else r.now
        r.step(connection=ConnectionState.CONNECTED, heart=HeartReading(bpm, at))


def test_the_loop_holds_a_zone_through_the_engine() -> None:
    w = WALKERS[1]  # average
    table = zones(HeartRateConfig(max_bpm=round(w.max_bpm)))
    low, high = table[1].low_bpm, table[1].high_bpm
    grade = round(grade_for(w, 5.5, (low + high) / 2) * 2) / 2
    hold = replace(ZONE2, low_bpm=low, high_bpm=high)
    r = new_run(plan(seg("z2", speed=4.0, incline=grade, duration_s=1200.0, hr=hold)), hr_zones=table)
    r.start()
    heart = Heart(w, steady_bpm(w, 3.5, 0.0), seed=3)
    inside = total = 0
    while r.now < r.state.started_at + 1190:  # type: ignore[operator]
        r.now += 1.0
        bpm = heart.advance(1.0, r.machine.speed_kmh or 0.0, r.machine.incline_pct or 0.0)
        r.step(connection=ConnectionState.CONNECTED, heart=HeartReading(heart.reading(), r.now))
        if r.now > r.state.started_at + 600:  # type: ignore[operator]
            total += 1
            inside += low <= bpm < high
    assert inside / total >= 0.85
    began = r.state.started_at + 10  # type: ignore[operator]  # after the belt's own run-up
    speeds = [a.speed_kmh for t, a in r.log if isinstance(a, SetSpeed) and t > began]
    assert speeds and all(abs(round(v * 10) - v * 10) < 1e-6 and 3.0 <= v <= 7.0 for v in speeds)
    shown = snapshot(r.state, r.now, 0.0, r.machine)
    assert (shown.hr_low_bpm, shown.hr_high_bpm, shown.hr_adjust) == (low, high, "speed")
    assert shown.hr_zone == 2 and shown.hr_bpm is not None
    assert any("speed up to" in m for m in hr_events(r))


def test_targets_stay_inside_the_walkers_caps() -> None:
    r = new_run(plan(seg("z2", speed=5.0, duration_s=600.0, hr=ZONE2)), Limits(max_speed_kmh=5.4))
    r.start()
    tick(r, 90, r.now + 300)  # far below the zone, for minutes
    assert max(a.speed_kmh for _, a in r.log if isinstance(a, SetSpeed)) == 5.4
    assert any("at its top" in m for m in hr_events(r))


def test_no_fresh_reading_never_raises() -> None:
    r = new_run(plan(seg("z2", speed=5.0, duration_s=600.0, hr=ZONE2)))
    r.start()
    tick(r, 95, r.now + 2)
    tick(r, 95, r.now + 200, stale=True)  # the strap's last value, frozen: older than 5 s
    assert max(a.speed_kmh for _, a in r.log if isinstance(a, SetSpeed)) == 5.0
    assert hr_events(r) == ["No heart-rate reading: holding speed at 5 km/h."]
    assert snapshot(r.state, r.now, 0.0, r.machine).hr_bpm is None


def test_walkers_plus_moves_the_working_point_and_is_kept() -> None:
    r = new_run(plan(seg("z2", speed=5.0, duration_s=600.0, hr=ZONE2)))
    r.start()
    tick(r, 117, r.now + 30)
    r.step(commands=(Command(CommandKind.SPEED, 0.5),))
    tick(r, 120, r.now + 200)  # the heart answers inside the zone
    assert r.machine.speed_kmh == 5.5
    assert r.state.hr_loop is not None and r.state.hr_loop.value == 5.5


def test_a_console_change_becomes_the_working_point() -> None:
    r = new_run(plan(seg("z2", speed=5.0, duration_s=600.0, hr=ZONE2)))
    r.start()
    tick(r, 117, r.now + 30)
    r.machine = replace(r.machine, speed_kmh=6.0)
    r.step(events=(TargetChanged(r.now, speed_kmh=6.0),))
    tick(r, 120, r.now + 100)
    assert r.state.hr_loop is not None and r.state.hr_loop.value == 6.0
    assert r.machine.speed_kmh == 6.0


def test_a_programmed_ramp_is_not_fought_but_the_ceiling_acts_at_once() -> None:
    hold = replace(ZONE2, adjust=HrAdjust.SPEED)
    ramp = seg("z2", speed=5.0, incline=0.0, end_incline_pct=4.0, duration_s=600.0, hr=hold)
    r = new_run(plan(ramp), Limits(ceiling_bpm=150.0))
    r.start()
    tick(r, 95, r.now + 200)  # below the zone while the incline ramps: no raise
    assert [m for m in hr_events(r) if not m.startswith("No heart-rate reading")] == []
    tick(r, 155, r.now + 11)  # above the ceiling: at once, and every 5 s
    eased = [m for m in hr_events(r) if m.startswith("Easing off")]
    assert eased[0] == "Easing off: heart rate 155 above ceiling 150, speed 4.8 km/h."
    assert len(eased) == 3


def test_the_ceiling_eases_off_on_an_ordinary_segment_incline_first() -> None:
    r = new_run(plan(seg("climb", speed=5.0, incline=2.0, duration_s=600.0)), Limits(ceiling_bpm=125.0))
    r.start()
    tick(r, 120, r.now + 60)
    assert hr_events(r) == []  # shown, never acted on
    tick(r, 131, r.now + 20)
    said = hr_events(r)
    assert said[0] == "Easing off: heart rate 131 above ceiling 125, incline 1.5 %."
    tick(r, 131, r.now + 40)
    inclines = [a.incline_pct for _, a in r.log if isinstance(a, SetIncline)]
    assert inclines[-1] == 0.0
    assert r.machine.speed_kmh is not None and r.machine.speed_kmh < 5.0  # then speed
    assert snapshot(r.state, r.now, 0.0, r.machine).hr_action == "ceiling"
