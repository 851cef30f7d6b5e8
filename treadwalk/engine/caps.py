"""The walker's caps against a plan, before the belt starts. Pure; stdlib and treadwalk.core only.

A plan that goes above ``--max-speed``/``--max-incline`` (or the config's caps) is refused by
default with one sentence saying what to do; with ``--fit-to-caps`` it is scaled down instead:
every speed is multiplied by ``cap / plan maximum`` (so intervals stay intervals, only slower),
and every positive incline likewise by its own factor. Nothing is ever scaled up.
"""

from __future__ import annotations

from dataclasses import replace

from treadwalk.core.errors import UsageError
from treadwalk.core.model import Limits, Plan, PlanSegment

__all__ = ["CapsExceeded", "check_caps", "fit_to_caps", "over_caps"]

_EPS = 1e-9


class CapsExceeded(UsageError):
    """The plan asks for more than the walker allows (exit 2, before anything connects)."""


def over_caps(plan: Plan, limits: Limits) -> str | None:
    """One sentence when ``plan`` goes above ``limits``; None when it fits."""
    parts: list[str] = []
    flags: list[str] = []
    if limits.max_speed_kmh is not None and plan.max_speed_kmh > limits.max_speed_kmh + _EPS:
        parts.append(f"{plan.max_speed_kmh:g} km/h (your cap is {limits.max_speed_kmh:g})")
        flags.append("--max-speed")
    if limits.max_incline_pct is not None and _max_incline(plan) > limits.max_incline_pct + _EPS:
        parts.append(f"{_max_incline(plan):g} % incline (your cap is {limits.max_incline_pct:g})")
        flags.append("--max-incline")
    if not parts:
        return None
    return (
        f"The profile '{plan.name}' goes up to {' and '.join(parts)}; run again with --fit-to-caps "
        f"to scale it down to your caps, or raise {' / '.join(flags)}."
    )


def check_caps(plan: Plan, limits: Limits, *, fit: bool = False) -> tuple[Plan, str | None]:
    """The plan to play and a note for the walker when it was scaled.

    Raises ``CapsExceeded`` when the plan is above the caps and ``fit`` is false.
    """
    problem = over_caps(plan, limits)
    if problem is None:
        return plan, None
    if not fit:
        raise CapsExceeded(problem)
    fitted = fit_to_caps(plan, limits)
    notes: list[str] = []
    if fitted.max_speed_kmh < plan.max_speed_kmh - _EPS:
        notes.append(f"speeds x{fitted.max_speed_kmh / plan.max_speed_kmh:.2f}")
    if _max_incline(fitted) < _max_incline(plan) - _EPS:
        notes.append(f"inclines x{_max_incline(fitted) / _max_incline(plan):.2f}")
    return fitted, f"Scaled '{plan.name}' to your caps: {', '.join(notes)}."


def fit_to_caps(plan: Plan, limits: Limits) -> Plan:
    """``plan`` scaled down (never up) so that no segment goes above ``limits``."""
    speed_factor = 1.0
    if limits.max_speed_kmh is not None and plan.max_speed_kmh > limits.max_speed_kmh:
        speed_factor = limits.max_speed_kmh / plan.max_speed_kmh
    top = _max_incline(plan)
    incline_factor = 1.0
    if limits.max_incline_pct is not None and top > limits.max_incline_pct:
        incline_factor = max(limits.max_incline_pct, 0.0) / top if top > 0 else 1.0

    def speed(v: float) -> float:
        return round(v * speed_factor, 3)

    def incline(v: float) -> float:
        out = round(v * incline_factor, 3) if v > 0 else v
        if limits.max_incline_pct is not None:
            out = min(out, limits.max_incline_pct)
        return out

    def scaled(seg: PlanSegment) -> PlanSegment:
        return replace(
            seg,
            speed_kmh=min(speed(seg.speed_kmh), limits.max_speed_kmh or float("inf")),
            end_speed_kmh=None
            if seg.end_speed_kmh is None
            else min(speed(seg.end_speed_kmh), limits.max_speed_kmh or float("inf")),
            incline_pct=incline(seg.incline_pct),
            end_incline_pct=None if seg.end_incline_pct is None else incline(seg.end_incline_pct),
        )

    return replace(plan, segments=tuple(scaled(s) for s in plan.segments))


def _max_incline(plan: Plan) -> float:
    return max(
        (
            max(s.incline_pct, s.end_incline_pct if s.end_incline_pct is not None else s.incline_pct)
            for s in plan.segments
        ),
        default=0.0,
    )
