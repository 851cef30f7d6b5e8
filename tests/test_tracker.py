"""The machine tracker with plain bytes and numbers (no bleak, no radio): notifications in,
TreadmillState and machine events out — belt inference, echo detection, console changes."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadwalk import ftms
from treadwalk.core.axis import Quantity
from treadwalk.core.errors import DecodeError
from treadwalk.core.model import (
    BeltState,
    Capabilities,
    ControlLost,
    MachineStarted,
    MachineStopped,
    StoppedBy,
    TargetChanged,
)
from treadwalk.core.units import Grid
from treadwalk.treadmill.quirks import Quirks
from treadwalk.treadmill.tracker import ECHO_S, STOPPED_AFTER_S, MachineTracker

S = ftms.StatusOp


def data(**fields: object) -> bytes:
    return ftms.encode_treadmill_data(ftms.TreadmillData(**fields))  # type: ignore[arg-type]


def status(op: int, **params: object) -> bytes:
    return ftms.encode_machine_status(op, **params)


def tracker(**quirks: object) -> MachineTracker:
    caps = Capabilities(speed=Grid(1.0, 12.0, 0.1), incline=Grid(0.0, 10.0, 0.5))
    return MachineTracker(quirks=Quirks(**quirks), caps=caps)  # type: ignore[arg-type]


def test_records_merge_into_one_state() -> None:
    t = tracker()
    assert t.on_data(data(speed_kmh=4.2, distance_m=120, heart_rate_bpm=0, steps=300), 1.0, 1.0) == ()
    assert t.on_data(data(speed_kmh=4.3, incline_pct=2.5), 2.0, 2.0) == ()
    s = t.state
    assert (s.at, s.speed_kmh, s.incline_pct, s.distance_m, s.steps) == (2.0, 4.3, 2.5, 120, 300)
    assert s.heart_rate_bpm is None  # 0 bpm: no strap, not a heart rate
    assert t.frames == 2


def test_a_console_in_miles_is_read_in_kmh() -> None:
    t = tracker(data_in_mph=True)
    t.on_data(data(speed_kmh=3.0, avg_speed_kmh=2.0), 0.0, 0.0)
    assert (t.state.speed_kmh, t.state.avg_speed_kmh) == (4.83, 3.22)


def test_a_record_split_over_frames_counts_once() -> None:
    t = tracker()
    record = ftms.TreadmillData(
        speed_kmh=4.0,
        distance_m=5,
        incline_pct=1.0,
        ramp_angle_deg=0.5,
        elevation_gain_m=1.0,
        elevation_loss_m=0.0,
        energy_total_kcal=3,
        energy_per_hour_kcal=200,
        energy_per_min_kcal=3,
        elapsed_s=9,
    )
    first, *rest = ftms.split_treadmill_record(record, max_payload=12)
    assert rest, "the record should need several frames at MTU 23"
    t.on_data(first, 0.0, 0.0)
    assert t.frames == 0
    for frame in rest:
        t.on_data(frame, 0.0, 0.0)
    assert t.frames == 1 and t.state.speed_kmh == 4.0 and t.state.elapsed_s == 9


def test_the_belt_is_inferred_from_speed() -> None:
    t = tracker()
    t.on_data(data(speed_kmh=0.0), 0.0, 0.0)
    assert t.state.belt is BeltState.STOPPED
    t.on_data(data(speed_kmh=3.0), 1.0, 1.0)
    assert t.state.belt is BeltState.STOPPED  # a stopped belt is started by a status or by us
    u = tracker()
    u.on_data(data(speed_kmh=3.0), 1.0, 1.0)
    assert u.state.belt is BeltState.RUNNING  # first seen moving


def test_a_belt_standing_after_moving_was_stopped_on_the_console() -> None:
    t = tracker()
    t.started()
    t.on_data(data(speed_kmh=0.0), 0.0, 0.0)
    assert t.state.belt is BeltState.RUNNING  # not moved yet since our start: no inference
    t.on_data(data(speed_kmh=3.0), 1.0, 1.0)
    assert t.on_data(data(speed_kmh=0.0), 2.0, 2.0) == ()
    assert t.on_data(data(speed_kmh=0.0), 2.0 + STOPPED_AFTER_S - 0.1, 3.0) == ()
    events = t.on_data(data(speed_kmh=0.0), 2.0 + STOPPED_AFTER_S, 4.0)
    assert events == (MachineStopped(at=2.0 + STOPPED_AFTER_S, paused=False, by=StoppedBy.UNKNOWN),)
    assert t.state.belt is BeltState.STOPPED


def test_a_stand_still_after_our_own_stop_is_not_news() -> None:
    t = tracker()
    t.started()
    t.on_data(data(speed_kmh=3.0), 0.0, 0.0)
    t.expect_echo((S.STOPPED_OR_PAUSED_BY_USER,), until=10.0)
    t.on_data(data(speed_kmh=0.0), 1.0, 1.0)
    assert t.on_data(data(speed_kmh=0.0), 1.0 + STOPPED_AFTER_S, 2.0) == ()
    assert t.state.belt is BeltState.STOPPED


def test_console_buttons_and_the_safety_key() -> None:
    t = tracker()
    t.started()
    paused = t.on_status(status(S.STOPPED_OR_PAUSED_BY_USER, control=2), 5.0, 5.0)
    assert paused.events == (MachineStopped(at=5.0, paused=True, by=StoppedBy.USER),)
    assert t.state.belt is BeltState.PAUSED
    assert t.on_status(status(S.STARTED_OR_RESUMED_BY_USER), 6.0, 6.0).events == (MachineStarted(at=6.0),)
    key = t.on_status(status(S.STOPPED_BY_SAFETY_KEY), 7.0, 7.0)
    assert key.events == (MachineStopped(at=7.0, paused=False, by=StoppedBy.SAFETY_KEY),)
    assert t.state.belt is BeltState.STOPPED


def test_our_own_commands_echoed_in_the_status_are_not_the_console() -> None:
    t = tracker()
    t.expect_echo((S.STARTED_OR_RESUMED_BY_USER, S.STOPPED_OR_PAUSED_BY_USER), until=ECHO_S)
    assert t.on_status(status(S.STARTED_OR_RESUMED_BY_USER), 1.0, 1.0).events == ()
    assert t.state.belt is BeltState.RUNNING
    assert t.on_status(status(S.STOPPED_OR_PAUSED_BY_USER, control=1), 2.0, 2.0).events == ()
    assert t.state.belt is BeltState.STOPPED
    # after the window the same frame is the console's
    late = t.on_status(status(S.STARTED_OR_RESUMED_BY_USER), 9.0, ECHO_S + 0.1)
    assert late.events == (MachineStarted(at=9.0),)


def test_target_changes_tell_our_echo_from_the_console() -> None:
    t = tracker()
    t.started()
    t.last_target[Quantity.SPEED] = 4.1
    t.expect_echo((S.TARGET_SPEED_CHANGED,), until=3.0)
    assert t.on_status(status(S.TARGET_SPEED_CHANGED, target_speed_kmh=4.1), 1.0, 1.0).events == ()
    assert t.state.target_speed_kmh == 4.1
    # the console, inside the echo window, to another value
    console = t.on_status(status(S.TARGET_SPEED_CHANGED, target_speed_kmh=5.0), 1.5, 1.5)
    assert console.events == (TargetChanged(at=1.5, speed_kmh=5.0),)
    # the console to our value after the window
    again = t.on_status(status(S.TARGET_SPEED_CHANGED, target_speed_kmh=4.1), 4.0, 4.0)
    assert again.events == (TargetChanged(at=4.0, speed_kmh=4.1),)
    incline = t.on_status(status(S.TARGET_INCLINE_CHANGED, target_incline_pct=3.0), 5.0, 5.0)
    assert incline.events == (TargetChanged(at=5.0, incline_pct=3.0),)
    t.stopped()
    assert t.on_status(status(S.TARGET_SPEED_CHANGED, target_speed_kmh=2.0), 6.0, 6.0).events == ()


def test_an_mph_machine_echoes_our_target_onto_its_own_grid() -> None:
    t = tracker(targets_in_mph=True)
    t.started()
    t.last_target[Quantity.SPEED] = 4.5  # 2.796 mph; the machine keeps 2.8 mph = 4.51 km/h
    t.expect_echo((S.TARGET_SPEED_CHANGED,), until=3.0)
    assert t.on_status(status(S.TARGET_SPEED_CHANGED, target_speed_kmh=2.8), 1.0, 1.0).events == ()
    assert t.state.target_speed_kmh == pytest.approx(4.51)


def test_control_lost_and_reset_revoke_control() -> None:
    t = tracker()
    lost = t.on_status(status(S.CONTROL_PERMISSION_LOST), 3.0, 3.0)
    assert lost.events == (ControlLost(at=3.0),) and lost.control_revoked and lost.regain
    reset = t.on_status(status(S.RESET), 4.0, 4.0)
    assert reset.control_revoked and not reset.regain and t.state.belt is BeltState.STOPPED


def test_found_standing_after_a_reconnect_is_said_once() -> None:
    t = tracker()
    t.started()
    assert t.found_standing(8.0) == (MachineStopped(at=8.0, paused=False, by=StoppedBy.UNKNOWN),)
    assert t.found_standing(9.0) == ()


@given(st.binary(max_size=40))
def test_any_bytes_are_tracked_or_raise_decode_error(raw: bytes) -> None:
    t = tracker()
    for feed in (t.on_data, t.on_status):
        with contextlib.suppress(DecodeError):
            feed(raw, 0.0, 0.0)


def test_the_tracker_is_pure() -> None:
    import subprocess
    import sys

    code = (
        "import sys, treadwalk.treadmill.tracker; "
        "print(' '.join(m for m in ('bleak', 'bleak_retry_connector', 'bumble', 'asyncio') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
