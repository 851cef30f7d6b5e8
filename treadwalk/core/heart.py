"""What counts as a heart-rate reading: the one rule every source applies. Stdlib only.

No reading is better than a wrong one (issue 12, safety rule 6). A value is **no reading**
(``None``, with a ``HrReason``) when:

- the strap says it has no skin contact (``no_contact``; a strap that cannot tell is believed);
- it is 0 (``zero``: treadmills send 0 when no strap is paired) or 255 (``invalid``: a stuck
  value seen on straps and in FIT files);
- it is outside 30-230 bpm (``out_of_range``: optical noise off the skin);
- nothing new arrived for 5 s (``stale``), or the same frame has repeated for 30 s (``stale``
  too: a strap whose battery dies keeps sending its last value; with RR intervals a repeat
  must repeat them as well, which a living heart does not);
- there is no source at all (``no_source``: ``--hr none``, a treadmill without a heart-rate
  field, a strap not yet connected).

``HrTracker`` applies the rule to a stream of raw values (``feed``) and answers, at any clock
time, ``status(now)``: an ``HrStatus`` with the reading or the reason there is none. The
strap client, the treadmill's own field, the dashboard and the recorder all go through it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "FROZEN_AFTER_S",
    "MAX_BPM",
    "MIN_BPM",
    "STALE_AFTER_S",
    "HrReading",
    "HrReason",
    "HrSourceKind",
    "HrStatus",
    "HrTracker",
    "judge",
]

MIN_BPM = 30
MAX_BPM = 230
STALE_AFTER_S = 5.0
FROZEN_AFTER_S = 30.0
_INVALID_BPM = 255


class HrReason(enum.StrEnum):
    """Why there is no heart-rate reading."""

    NO_CONTACT = "no_contact"
    ZERO = "zero"
    INVALID = "invalid"
    OUT_OF_RANGE = "out_of_range"
    STALE = "stale"
    NO_SOURCE = "no_source"

    @property
    def text(self) -> str:
        """A few words for the dashboard (``-- bpm (no skin contact)``)."""
        return _REASON_TEXT[self]


_REASON_TEXT = {
    HrReason.NO_CONTACT: "no skin contact",
    HrReason.ZERO: "the source sends 0",
    HrReason.INVALID: "the source sends 255",
    HrReason.OUT_OF_RANGE: "outside 30-230 bpm",
    HrReason.STALE: "nothing new from the source",
    HrReason.NO_SOURCE: "no heart-rate source",
}


class HrSourceKind(enum.StrEnum):
    """Where heart rate comes from."""

    STRAP = "strap"  # a BLE Heart Rate Service device
    MACHINE = "machine"  # the treadmill's own heart-rate field (FTMS Treadmill Data)
    NONE = "none"


@dataclass(frozen=True, slots=True)
class HrReading:
    """A real, fresh heart rate. ``at``: clock time it arrived. ``rr_ms``: the RR intervals that
    came with it (may be empty). ``energy_kj``: the strap's cumulative energy, when it sends it."""

    bpm: int
    at: float
    rr_ms: tuple[float, ...] = ()
    energy_kj: int | None = None


@dataclass(frozen=True, slots=True)
class HrStatus:
    """Heart rate as the engine sees it at one moment: a reading, or why there is none.

    Exactly one of ``reading`` and ``reason`` is set. ``battery_pct`` is the strap's battery
    (None when unknown or not a strap).
    """

    reading: HrReading | None
    reason: HrReason | None
    kind: HrSourceKind = HrSourceKind.NONE
    battery_pct: int | None = None

    @property
    def bpm(self) -> int | None:
        return self.reading.bpm if self.reading is not None else None


def judge(bpm: int | None, contact: bool | None = None) -> HrReason | None:
    """Why a raw value is not a heart rate, or None when it is one (freshness aside)."""
    if bpm is None:
        return HrReason.NO_SOURCE
    if contact is False:
        return HrReason.NO_CONTACT
    if bpm == 0:
        return HrReason.ZERO
    if bpm == _INVALID_BPM:
        return HrReason.INVALID
    if not MIN_BPM <= bpm <= MAX_BPM:
        return HrReason.OUT_OF_RANGE
    return None


class HrTracker:
    """Raw values in, ``HrStatus`` out, by the module's rule. Pure: times are passed in."""

    def __init__(
        self,
        kind: HrSourceKind,
        *,
        stale_after_s: float = STALE_AFTER_S,
        frozen_after_s: float = FROZEN_AFTER_S,
    ) -> None:
        self.kind = kind
        self.stale_after_s = stale_after_s
        self.frozen_after_s = frozen_after_s
        self.battery_pct: int | None = None
        self._last_at: float | None = None  # when the last frame (of any value) arrived
        self._reason: HrReason | None = HrReason.NO_SOURCE
        self._reading: HrReading | None = None
        self._same: tuple[int, tuple[float, ...]] | None = None
        self._same_since = 0.0
        self.frames = 0
        self._rr: list[float] = []  # RR intervals of real readings, until ``take_rr``

    @property
    def latest(self) -> HrReading | None:
        """The last real reading, however old (see ``status`` for whether it is still fresh)."""
        return self._reading

    def feed(
        self,
        bpm: int | None,
        at: float,
        *,
        contact: bool | None = None,
        rr_ms: tuple[float, ...] = (),
        energy_kj: int | None = None,
    ) -> HrReason | None:
        """One raw value arrived at clock time ``at``. Returns why it is no reading (or None)."""
        self.frames += 1
        self._last_at = at
        key = (bpm if bpm is not None else -1, tuple(rr_ms))
        if key != self._same:
            self._same = key
            self._same_since = at
        reason = judge(bpm, contact)
        self._reason = reason
        if reason is None:
            assert bpm is not None
            self._reading = HrReading(bpm=bpm, at=at, rr_ms=tuple(rr_ms), energy_kj=energy_kj)
            # beat-to-beat intervals of a strap on the skin, plausible ones only (30-230 bpm)
            self._rr.extend(v for v in rr_ms if 260.0 <= v <= 2000.0)
            del self._rr[:-1000]  # nobody took them for a long while: keep the newest
        return reason

    def take_rr(self) -> tuple[float, ...]:
        """The RR intervals (ms) of real readings since the last call, oldest first."""
        out, self._rr = tuple(self._rr), []
        return out

    def lost(self) -> None:
        """The source went away (a strap disconnected): nothing until it sends again."""
        self._reason = HrReason.NO_SOURCE
        self._last_at = None
        self._same = None

    def status(self, now: float) -> HrStatus:
        reason = self._reason
        if reason is None:
            assert self._last_at is not None
            if now - self._last_at > self.stale_after_s or now - self._same_since >= self.frozen_after_s:
                reason = HrReason.STALE
        reading = self._reading if reason is None else None
        return HrStatus(reading=reading, reason=reason, kind=self.kind, battery_pct=self.battery_pct)
