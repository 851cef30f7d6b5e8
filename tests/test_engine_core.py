"""The engine's functional core with plain numbers: no loop, no clock, no treadmill."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treadwalk.core.model import (
    BeltState,
    Capabilities,
    Command,
    CommandKind,
    CommandSource,
    ConnectionChanged,
    ConnectionState,
    ControlLost,
    Cue,
    Limits,
    MachineEvent,
    MachineStarted,
    MachineStopped,
    PausedBy,
    Phase,
    Plan,
    PlanSegment,
    StoppedBy,
    StopReason,
    TargetChanged,
    TreadmillState,
)
from treadwalk.core.units import Grid, snap
from treadwalk.engine.caps import CapsExceeded, check_caps, fit_to_caps, over_caps
from treadwalk.engine.core import (
    Action,
    Emit,
    EngineState,
    Inputs,
    PauseBelt,
    SetIncline,
    SetSpeed,
    Settings,
    StartBelt,
    StopBelt,
    initial_state,
    moving_s,
    next_wakeup,
    snapshot,
    step,
)

SPEED = Grid(1.0, 12.0, 0.1)
INCLINE = Grid(0.0, 15.0, 0.5)
CAPS = Capabilities(speed=SPEED, incline=INCLINE)


def seg(name: str = "s", speed: float = 5.0, incline: float = 0.0, **kw: object) -> PlanSegment:
    kw.setdefault("duration_s", 60.0)
    return PlanSegment(
        name=name, kind=str(kw.pop("kind", "work")), speed_kmh=speed, incline_pct=incline, **kw
    )  # type: ignore[arg-type]


def plan(*segments: PlanSegment) -> Plan:
    return Plan(name="test", segments=segments)


@dataclass
class Run:
    """Drives the pure core the way the shell does, with a trivial machine that obeys at once."""

    state: EngineState
    machine: TreadmillState = field(default_factory=TreadmillState)
    now: float = 0.0
    log: list[tuple[float, Action]] = field(default_factory=list)
    report_distance: bool = True

    def step(self, **inputs: object) -> tuple[Action, ...]:
        self.state, actions = step(self.state, self.now, self.machine, Inputs(**inputs))  # type: ignore[arg-type]
        for a in actions:
            self.log.append((self.now, a))
            self._obey(a)
        return actions

    def _obey(self, a: Action) -> None:
        m = self.machine
        if isinstance(a, StartBelt):
            self.machine = replace(m, belt=BeltState.RUNNING)
        elif isinstance(a, PauseBelt):
            self.machine = replace(m, belt=BeltState.PAUSED, speed_kmh=0.0)
        elif isinstance(a, StopBelt):
            self.machine = replace(m, belt=BeltState.STOPPED, speed_kmh=0.0)
        elif isinstance(a, SetSpeed):
            self.machine = replace(m, speed_kmh=a.speed_kmh)
        elif isinstance(a, SetIncline):
            self.machine = replace(m, incline_pct=a.incline_pct)

    def advance_to(self, t: float) -> None:
        """Step at every wake-up the core asks for, up to ``t``; the belt moves meanwhile."""
        while True:
            wake = next_wakeup(self.state, self.now)
            target = min(wake, t)
            self._move(target - self.now)
            self.now = target
            self.step(connection=ConnectionState.CONNECTED)
            if self.now >= t or self.state.done:
                return

    def _move(self, dt: float) -> None:
        m = self.machine
        if m.belt is BeltState.RUNNING and dt > 0 and self.report_distance:
            self.machine = replace(m, distance_m=(m.distance_m or 0.0) + (m.speed_kmh or 0.0) / 3.6 * dt)

    def kinds(self) -> list[str]:
        return [a.kind for _, a in self.log if isinstance(a, Emit)]

    def belt_actions(self) -> list[tuple[float, Action]]:
        return [(t, a) for t, a in self.log if not isinstance(a, Emit)]

    def start(self) -> None:
        self.step(capabilities=CAPS, connection=ConnectionState.CONNECTED)
        self.step(commands=(Command(CommandKind.START),))
        self.advance_to(self.now + self.state.settings.countdown_s)


def new_run(p: Plan, limits: Limits | None = None, **settings_kw: object) -> Run:
    settings_kw.setdefault("countdown_s", 3.0)
    settings_kw.setdefault("cooldown_s", 0.0)
    return Run(initial_state(p, limits or Limits(), Settings(**settings_kw)))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Starting (safety rule 1)


def test_nothing_moves_without_a_start() -> None:
    r = new_run(plan(seg()))
    r.step(capabilities=CAPS, connection=ConnectionState.CONNECTED)
    assert r.state.phase is Phase.READY
    r.advance_to(600.0)
    assert r.belt_actions() == []
    assert r.state.phase is Phase.READY


@pytest.mark.parametrize("remote", [CommandSource.MQTT, CommandSource.WEB])
def test_a_remote_cannot_start_or_resume_the_belt(remote: CommandSource) -> None:
    r = new_run(plan(seg()))
    r.step(capabilities=CAPS)
    r.step(
        commands=(Command(CommandKind.START, source=remote), Command(CommandKind.TOGGLE_PAUSE, source=remote))
    )
    r.advance_to(30.0)
    assert r.belt_actions() == []
    assert "warning" in r.kinds()
    r.step(commands=(Command(CommandKind.START),))
    r.advance_to(40.0)
    r.step(commands=(Command(CommandKind.PAUSE, source=remote),))  # a remote may pause
    assert r.state.paused_by is PausedBy.REMOTE
    r.step(commands=(Command(CommandKind.RESUME, source=remote),))
    assert r.state.paused_by is PausedBy.REMOTE  # but not resume
    r.step(commands=(Command(CommandKind.RESUME),))
    assert r.state.paused_by is None


@pytest.mark.parametrize("source", list(CommandSource))
def test_every_event_a_command_causes_says_who_asked(source: CommandSource) -> None:
    r = new_run(plan(seg(duration_s=600.0), seg()))
    r.start()
    r.advance_to(r.now + 20.0)
    mark = len(r.log)
    for kind, value in (
        (CommandKind.SPEED, 0.5),
        (CommandKind.INCLINE, 0.5),
        (CommandKind.EXTEND, None),
        (CommandKind.PAUSE, None),
        (CommandKind.STOP, None),
    ):
        r.step(commands=(Command(kind, value, source=source),))
    caused = [a for _, a in r.log[mark:] if isinstance(a, Emit)]
    assert {a.kind for a in caused} >= {"override", "command", "pause", "stop"}
    assert all(a.data.get("source") == source for a in caused), [(a.kind, dict(a.data)) for a in caused]


def test_start_goes_through_a_visible_countdown_then_starts_the_belt() -> None:
    r = new_run(plan(seg(speed=5.0)), countdown_s=4.0)
    r.step(capabilities=CAPS)
    r.now = 10.0
    r.step(commands=(Command(CommandKind.START),))
    assert r.state.phase is Phase.COUNTDOWN
    r.now = 12.0
    r.step()
    snap_ = snapshot(r.state, r.now, 0.0, r.machine)
    assert snap_.countdown_s == pytest.approx(2.0)
    assert r.belt_actions() == []
    r.advance_to(14.0)
    assert r.state.phase is Phase.RUNNING
    first = r.belt_actions()
    assert first[0] == (14.0, StartBelt())
    assert isinstance(first[1][1], SetSpeed)


def test_auto_start_is_the_yes_flag_and_keeps_the_countdown() -> None:
    r = new_run(plan(seg()), auto_start=True, countdown_s=3.0)
    r.step(capabilities=CAPS)
    assert r.state.phase is Phase.COUNTDOWN
    r.advance_to(2.9)
    assert r.belt_actions() == []
    r.advance_to(3.0)
    assert r.belt_actions()[0] == (3.0, StartBelt())


def test_stop_during_countdown_never_starts_the_belt() -> None:
    r = new_run(plan(seg()))
    r.step(capabilities=CAPS)
    r.step(commands=(Command(CommandKind.START),))
    r.now = 1.0
    r.step(commands=(Command(CommandKind.STOP),))
    assert r.state.done
    assert r.state.stop_reason is StopReason.USER
    assert r.belt_actions() == []


# ---------------------------------------------------------------------------------------------
# Time


def test_boundaries_are_absolute_deadlines_even_when_steps_are_late() -> None:
    r = new_run(plan(seg("a", duration_s=10.0), seg("b", duration_s=10.0), seg("c", duration_s=10.0)))
    r.start()  # running from t=3
    r.now = 13.4  # the shell woke 0.4 s late
    r.step()
    assert r.state.seg_index == 1
    assert r.state.seg_start_t == pytest.approx(10.0)  # the next segment starts at the deadline
    assert next_wakeup(r.state, r.now) <= 23.0
    r.now = 23.0
    r.step()
    assert r.state.seg_index == 2


def test_pauses_shift_the_deadlines_and_nothing_else() -> None:
    r = new_run(plan(seg("a", duration_s=10.0), seg("b", duration_s=10.0)))
    r.start()  # t=3
    r.advance_to(5.0)
    r.step(commands=(Command(CommandKind.PAUSE),))
    assert r.state.shown_phase is Phase.PAUSED
    r.advance_to(65.0)  # a minute of pause
    assert r.state.seg_index == 0
    r.step(commands=(Command(CommandKind.RESUME),))
    assert moving_s(r.state, r.now) == pytest.approx(2.0)
    r.advance_to(72.9)
    assert r.state.seg_index == 0
    r.advance_to(73.0)
    assert r.state.seg_index == 1
    r.advance_to(83.0)
    assert r.state.done
    assert r.state.stop_reason is StopReason.FINISHED
    assert r.log[-1][0] == pytest.approx(83.0)


def test_distance_segment_ends_on_the_machines_distance() -> None:
    r = new_run(plan(seg("d", speed=6.0, duration_s=None, distance_m=100.0), seg("t", duration_s=10.0)))
    r.machine = replace(r.machine, distance_m=5000.0)  # yesterday's odometer: ignored
    r.start()
    r.advance_to(40.0)
    assert r.state.seg_index == 0
    r.advance_to(200.0)
    assert r.state.segments_completed >= 1
    d_at_switch = next(
        t for t, a in r.log if isinstance(a, Emit) and a.kind == "segment" and a.data["index"] == 1
    )
    # 100 m at 6 km/h (after a ~2.5 s ramp) is a little over 60 s
    assert 60.0 < d_at_switch - 3.0 < 66.0


def test_distance_is_integrated_from_speed_when_the_machine_reports_none() -> None:
    r = new_run(plan(seg("d", speed=3.6, duration_s=None, distance_m=36.0), seg("t", duration_s=10.0)))
    r.report_distance = False
    r.start()
    r.advance_to(100.0)
    switch = next(t for t, a in r.log if isinstance(a, Emit) and a.kind == "segment" and a.data["index"] == 1)
    assert 36.0 < switch - 3.0 < 40.0  # 36 m at 1 m/s, plus the ramp from 1 km/h


def test_cues_fire_at_their_offsets() -> None:
    cues = (Cue("tall posture", at_s=0.0), Cue("quick feet", at_s=20.0))
    r = new_run(plan(seg(duration_s=60.0, cues=cues)))
    r.start()
    r.advance_to(40.0)
    fired = [(t, a.message) for t, a in r.log if isinstance(a, Emit) and a.kind == "cue"]
    assert fired == [(3.0, "tall posture"), (23.0, "quick feet")]
    assert snapshot(r.state, 24.0, 0.0, r.machine).cue == "quick feet"


# ---------------------------------------------------------------------------------------------
# Targets (safety rule 3)


def test_targets_are_rounded_onto_the_grid_and_capped() -> None:
    r = new_run(
        plan(seg(speed=4.14, incline=3.3), seg(speed=9.0, incline=12.0)),
        Limits(max_speed_kmh=6.0, max_incline_pct=8.0),
    )
    r.start()
    r.advance_to(60.0)
    assert r.machine.speed_kmh == 4.1
    assert r.machine.incline_pct == 3.5
    r.advance_to(100.0)
    assert r.machine.speed_kmh == 6.0
    assert r.machine.incline_pct == 8.0
    assert r.state.clamped is not None
    assert "--max-speed 6" in r.state.clamped
    assert r.kinds().count("clamped") == 1
    assert snapshot(r.state, r.now, 0.0, r.machine).clamped == r.state.clamped


def test_cap_below_the_machines_minimum_refuses_to_start() -> None:
    r = new_run(plan(seg()), Limits(max_speed_kmh=0.8))
    r.step(capabilities=CAPS)
    assert r.state.done
    assert r.state.stop_reason is StopReason.ERROR
    assert "below this treadmill's slowest speed" in (r.state.message or "")


def test_ramps_step_at_least_once_a_second_onto_the_grid() -> None:
    ramp = seg(speed=3.0, end_speed_kmh=6.0, duration_s=60.0)
    r = new_run(plan(ramp, seg(speed=6.0, duration_s=10.0)))
    r.start()
    r.advance_to(5.0)
    for t in range(6, 63):  # every second of the ramp, the belt is on the ramp's grid value
        r.advance_to(float(t))
        wanted = {snap(ramp.speed_at((t - 3.0 - lag) / 60.0), SPEED) for lag in (0.0, 0.25)}
        assert r.machine.speed_kmh in wanted, t
    r.advance_to(64.0)
    sets = [a.speed_kmh for t, a in r.log if isinstance(a, SetSpeed)]
    assert all(v == snap(v, SPEED) for v in sets)
    assert sets[-1] == 6.0


def test_changes_are_rate_limited() -> None:
    r = new_run(
        plan(seg(speed=2.0, duration_s=10.0), seg(speed=8.0, duration_s=10.0)),
        Limits(max_speed_step_kmh_per_s=1.0),
    )
    r.start()
    r.advance_to(25.0)
    sets = [(t, a.speed_kmh) for t, a in r.log if isinstance(a, SetSpeed)]
    for (t0, v0), (t1, v1) in itertools.pairwise(sets):
        assert abs(v1 - v0) <= 0.25 + 1.0 * (t1 - t0) + 1e-6
    reach = next(t for t, v in sets if v == 8.0)
    assert reach - 13.0 >= 5.5  # 6 km/h at 1 km/h/s


# ---------------------------------------------------------------------------------------------
# The walker's controls


def test_override_holds_until_the_segment_ends() -> None:
    r = new_run(plan(seg("a", speed=5.0, duration_s=30.0), seg("b", speed=5.0, duration_s=30.0)))
    r.start()
    r.advance_to(10.0)
    r.step(commands=(Command(CommandKind.SPEED, 0.5),))
    r.advance_to(20.0)
    assert r.machine.speed_kmh == 5.5
    assert snapshot(r.state, r.now, 0.0, r.machine).speed_override_kmh == pytest.approx(0.5)
    r.advance_to(40.0)
    assert r.machine.speed_kmh == 5.0


def test_segment_events_round_a_scaled_profiles_numbers() -> None:
    r = new_run(plan(seg("Warm-up", speed=3.309, end_speed_kmh=4.044, incline=1.2345)))
    r.start()
    messages = [a.message for _, a in r.log if isinstance(a, Emit) and a.kind == "segment"]
    assert messages == ["Warm-up: 3.3->4 km/h, 1.2 % for 1:00."]


def test_minus_at_a_cap_slows_down_even_on_a_ramp_climbing_past_it() -> None:
    # + pressed past the cap early in a rising ramp; later the ramp alone is above the cap:
    # one - must still bring the belt 0.5 below the cap the walker sees, not leave it there
    ramp = seg(speed=4.0, end_speed_kmh=6.0, duration_s=60.0)
    r = new_run(plan(ramp, seg(speed=5.0)), Limits(max_speed_kmh=6.0))
    r.start()
    r.advance_to(13.0)
    r.step(commands=tuple(Command(CommandKind.SPEED, 0.5) for _ in range(6)))
    r.advance_to(33.0)
    assert r.machine.speed_kmh == 6.0
    r.step(commands=(Command(CommandKind.SPEED, -0.5),))
    r.advance_to(33.5)
    assert r.machine.speed_kmh == pytest.approx(5.5)
    assert snapshot(r.state, r.now, 0.0, r.machine).target_speed_kmh == pytest.approx(5.5)


def test_pressing_plus_at_the_top_is_said_once_not_recorded_as_overrides() -> None:
    r = new_run(plan(seg("a", speed=11.0, duration_s=60.0)))
    r.start()
    r.advance_to(5.0)
    for _ in range(6):
        r.step(commands=(Command(CommandKind.SPEED, 0.5),))
    r.advance_to(10.0)
    kinds = r.kinds()
    assert kinds.count("override") == 2  # 11.5, 12.0 (the machine's top)
    assert kinds.count("clamped") >= 1
    edge = [a for _, a in r.log if isinstance(a, Emit) and "stays" in a.message]
    assert len(edge) == 1
    assert r.machine.speed_kmh == 12.0
    r.step(commands=(Command(CommandKind.SPEED, -0.5),))
    r.advance_to(15.0)
    assert r.machine.speed_kmh == 11.5


def test_messages_follow_the_walkers_units() -> None:
    r = new_run(
        plan(
            seg("Brisk", speed=6.0, end_speed_kmh=8.0, duration_s=60.0),
            seg("Easy", speed=4.8, duration_s=None, distance_m=402.336),
        ),
        units="imperial",
        cooldown_s=60.0,
    )
    r.start()
    r.advance_to(2.0)
    r.step(commands=(Command(CommandKind.SPEED, 0.5),))
    r.advance_to(400.0)
    messages = [a.message for _, a in r.log if isinstance(a, Emit)]
    assert any(m.startswith("Brisk: 3.7->5 mph") for m in messages), messages
    assert any(m.startswith("Easy: 3 mph, 0 % for 0.25 mi") for m in messages), messages
    assert any("cool-down at 1.9 mph" in m for m in messages), messages
    assert not any("km/h" in m for m in messages), messages


def test_override_can_hold_for_the_whole_session() -> None:
    r = new_run(
        plan(seg("a", speed=5.0, duration_s=30.0), seg("b", speed=5.0, duration_s=30.0)),
        hold_overrides="session",
    )
    r.start()
    r.advance_to(10.0)
    r.step(commands=(Command(CommandKind.INCLINE, 2.0),))
    r.advance_to(50.0)
    assert r.machine.incline_pct == 2.0


def test_skip_and_extend() -> None:
    r = new_run(plan(seg("a", duration_s=30.0), seg("b", duration_s=30.0), seg("c", duration_s=30.0)))
    r.start()
    r.advance_to(5.0)
    r.step(commands=(Command(CommandKind.SKIP),))
    assert r.state.seg_index == 1
    assert r.state.segments_completed == 0
    r.step(commands=(Command(CommandKind.EXTEND, 15.0),))
    assert snapshot(r.state, r.now, 0.0, r.machine).segment_extra == 15.0  # shown as 0:45 long
    r.advance_to(5.0 + 30.0 + 14.9)
    assert r.state.seg_index == 1
    r.advance_to(5.0 + 45.0)
    assert r.state.seg_index == 2


def test_stop_cools_down_then_stops_and_a_second_stop_ends_now() -> None:
    r = new_run(plan(seg(speed=6.0, duration_s=600.0)), cooldown_s=60.0, cooldown_speed_kmh=3.0)
    r.start()
    r.advance_to(100.0)
    r.step(commands=(Command(CommandKind.STOP),))
    assert r.state.phase is Phase.COOLDOWN
    r.advance_to(120.0)
    assert r.machine.speed_kmh == 3.0
    assert not r.state.done
    r.step(commands=(Command(CommandKind.STOP),))
    assert r.state.done
    assert r.state.phase is Phase.FINISHED
    assert r.state.stop_reason is StopReason.USER
    assert r.belt_actions()[-1] == (120.0, StopBelt())


def test_the_cool_down_drops_the_walkers_overrides_and_shows_its_own_targets() -> None:
    r = new_run(plan(seg(speed=6.0, incline=2.0, duration_s=600.0)), cooldown_s=60.0, cooldown_speed_kmh=3.0)
    r.start()
    r.advance_to(10.0)
    r.step(commands=(Command(CommandKind.SPEED, 0.5), Command(CommandKind.INCLINE, 1.0)))
    r.advance_to(20.0)
    r.step(commands=(Command(CommandKind.STOP),))
    r.advance_to(40.0)
    snap_ = snapshot(r.state, r.now, 0.0, r.machine)
    assert snap_.phase is Phase.COOLDOWN
    assert (snap_.speed_override_kmh, snap_.incline_override_pct) == (0.0, 0.0)
    assert (snap_.target_speed_kmh, snap_.target_incline_pct) == (3.0, 0.0)
    assert (r.machine.speed_kmh, r.machine.incline_pct) == (3.0, 0.0)


def test_end_of_profile_cools_down_then_stops() -> None:
    r = new_run(plan(seg(speed=6.0, duration_s=30.0)), cooldown_s=60.0)
    r.start()
    r.advance_to(33.0)
    assert r.state.phase is Phase.COOLDOWN
    r.advance_to(93.0)
    assert r.state.phase is Phase.FINISHED
    assert r.state.stop_reason is StopReason.FINISHED
    assert r.belt_actions()[-1] == (93.0, StopBelt())


@pytest.mark.parametrize("walker", ["slow profile", "walker slowed down"])
def test_the_cool_down_never_speeds_the_walker_up(walker: str) -> None:
    """A walker at 2.0 km/h when the profile ends cools down at 2.0, not at the 3.0 default."""
    r = new_run(
        plan(seg(speed=2.0 if walker == "slow profile" else 5.0, duration_s=30.0)),
        cooldown_s=60.0,
        cooldown_speed_kmh=3.0,
    )
    r.start()
    if walker == "walker slowed down":
        r.advance_to(10.0)
        r.step(commands=(Command(CommandKind.SPEED, -3.0),))
    r.advance_to(33.0)
    assert r.state.phase is Phase.COOLDOWN
    r.advance_to(93.0)
    cooldown_speeds = [a.speed_kmh for t, a in r.log if isinstance(a, SetSpeed) and t >= 33.0]
    assert max([r.machine.speed_kmh or 0.0, *cooldown_speeds]) <= 2.0 + 1e-9
    assert r.state.phase is Phase.FINISHED


def test_a_profile_ending_in_its_own_cooldown_is_not_cooled_down_twice() -> None:
    r = new_run(
        plan(seg(duration_s=30.0), seg("cd", kind="cooldown", speed=3.0, duration_s=30.0)), cooldown_s=60.0
    )
    r.start()
    r.advance_to(200.0)
    assert r.belt_actions()[-1] == (63.0, StopBelt())


def test_emergency_stop_stops_now_and_first() -> None:
    r = new_run(plan(seg(duration_s=600.0)), cooldown_s=60.0)
    r.start()
    r.advance_to(30.0)
    actions = r.step(commands=(Command(CommandKind.SPEED, 1.0), Command(CommandKind.EMERGENCY_STOP)))
    assert actions[0] == StopBelt()
    assert not any(isinstance(a, SetSpeed) for a in actions)
    assert r.state.phase is Phase.ABORTED
    assert r.state.stop_reason is StopReason.USER


# ---------------------------------------------------------------------------------------------
# The machine (safety rule 4) and the link


def _machine_event(r: Run, event: MachineEvent, **machine: object) -> tuple[Action, ...]:
    r.machine = replace(r.machine, **machine)  # type: ignore[arg-type]
    return r.step(events=(event,))


def test_console_speed_change_is_kept_not_fought() -> None:
    r = new_run(plan(seg("a", speed=5.0, duration_s=60.0), seg("b", speed=4.0, duration_s=60.0)))
    r.start()
    r.advance_to(20.0)
    n = len(r.belt_actions())
    _machine_event(r, TargetChanged(20.0, speed_kmh=6.5), speed_kmh=6.5)
    r.advance_to(62.0)
    assert len(r.belt_actions()) == n  # nothing sent: the walker's choice stands
    assert "console" in r.kinds()
    r.advance_to(70.0)
    assert r.machine.speed_kmh == 4.0  # the next segment is the profile again


def test_machine_pause_is_followed_and_never_undone() -> None:
    r = new_run(plan(seg(duration_s=60.0)))
    r.start()
    r.advance_to(20.0)
    n = len(r.belt_actions())
    _machine_event(
        r, MachineStopped(20.0, paused=True, by=StoppedBy.USER), belt=BeltState.PAUSED, speed_kmh=0.0
    )
    r.advance_to(500.0)
    assert r.state.shown_phase is Phase.PAUSED
    assert r.state.paused_by is PausedBy.MACHINE
    assert len(r.belt_actions()) == n  # no start, no speed: the machine's pause stands
    _machine_event(r, MachineStarted(500.0), belt=BeltState.RUNNING, speed_kmh=5.0)
    assert r.state.paused_by is None
    assert StartBelt() not in [a for _, a in r.belt_actions()[n:]]
    r.advance_to(600.0)
    assert r.state.done
    assert r.log[-1][0] == pytest.approx(20.0 + 480.0 + 43.0)


def test_belt_state_alone_is_followed_too() -> None:
    r = new_run(plan(seg(duration_s=60.0)))
    r.start()
    r.advance_to(20.0)
    r.machine = replace(r.machine, belt=BeltState.PAUSED)
    r.step()
    assert r.state.paused_by is PausedBy.MACHINE


def test_machine_stop_ends_the_session() -> None:
    r = new_run(plan(seg(duration_s=60.0)))
    r.start()
    r.advance_to(20.0)
    _machine_event(r, MachineStopped(20.0, paused=False, by=StoppedBy.SAFETY_KEY), belt=BeltState.STOPPED)
    assert r.state.done
    assert r.state.stop_reason is StopReason.MACHINE
    assert "safety key" in (r.state.message or "")


def test_control_lost_is_shown_and_no_command_goes_out_until_regained() -> None:
    r = new_run(plan(seg("a", speed=5.0, duration_s=20.0), seg("b", speed=6.0, duration_s=20.0)))
    r.start()
    r.advance_to(10.0)
    r.step(events=(ControlLost(10.0),))
    assert r.state.connection is ConnectionState.CONTROL_LOST
    assert snapshot(r.state, r.now, 0.0, r.machine).connection is ConnectionState.CONTROL_LOST
    n = len(r.belt_actions())
    for t in range(11, 30):  # the shell polls CONTROL_LOST from the port meanwhile
        r.now = float(t)
        r.step(connection=ConnectionState.CONTROL_LOST)
    assert len(r.belt_actions()) == n
    r.step(events=(ControlLost(30.0, regained=True),))
    assert any(isinstance(a, SetSpeed) for _, a in r.belt_actions()[n:])


def test_reconnecting_holds_the_clock_and_a_lost_link_stops() -> None:
    r = new_run(plan(seg(duration_s=60.0)))
    r.start()
    r.advance_to(20.0)
    r.step(events=(ConnectionChanged(20.0, ConnectionState.RECONNECTING),))
    for t in range(21, 40):
        r.now = float(t)
        r.step(connection=ConnectionState.RECONNECTING)
    assert moving_s(r.state, r.now) == pytest.approx(17.0)
    r.step(events=(ConnectionChanged(40.0, ConnectionState.CONNECTED),))
    assert r.state.connection is ConnectionState.CONNECTED
    assert not r.state.held
    r.now = 41.0
    r.step(events=(ConnectionChanged(41.0, ConnectionState.RECONNECTING),))
    r.now = 50.0
    actions = r.step(connection=ConnectionState.DISCONNECTED)
    assert actions[0] == StopBelt()
    assert r.state.stop_reason is StopReason.CONNECTION_LOST


def test_reconnected_to_a_stopped_belt_does_not_restart_it() -> None:
    r = new_run(plan(seg(duration_s=60.0)))
    r.start()
    r.advance_to(20.0)
    r.step(events=(ConnectionChanged(20.0, ConnectionState.RECONNECTING),))
    r.machine = replace(r.machine, belt=BeltState.STOPPED, speed_kmh=0.0)
    r.now = 25.0
    actions = r.step(events=(ConnectionChanged(25.0, ConnectionState.CONNECTED),))
    assert not any(isinstance(a, StartBelt | SetSpeed) for a in actions)
    assert r.state.paused_by is PausedBy.MACHINE


def test_link_lost_raised_by_the_port_stops() -> None:
    r = new_run(plan(seg(duration_s=60.0)))
    r.start()
    r.advance_to(20.0)
    actions = r.step(link_lost="gave up after 30 s")
    assert actions[0] == StopBelt()
    assert r.state.stop_reason is StopReason.CONNECTION_LOST
    assert r.state.phase is Phase.ABORTED


# ---------------------------------------------------------------------------------------------
# Caps before the start


def test_a_plan_above_the_caps_is_refused_with_one_sentence() -> None:
    p = plan(seg(speed=7.5, incline=12.0))
    msg = over_caps(p, Limits(max_speed_kmh=6.0, max_incline_pct=10.0))
    assert msg is not None
    assert msg.count(". ") == 0
    assert "--fit-to-caps" in msg
    with pytest.raises(CapsExceeded) as err:
        check_caps(p, Limits(max_speed_kmh=6.0))
    assert err.value.exit_code == 2
    assert over_caps(p, Limits(max_speed_kmh=8.0)) is None


def test_fit_to_caps_scales_the_shape_down() -> None:
    p = plan(seg(speed=4.0, incline=2.0), seg(speed=8.0, incline=12.0, end_incline_pct=6.0))
    fitted, note = check_caps(p, Limits(max_speed_kmh=6.0, max_incline_pct=6.0), fit=True)
    assert [s.speed_kmh for s in fitted.segments] == [3.0, 6.0]
    assert [s.incline_pct for s in fitted.segments] == [1.0, 6.0]
    assert fitted.segments[1].end_incline_pct == 3.0
    assert note is not None
    assert "x0.75" in note
    assert over_caps(fit_to_caps(p, Limits(max_speed_kmh=6.0)), Limits(max_speed_kmh=6.0)) is None


# ---------------------------------------------------------------------------------------------
# Invariants over generated plans and limits


@st.composite
def grids(draw: st.DrawFn) -> tuple[Grid, Grid | None]:
    lo = draw(st.sampled_from([0.5, 0.8, 1.0, 0.96]))
    hi = draw(st.sampled_from([6.0, 6.43, 12.0, 16.0, 20.0]))
    step_ = draw(st.sampled_from([0.1, 0.5, 0.32, 0.05]))
    speed = Grid(lo, hi, step_)
    incline = draw(
        st.one_of(
            st.none(),
            st.builds(
                Grid, st.sampled_from([0.0, -3.0]), st.sampled_from([10.0, 15.0]), st.sampled_from([0.5, 1.0])
            ),
        )
    )
    return speed, incline


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    n = draw(st.integers(1, 6))
    segments = []
    for i in range(n):
        speed = draw(st.floats(0.0, 25.0, allow_nan=False))
        incline = draw(st.floats(-5.0, 25.0, allow_nan=False))
        ramp = draw(st.booleans())
        segments.append(
            PlanSegment(
                name=f"s{i}",
                kind=draw(st.sampled_from(["warmup", "work", "recovery", "cooldown"])),
                speed_kmh=speed,
                incline_pct=incline,
                duration_s=draw(st.floats(0.0, 60.0, allow_nan=False)),
                end_speed_kmh=draw(st.floats(0.0, 25.0, allow_nan=False)) if ramp else None,
                end_incline_pct=draw(st.floats(-5.0, 25.0, allow_nan=False)) if ramp else None,
            )
        )
    return Plan(name="generated", segments=tuple(segments))


limits_st = st.builds(
    Limits,
    max_speed_kmh=st.one_of(st.none(), st.floats(1.0, 20.0)),
    max_incline_pct=st.one_of(st.none(), st.floats(0.0, 20.0)),
    max_speed_step_kmh_per_s=st.floats(0.2, 5.0),
    max_incline_step_pct_per_s=st.floats(0.2, 5.0),
)

# walker commands at random times: (moving offset, command)
script_st = st.lists(
    st.tuples(
        st.floats(0.0, 200.0),
        st.sampled_from(
            [
                Command(CommandKind.PAUSE),
                Command(CommandKind.RESUME),
                Command(CommandKind.SPEED, 1.0),
                Command(CommandKind.SPEED, -2.0),
                Command(CommandKind.INCLINE, 3.0),
                Command(CommandKind.INCLINE, -1.0),
            ]
        ),
    ),
    max_size=8,
)


def _play(
    p: Plan,
    limits: Limits,
    speed: Grid,
    incline: Grid | None,
    script: list[tuple[float, Command]],
    cooldown_s: float,
) -> Run:
    r = Run(initial_state(p, limits, Settings(countdown_s=3.0, cooldown_s=cooldown_s, auto_start=True)))
    r.step(capabilities=Capabilities(speed=speed, incline=incline), connection=ConnectionState.CONNECTED)
    for at, command in sorted(script, key=lambda x: x[0]):
        r.advance_to(3.0 + at)
        if r.state.done:
            break
        r.step(commands=(command,))
    r.step(commands=(Command(CommandKind.RESUME),))
    r.advance_to(r.now + 10_000.0)
    return r


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans(), limits_st, grids(), script_st, st.sampled_from([0.0, 30.0]))
def test_invariants_over_generated_sessions(
    p: Plan,
    limits: Limits,
    g: tuple[Grid, Grid | None],
    script: list[tuple[float, Command]],
    cooldown_s: float,
) -> None:
    speed_grid, incline_grid = g
    r = _play(p, limits, speed_grid, incline_grid, script, cooldown_s)
    actions = r.belt_actions()
    if limits.max_speed_kmh is not None and limits.max_speed_kmh < speed_grid.minimum:
        assert actions == []
        assert r.state.stop_reason is StopReason.ERROR
        return
    assert r.state.done
    # never a target outside the machine's grid or the walker's caps, and always on the grid
    s_upper = min(speed_grid.maximum, limits.max_speed_kmh if limits.max_speed_kmh is not None else math.inf)
    for _, a in actions:
        if isinstance(a, SetSpeed):
            assert speed_grid.minimum - 1e-9 <= a.speed_kmh <= s_upper + 1e-9
            assert a.speed_kmh == snap(a.speed_kmh, speed_grid)
        if isinstance(a, SetIncline):
            assert incline_grid is not None
            upper = (
                incline_grid.maximum
                if limits.max_incline_pct is None
                else max(incline_grid.minimum, min(incline_grid.maximum, limits.max_incline_pct))
            )
            assert incline_grid.minimum - 1e-9 <= a.incline_pct <= upper + 1e-9
            assert a.incline_pct == snap(a.incline_pct, incline_grid)
    # rate limited: consecutive commands move at most one burst plus the rate over the gap
    for kind, rate, grid in (
        (SetSpeed, limits.max_speed_step_kmh_per_s, speed_grid),
        (SetIncline, limits.max_incline_step_pct_per_s, incline_grid),
    ):
        if grid is None:
            continue
        burst = max(grid.step, rate * 0.25)
        values = [
            (t, a.speed_kmh if isinstance(a, SetSpeed) else a.incline_pct)
            for t, a in actions
            if isinstance(a, kind)
        ]  # type: ignore[union-attr]
        for (t0, v0), (t1, v1) in itertools.pairwise(values):
            assert abs(v1 - v0) <= burst + rate * (t1 - t0) + 1e-6
    # the belt starts once, first; the last command stops it
    starts = [i for i, (_, a) in enumerate(actions) if isinstance(a, StartBelt)]
    assert starts[:1] == [0] or actions == [(actions[0][0], StopBelt())]
    assert actions[-1][1] == StopBelt()
    # total time = sum of segments (+ cool-down) + pauses
    paused = r.state.held_total_s
    extra = 0.0 if (cooldown_s == 0 or p.segments[-1].kind == "cooldown") else cooldown_s
    assert r.log[-1][0] == pytest.approx(
        3.0 + sum(s.duration_s or 0.0 for s in p.segments) + extra + paused, abs=1e-6
    )
    assert r.state.stop_reason is StopReason.FINISHED
