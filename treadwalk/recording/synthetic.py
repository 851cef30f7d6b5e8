"""A synthetic session, as the engine would report it: for benchmarks, tests and the crash test.
Stdlib and ``treadwalk.core`` only.

``synthetic_plan(minutes)`` builds a walking plan (warm-up, intervals with incline, recovery,
a distance segment, cool-down); ``synthetic_session(plan, ...)`` yields the snapshots and events
an engine would send while playing it on an ideal belt: countdown, running, an optional pause,
every segment, finished.
"""

from __future__ import annotations

from collections.abc import Iterator

from treadwalk.core.model import (
    BeltState,
    ConnectionState,
    EventKind,
    Phase,
    Plan,
    PlanSegment,
    SegmentKind,
    SessionEvent,
    SessionSnapshot,
    StopReason,
    TreadmillState,
)

__all__ = ["STEP_LENGTH_M", "synthetic_plan", "synthetic_session"]

STEP_LENGTH_M = 0.7


def synthetic_plan(minutes: float = 10.0, *, intent: str = "walking") -> Plan:
    """A plan of about ``minutes`` minutes: 10% warm-up, alternating work/recovery, one 200 m
    distance segment, 10% cool-down."""
    total = minutes * 60.0
    warm = cool = total * 0.1
    middle = max(60.0, total - warm - cool - 200 / (5.0 / 3.6))
    segments = [PlanSegment("Warm-up", SegmentKind.WARMUP, 4.0, 0.0, duration_s=warm, end_speed_kmh=5.0)]
    n = max(1, int(middle // 120))
    for i in range(n):
        kind = SegmentKind.WORK if i % 2 == 0 else SegmentKind.RECOVERY
        speed, incline = (6.0, 6.0) if kind == "work" else (4.5, 1.0)
        segments.append(
            PlanSegment(f"{kind.title()} {i // 2 + 1}", kind, speed, incline, duration_s=middle / n)
        )
    segments.append(PlanSegment("Steady 200 m", SegmentKind.WORK, 5.0, 2.0, distance_m=200.0))
    segments.append(
        PlanSegment("Cool-down", SegmentKind.COOLDOWN, 4.5, 0.0, duration_s=cool, end_speed_kmh=3.5)
    )
    return Plan(name="Synthetic walk", segments=tuple(segments), intent=intent)


def synthetic_session(
    plan: Plan,
    *,
    rate_hz: float = 1.0,
    wall_start: float = 1_767_225_600.0,
    countdown_s: float = 3.0,
    pause_at_s: float | None = None,
    pause_s: float = 0.0,
    heart_rate: bool = True,
    steps: bool = True,
) -> Iterator[SessionSnapshot | SessionEvent]:
    """Yield what the engine sends, in order. Clock time starts at 0; wall at ``wall_start``."""
    dt = 1.0 / rate_hz
    clock = 0.0
    moving = 0.0
    distance = 0.0
    energy = 0.0

    def snap(phase: Phase, index: int | None, seg_elapsed: float, speed: float, incline: float,
             target: tuple[float | None, float | None]) -> SessionSnapshot:  # fmt: skip
        machine = TreadmillState(
            at=clock,
            speed_kmh=round(speed, 2),
            incline_pct=round(incline, 1),
            distance_m=round(distance, 1),
            elapsed_s=round(moving),
            energy_kcal=round(energy, 1),
            heart_rate_bpm=(int(90 + 50 * min(1.0, moving / 900)) if heart_rate else None),
            steps=int(distance / STEP_LENGTH_M) if steps else None,
            belt=BeltState.RUNNING if speed > 0 else BeltState.STOPPED,
        )
        return SessionSnapshot(
            at=clock,
            wall=wall_start + clock,
            plan=plan,
            phase=phase,
            connection=ConnectionState.CONNECTED,
            segment_index=index,
            segment_elapsed_s=seg_elapsed,
            session_elapsed_s=moving,
            target_speed_kmh=target[0],
            target_incline_pct=target[1],
            machine=machine,
            distance_m=distance,
            ascent_m=0.0,
            energy_kcal=energy,
        )

    def event(kind: EventKind, message: str, **data: object) -> SessionEvent:
        return SessionEvent(at=clock, wall=wall_start + clock, kind=kind, message=message, data=data)

    yield event(EventKind.PHASE, "countdown")
    while clock < countdown_s:
        yield snap(Phase.COUNTDOWN, None, 0.0, 0.0, 0.0, (None, None))
        clock += dt
    yield event(EventKind.PHASE, "running")
    paused_done = pause_at_s is None
    for index, seg in enumerate(plan.segments):
        yield event(EventKind.SEGMENT, f"segment {index + 1}: {seg.name}", index=index, name=seg.name)
        seg_elapsed = 0.0
        seg_distance = 0.0
        while True:
            if seg.duration_s is not None or seg.open:
                length_s = seg.estimated_duration_s  # an open segment: skipped after its estimate
                fraction = seg_elapsed / length_s
                if seg_elapsed >= length_s - 1e-9:
                    break
            else:
                assert seg.distance_m is not None
                fraction = seg_distance / seg.distance_m
                if seg_distance >= seg.distance_m - 1e-9:
                    break
            if not paused_done and pause_at_s is not None and moving >= pause_at_s:
                paused_done = True
                yield event(EventKind.PAUSE, "paused by the walker", by="user")
                end = clock + pause_s
                while clock < end:
                    yield snap(Phase.PAUSED, index, seg_elapsed, 0.0, seg.incline_at(fraction), (0.0, None))
                    clock += dt
                yield event(EventKind.RESUME, "resumed")
            speed, incline = seg.speed_at(fraction), seg.incline_at(fraction)
            phase = Phase.COOLDOWN if seg.kind == "cooldown" else Phase.RUNNING
            yield snap(phase, index, seg_elapsed, speed, incline, (speed, incline))
            clock += dt
            moving += dt
            seg_elapsed += dt
            step = speed / 3.6 * dt
            distance += step
            seg_distance += step
            energy += dt / 60.0 * (0.8 * speed + 0.3 * max(incline, 0.0))
    yield snap(Phase.FINISHED, len(plan.segments) - 1, 0.0, 0.0, 0.0, (0.0, 0.0))
    yield event(EventKind.STOP, "finished", reason=str(StopReason.FINISHED))
