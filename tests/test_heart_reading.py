"""The one rule for what counts as a heart-rate reading (treadwalk.core.heart): no contact, 0, 255,
outside 30-230, stale, frozen, no source -> no reading with its reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadwalk.core.heart import (
    FROZEN_AFTER_S,
    MAX_BPM,
    MIN_BPM,
    STALE_AFTER_S,
    HrReason,
    HrSourceKind,
    HrTracker,
    judge,
)


@pytest.mark.parametrize(
    ("bpm", "contact", "reason"),
    [
        (None, None, HrReason.NO_SOURCE),
        (72, False, HrReason.NO_CONTACT),
        (0, None, HrReason.ZERO),
        (255, None, HrReason.INVALID),
        (29, None, HrReason.OUT_OF_RANGE),
        (231, None, HrReason.OUT_OF_RANGE),
        (300, True, HrReason.OUT_OF_RANGE),
        (30, None, None),
        (230, True, None),
        (72, None, None),  # a strap that cannot tell contact is believed
    ],
)
def test_judge(bpm: int | None, contact: bool | None, reason: HrReason | None) -> None:
    assert judge(bpm, contact) is reason


@given(st.integers(0, 0xFFFF), st.sampled_from([None, True, False]))
def test_a_reading_is_always_a_plausible_heart_rate(bpm: int, contact: bool | None) -> None:
    t = HrTracker(HrSourceKind.STRAP)
    t.feed(bpm, 10.0, contact=contact)
    status = t.status(10.0)
    assert (status.reading is None) != (status.reason is None)
    if status.reading is not None:
        assert MIN_BPM <= status.reading.bpm <= MAX_BPM
        assert status.reading.bpm not in (0, 255)
        assert contact is not False


def test_nothing_before_the_first_frame() -> None:
    status = HrTracker(HrSourceKind.STRAP).status(0.0)
    assert status.reading is None and status.reason is HrReason.NO_SOURCE
    assert status.kind is HrSourceKind.STRAP


def test_stale_after_five_seconds_without_a_frame() -> None:
    t = HrTracker(HrSourceKind.STRAP)
    t.feed(100, 1.0)
    assert t.status(1.0 + STALE_AFTER_S).bpm == 100
    stale = t.status(1.0 + STALE_AFTER_S + 0.01)
    assert stale.reading is None and stale.reason is HrReason.STALE
    assert t.latest is not None and t.latest.bpm == 100  # still known, not a reading
    t.feed(101, 7.0)
    assert t.status(7.0).bpm == 101


def test_a_bad_value_replaces_a_good_one_at_once() -> None:
    t = HrTracker(HrSourceKind.MACHINE)
    t.feed(120, 0.0)
    t.feed(0, 0.25)  # the treadmill's "no strap" 0 never stands for a heart rate
    assert t.status(0.25).reason is HrReason.ZERO


def test_a_frozen_value_goes_stale_and_rr_intervals_keep_it_alive() -> None:
    t = HrTracker(HrSourceKind.STRAP)
    at = 0.0
    while at < FROZEN_AFTER_S - 1:
        t.feed(110, at)
        at += 1.0
    assert t.status(at - 1).bpm == 110
    t.feed(110, FROZEN_AFTER_S)
    assert t.status(FROZEN_AFTER_S).reason is HrReason.STALE
    # a living heart: same bpm, new RR intervals every frame
    live = HrTracker(HrSourceKind.STRAP)
    for i in range(60):
        live.feed(110, float(i), rr_ms=(540.0 + i % 7,))
    assert live.status(59.0).bpm == 110


def test_lost_source() -> None:
    t = HrTracker(HrSourceKind.STRAP)
    t.feed(90, 0.0)
    t.lost()
    assert t.status(0.1).reason is HrReason.NO_SOURCE
    assert HrReason.NO_CONTACT.text == "no skin contact"


def test_rr_intervals_of_real_readings_are_taken_once_in_order() -> None:
    t = HrTracker(HrSourceKind.STRAP)
    t.feed(120, 1.0, contact=True, rr_ms=(500.0, 498.0))
    t.feed(0, 2.0, contact=True, rr_ms=(510.0,))  # no reading: its intervals are not kept
    t.feed(121, 3.0, contact=False, rr_ms=(505.0,))  # no skin contact: neither
    t.feed(122, 4.0, contact=True, rr_ms=(495.0, 5000.0, 100.0))  # 5 s and 0.1 s are not beats
    assert t.take_rr() == (500.0, 498.0, 495.0)
    assert t.take_rr() == ()
