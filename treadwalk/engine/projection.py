"""Reading the engine's state: the ``SessionSnapshot`` every observer gets, and when the shell
should step again (and the heart-rate fields of the snapshot). Pure projections, apart from the
transitions (``core``). Stdlib and treadwalk.core only.
"""

from __future__ import annotations

import math
from typing import Any

from treadwalk.core.model import Phase, SegmentKind, SessionSnapshot, TreadmillState
from treadwalk.core.zones import zone_of

from .state import ACTIVE, EngineState, fresh_bpm, hr_hold, moving_s, seg_fraction, seg_len_m, seg_len_s

__all__ = ["next_wakeup", "snapshot"]


def next_wakeup(s: EngineState, now: float) -> float:
    """When the shell should step again, at the latest (it also steps on every input)."""
    if s.done:
        return math.inf
    tick = now + s.settings.tick_s
    if s.phase is Phase.COUNTDOWN and s.countdown_until is not None:
        return min(tick, s.countdown_until)
    if s.held or s.phase not in ACTIVE or s.started_at is None:
        return tick
    base = s.started_at + s.held_total_s  # clock time = base + moving time
    wake = tick
    if s.cue_until > now:
        wake = min(wake, s.cue_until)
    if s.phase is Phase.COOLDOWN and s.cooldown_start_t is not None:
        return min(wake, base + s.cooldown_start_t + s.cooldown_len_s)
    seg = s.segment
    if seg is None:
        return wake
    length_s = seg_len_s(seg, s.seg_extra)
    if length_s is not None:
        wake = min(wake, base + s.seg_start_t + length_s)
    for i, cue in enumerate(seg.cues):
        if i not in s.cues_fired and cue.at_s is not None:
            wake = min(wake, base + s.seg_start_t + cue.at_s)
    return max(wake, now)


def snapshot(
    s: EngineState, now: float, wall: float, machine: TreadmillState, *, session_id: int | None = None
) -> SessionSnapshot:
    t = moving_s(s, now)
    seg = s.segment
    seg_elapsed = 0.0
    seg_remaining_s: float | None = None
    seg_remaining_m: float | None = None
    progress = 0.0
    rest_after = sum(x.estimated_duration_s for x in s.plan.segments[s.seg_index + 1 :])
    cooldown_after = (
        s.settings.cooldown_s
        if not (s.plan.segments and s.plan.segments[-1].kind is SegmentKind.COOLDOWN)
        else 0.0
    )
    session_remaining: float | None = None
    index: int | None = None
    if seg is not None:
        index = s.seg_index
        seg_elapsed = t - s.seg_start_t
        progress = min(max(seg_fraction(s, now, seg), 0.0), 1.0)
        length_s = seg_len_s(seg, s.seg_extra)
        if length_s is not None:
            seg_remaining_s = max(0.0, length_s - seg_elapsed)
        elif seg.open:
            seg_remaining_s = None  # until skipped
        else:
            length_m = seg_len_m(seg, s.seg_extra) or 0.0
            seg_remaining_m = max(0.0, length_m - (s.odometer_m - s.seg_start_m))
            v = max(machine.speed_kmh or seg.mean_speed_kmh, 0.5) / 3.6
            seg_remaining_s = seg_remaining_m / v
        session_remaining = (seg_remaining_s or 0.0) + rest_after + cooldown_after
    elif s.phase is Phase.COOLDOWN and s.cooldown_start_t is not None:
        seg_elapsed = t - s.cooldown_start_t
        seg_remaining_s = max(0.0, s.cooldown_len_s - seg_elapsed)
        progress = 1.0 if s.cooldown_len_s <= 0 else min(1.0, seg_elapsed / s.cooldown_len_s)
        session_remaining = seg_remaining_s
    elif s.phase in (Phase.CONNECTING, Phase.READY, Phase.COUNTDOWN):
        session_remaining = s.plan.duration_s + cooldown_after
    countdown = None
    if s.phase is Phase.COUNTDOWN and s.countdown_until is not None:
        countdown = max(0.0, s.countdown_until - now) / s.settings.time_scale  # real seconds
    active = s.phase in ACTIVE
    return SessionSnapshot(
        at=now,
        wall=wall,
        plan=s.plan,
        phase=s.shown_phase,
        connection=s.connection,
        segment_index=index,
        segment_elapsed_s=max(0.0, seg_elapsed),
        segment_remaining_s=seg_remaining_s,
        segment_remaining_m=seg_remaining_m,
        segment_progress=progress,
        segment_extra=s.seg_extra if seg is not None else 0.0,
        session_elapsed_s=t,
        session_remaining_s=session_remaining,
        target_speed_kmh=s.speed.wanted if active else None,
        target_incline_pct=s.incline.wanted if active else None,
        speed_override_kmh=round(s.speed.override, 6),
        incline_override_pct=round(s.incline.override, 6),
        clamped=s.clamped,
        machine=machine,
        distance_m=s.odometer_m,
        ascent_m=s.ascent_m,
        energy_kcal=machine.energy_kcal,
        cue=s.cue_text if now < s.cue_until else None,
        countdown_s=countdown,
        paused_by=s.paused_by,
        stop_reason=s.stop_reason,
        session_id=session_id,
        units=s.settings.units,
        message=s.message,
        **_hr_view(s, now),
    )


def _hr_view(s: EngineState, now: float) -> dict[str, Any]:
    bpm = fresh_bpm(s, now)
    hold = hr_hold(s)
    h = s.heart
    reason = None
    if h is not None and bpm is None:
        reason = h.reason or ("stale" if h.bpm is not None else None)
    return {
        "hr_bpm": bpm,
        "hr_reason": reason,
        "hr_battery_pct": h.battery_pct if h is not None else None,
        "hr_zone": zone_of(bpm, s.settings.hr_zones),
        "hr_low_bpm": hold.low_bpm if hold is not None else None,
        "hr_high_bpm": hold.high_bpm if hold is not None else None,
        "hr_adjust": hold.adjust.value if hold is not None else None,
        "hr_action": s.hr_action.value if s.hr_action is not None else None,
    }
