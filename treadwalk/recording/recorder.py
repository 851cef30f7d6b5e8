"""The Recorder: an engine ``Observer`` that writes a session into a ``SessionStore``.

Imports only the stdlib and ``treadwalk.core``.

- ``on_snapshot``: a sample at least once per second of session clock time while the belt moves
  (phase running or cooldown, or the machine reports a speed above 0), and one at every phase or
  segment change. Each sample is committed at once (``commit_every_s=0``, the default), or
  batched for at most ``commit_every_s`` seconds of session clock time (the same as real time
  when the session runs in real time; with ``--speedup N`` a batch spans 1/N as much real time).
  A batch is committed by the next snapshot past the window, by any event, by ``flush()`` and
  by ``finish()``.
- ``on_event``: every event, committed at once (with any batched samples before it).
- ``finish(stop_reason, summary)``: writes the newest snapshot if it was not sampled yet, then
  closes the session. A session never finished shows as
  interrupted in ``history``, with everything committed before the process died.

Calls must not block the engine: a commit in WAL mode with ``synchronous=NORMAL`` costs tens of
microseconds (docs/benchmarks.md). A store error raises ``RecordingError``; the engine logs it
and keeps the belt logic running.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from treadwalk.core.model import Phase, Plan, SessionEvent, SessionSnapshot, StopReason

from .store import Sample, SessionStore

__all__ = ["Recorder", "plan_to_dict"]

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 1.0
# A snapshot this close to the interval counts as due, so a 1 Hz stream with jitter is not thinned
# to one sample every 2 s.
_INTERVAL_SLACK_S = 0.1
_MOVING_PHASES = frozenset({Phase.RUNNING, Phase.COOLDOWN})


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The plan as JSON-able data (what the store keeps; ``intent`` decides the export sport)."""

    def convert(value: Any) -> Any:
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, tuple | list):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return value

    return {k: convert(v) for k, v in dataclasses.asdict(plan).items()}


class Recorder:
    """Records one session. The engine creates it before the session starts and attaches it as an
    observer; ``session_id`` is the store's id for the session."""

    def __init__(
        self,
        store: SessionStore,
        plan: Plan,
        *,
        device: str,
        clock_wall: Callable[[], float] | None = None,
        profile_text: str | None = None,
        commit_every_s: float = 0.0,
    ) -> None:
        if commit_every_s < 0 or commit_every_s > SAMPLE_INTERVAL_S:
            raise ValueError("commit_every_s must be between 0 and 1 second")
        self._store = store
        self._plan = plan
        self._wall = clock_wall or time.time
        self._commit_every_s = commit_every_s
        self.session_id: int = store.create_session(
            profile=plan.name,
            plan=plan_to_dict(plan),
            device=device,
            sport=plan.intent,
            started=self._wall(),
            profile_source=profile_text,
        )
        store.hold_live(self.session_id)
        self._finished = False
        self._last_at: float | None = None  # clock time of the last written sample
        self._last_phase: Phase | None = None
        self._last_segment: int | None = None
        self._last_wall: float | None = None
        self._last_elapsed: float | None = None
        self._pending: list[Sample] = []  # batched samples, not yet committed
        self._batch_started = 0.0
        self._unwritten: SessionSnapshot | None = None  # the newest snapshot, if not sampled
        self.samples_written = 0
        self.events_written = 0

    @property
    def finished(self) -> bool:
        return self._finished

    # -- Observer -------------------------------------------------------------------------------

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        if self._finished:
            return
        if not self._due(snapshot):
            self._unwritten = snapshot
            return
        self._write(snapshot)

    def _write(self, snapshot: SessionSnapshot) -> None:
        self._unwritten = None
        machine = snapshot.machine
        sample = Sample(
            t=snapshot.wall,
            elapsed_s=snapshot.session_elapsed_s,
            speed_kmh=machine.speed_kmh,
            incline_pct=machine.incline_pct,
            distance_m=snapshot.distance_m,
            energy_kcal=snapshot.energy_kcal if snapshot.energy_kcal is not None else machine.energy_kcal,
            heart_rate_bpm=snapshot.heart_rate_bpm,  # real readings only: never 0 or 255
            steps=machine.steps,
            segment=snapshot.segment_index,
            target_speed_kmh=snapshot.target_speed_kmh,
            target_incline_pct=snapshot.target_incline_pct,
            phase=str(snapshot.phase),
        )
        if self._commit_every_s > 0:
            self._write_batched(sample, snapshot.at)
        else:
            self._store.add_sample(self.session_id, sample)
        self.samples_written += 1
        self._last_at = snapshot.at
        self._last_phase = snapshot.phase
        self._last_segment = snapshot.segment_index
        self._last_wall = snapshot.wall
        self._last_elapsed = snapshot.session_elapsed_s

    def on_event(self, event: SessionEvent) -> None:
        if self._finished:
            return
        self.flush()
        self._store.add_event(
            self.session_id,
            t=event.wall,
            kind=event.kind,
            message=event.message,
            data=event.data,
            elapsed_s=self._last_elapsed,
        )
        self.events_written += 1

    # -- control --------------------------------------------------------------------------------

    def flush(self) -> None:
        """Commit a batch of samples that is still open (no-op when committing per sample)."""
        if self._pending:
            batch, self._pending = self._pending, []
            self._store.add_samples(self.session_id, batch)

    def finish(self, stop_reason: StopReason | str, summary: Mapping[str, Any] | None = None) -> None:
        """Close the session with its stop reason and summary (the ``--summary-json`` content).
        A second call does nothing."""
        if self._finished:
            return
        if self._unwritten is not None:  # the last moments before the stop count too
            self._write(self._unwritten)
        self.flush()
        ended = max(self._wall(), self._last_wall or 0.0)
        self._store.finish_session(
            self.session_id, ended=ended, stop_reason=str(stop_reason), summary=dict(summary or {})
        )
        self._finished = True
        self._store.release_live(self.session_id)

    # -- internals ------------------------------------------------------------------------------

    def _due(self, s: SessionSnapshot) -> bool:
        if self._last_at is None or s.phase != self._last_phase or s.segment_index != self._last_segment:
            return True
        moving = s.phase in _MOVING_PHASES or (s.machine.speed_kmh or 0.0) > 0.0
        return moving and s.at - self._last_at >= SAMPLE_INTERVAL_S - _INTERVAL_SLACK_S

    def _write_batched(self, sample: Sample, at: float) -> None:
        if not self._pending:
            self._batch_started = at
        self._pending.append(sample)
        if at - self._batch_started >= self._commit_every_s - 1e-9:
            self.flush()
