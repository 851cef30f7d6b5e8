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
microseconds (docs/benchmarks.md).

When the store fails (disk full, a removed drive) nothing walked is lost and nothing is raised
into the engine: samples and events are kept in memory, in order, and written again every
``retry_every_s`` of session clock; the walker is told at once through ``notify`` (an
``EventKind.RECORDING`` event with ``data["saved"]`` False, naming ``fallback_path``) and again
when the store works again (``saved`` True). If it still fails at ``finish``, the whole session
goes to ``fallback_path`` as JSON lines and ``finish`` raises a ``RecordingError`` naming it.

A session that never reached a treadmill (the final snapshot comes before any connected one) is
removed from the store: nothing was walked, so ``history`` shows nothing (``discarded``).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from treadwalk.core.errors import RecordingError
from treadwalk.core.model import (
    ConnectionState,
    EventKind,
    Phase,
    Plan,
    SessionEvent,
    SessionSnapshot,
    StopReason,
)

from .store import Sample, SessionStore

__all__ = ["Recorder", "plan_to_dict"]

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 1.0
# A snapshot this close to the interval counts as due, so a 1 Hz stream with jitter is not thinned
# to one sample every 2 s.
_INTERVAL_SLACK_S = 0.1
_MOVING_PHASES = frozenset({Phase.RUNNING, Phase.COOLDOWN})
_FINAL_PHASES = frozenset({Phase.FINISHED, Phase.ABORTED})
RETRY_EVERY_S = 5.0

# what ``notify`` is given: (kind, message, data); ``Session.notify`` fits
Notify = Callable[[EventKind, str, dict[str, Any]], None]


@dataclasses.dataclass(frozen=True, slots=True)
class _Event:
    """An event as the store takes it (kept in memory while the store fails)."""

    t: float
    kind: str
    message: str
    data: Mapping[str, Any]
    elapsed_s: float | None


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
        notify: Notify | None = None,
        fallback_dir: str | Path | None = None,
        retry_every_s: float = RETRY_EVERY_S,
    ) -> None:
        if commit_every_s < 0 or commit_every_s > SAMPLE_INTERVAL_S:
            raise ValueError("commit_every_s must be between 0 and 1 second")
        self._store = store
        self._plan = plan
        self._wall = clock_wall or time.time
        self._commit_every_s = commit_every_s
        self.notify = notify  # may be set later (the session is made after its recorder)
        # the heart-rate source's RR intervals since the last call (``HeartRate.take_rr``), kept
        # with each sample; set by the composition root when a strap is there
        self.take_rr: Callable[[], tuple[float, ...]] | None = None
        self._retry_every_s = retry_every_s
        started = self._wall()
        self._header = {
            "profile": plan.name,
            "plan": plan_to_dict(plan),
            "device": device,
            "sport": plan.intent,
            "started": started,
            "profile_source": profile_text,
        }
        self.session_id: int = store.create_session(
            profile=plan.name,
            plan=plan_to_dict(plan),
            device=device,
            sport=plan.intent,
            started=started,
            profile_source=profile_text,
        )
        store.hold_live(self.session_id)
        folder = Path(fallback_dir) if fallback_dir is not None else Path(tempfile.gettempdir())
        self.fallback_path = folder / f"treadwalk-session-{self.session_id}-{int(started)}.jsonl"
        self._finished = False
        self.discarded = False
        self.reached_treadmill = False  # a snapshot showed the treadmill connected
        self._backlog: list[Sample | _Event] = []  # what the store refused, oldest first
        self._failure: str | None = None  # the store's error while it fails
        self._last_try: float | None = None
        self._now = 0.0  # the newest clock time seen
        self._told_end = False
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

    @property
    def saved(self) -> bool:
        """Everything so far is in the store (False while the store fails)."""
        return self._failure is None and not self.discarded

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        if self._finished:
            return
        self._now = snapshot.at
        if snapshot.connection is ConnectionState.CONNECTED:
            self.reached_treadmill = True
        if snapshot.phase in _FINAL_PHASES and not self.reached_treadmill:
            self._discard()
            return
        if not self._due(snapshot):
            self._unwritten = snapshot
        else:
            self._write(snapshot)
        if snapshot.phase in _FINAL_PHASES and self._failure is not None and not self._told_end:
            self._told_end = True
            self._retry(force=True)
            if self._failure is not None:
                self._tell(
                    f"Not saved in the session store ({self._failure}): everything walked goes to "
                    f"{self.fallback_path} at the end.",
                    saved=False,
                )

    def _rr(self) -> tuple[float, ...]:
        if self.take_rr is None:
            return ()
        try:
            return tuple(self.take_rr())
        except Exception:  # a source's bug never costs the sample
            log.exception("could not take the RR intervals; the sample is kept without them")
            return ()

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
            rr_ms=self._rr(),
        )
        if self._commit_every_s > 0 and self._failure is None:
            self._write_batched(sample, snapshot.at)
        else:
            self._put(sample)
        self.samples_written += 1
        self._last_at = snapshot.at
        self._last_phase = snapshot.phase
        self._last_segment = snapshot.segment_index
        self._last_wall = snapshot.wall
        self._last_elapsed = snapshot.session_elapsed_s

    def on_event(self, event: SessionEvent) -> None:
        if self._finished:
            return
        self._now = max(self._now, event.at)
        self.flush()
        self._put(_Event(event.wall, event.kind, event.message, dict(event.data), self._last_elapsed))
        self.events_written += 1

    # -- control --------------------------------------------------------------------------------

    def flush(self) -> None:
        """Commit a batch of samples that is still open (no-op when committing per sample)."""
        if self._pending:
            batch, self._pending = self._pending, []
            if self._failure is not None:
                self._backlog.extend(batch)
                return
            try:
                self._store.add_samples(self.session_id, batch)
            except RecordingError as exc:
                self._backlog.extend(batch)
                self._failed(exc)

    def finish(self, stop_reason: StopReason | str, summary: Mapping[str, Any] | None = None) -> None:
        """Close the session with its stop reason and summary (the ``--summary-json`` content).
        A second call does nothing. If the store still fails, the session is written to
        ``fallback_path`` and ``RecordingError`` says so."""
        if self._finished:
            return
        if self._unwritten is not None:  # the last moments before the stop count too
            self._write(self._unwritten)
        self.flush()
        ended = max(self._wall(), self._last_wall or 0.0)
        self._finished = True
        summary = dict(summary or {})
        if self._failure is None or self._retry(force=True):
            try:
                self._store.finish_session(
                    self.session_id, ended=ended, stop_reason=str(stop_reason), summary=summary
                )
                self._store.release_live(self.session_id)
                return
            except RecordingError as exc:
                self._failure = _why(exc)
        self._store.release_live(self.session_id)
        self._write_fallback(ended, str(stop_reason), summary)

    def _discard(self) -> None:
        """The session ended before any treadmill answered: remove it from the store."""
        self._finished = True
        self.discarded = True
        self._pending = []
        self._backlog = []
        self._store.release_live(self.session_id)
        try:
            self._store.delete_session(self.session_id)
        except RecordingError as exc:
            log.info("could not remove the empty session %s: %s", self.session_id, exc)
        self._tell("Nothing was recorded: the treadmill never connected.", saved=False)

    # -- when the store fails -------------------------------------------------------------------

    def _put(self, item: Sample | _Event) -> None:
        """Write one sample or event, or keep it (in order) while the store fails."""
        if self._failure is not None:
            self._backlog.append(item)
            self._retry()
            return
        try:
            self._store_one(item)
        except RecordingError as exc:
            self._backlog.append(item)
            self._failed(exc)

    def _store_one(self, item: Sample | _Event) -> None:
        if isinstance(item, Sample):
            self._store.add_sample(self.session_id, item)
        else:
            self._store.add_event(
                self.session_id,
                t=item.t,
                kind=item.kind,
                message=item.message,
                data=item.data,
                elapsed_s=item.elapsed_s,
            )

    def _failed(self, exc: RecordingError) -> None:
        self._failure = _why(exc)
        self._last_try = self._now
        log.info("recording: the store failed: %s", exc)
        self._tell(
            f"Recording is failing ({self._failure}): the walk goes on and is kept in memory, "
            f"written to the store when it works again, else to {self.fallback_path} at the end.",
            saved=False,
        )

    def _retry(self, *, force: bool = False) -> bool:
        """Write the backlog again (at most every ``retry_every_s``); True once it is all in."""
        if not force and self._last_try is not None and self._now - self._last_try < self._retry_every_s:
            return False
        self._last_try = self._now
        while self._backlog:
            try:
                self._store_one(self._backlog[0])
            except RecordingError as exc:
                self._failure = _why(exc)
                return False
            self._backlog.pop(0)
        self._failure = None
        if not self._finished:
            self._tell("Recording works again: everything kept in memory is in the store.", saved=True)
        return True

    def _tell(self, message: str, *, saved: bool) -> None:
        if self.notify is None:
            return
        fallback = None if saved or self.discarded else str(self.fallback_path)
        try:
            self.notify(EventKind.RECORDING, message, {"saved": saved, "fallback": fallback})
        except Exception:
            log.exception("recording: could not tell the walker")

    def _write_fallback(self, ended: float, stop_reason: str, summary: dict[str, Any]) -> None:
        """The whole session as JSON lines: what the store has of it, then what it refused."""
        lines: list[dict[str, Any]] = [{"type": "session", "session_id": self.session_id, **self._header}]
        try:  # what did get into the store, so the file alone holds the walk
            stored: list[Sample | _Event] = [*self._store.samples(self.session_id)]
            stored += [
                _Event(e.t, e.kind, e.message, dict(e.data), e.elapsed_s)
                for e in self._store.events(self.session_id)
            ]
        except RecordingError:
            stored = []
        for item in [*stored, *self._backlog]:
            kind = "sample" if isinstance(item, Sample) else "event"
            lines.append({"type": kind, **dataclasses.asdict(item)})
        lines.append({"type": "finish", "ended": ended, "stop_reason": stop_reason, "summary": summary})
        text = "".join(json.dumps(line, default=str) + "\n" for line in lines)
        try:
            self.fallback_path.parent.mkdir(parents=True, exist_ok=True)
            self.fallback_path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise RecordingError(
                f"the session store {self._store.path} failed ({self._failure}) and {self.fallback_path} "
                f"could not be written either ({exc.strerror or exc}); free some disk space"
            ) from exc
        self._backlog = []
        raise RecordingError(
            f"the session store {self._store.path} failed ({self._failure}); everything walked is in "
            f"{self.fallback_path} (JSON lines): free some disk space and keep that file"
        )

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


def _why(exc: BaseException) -> str:
    """The store's own reason, short: "database or disk is full"."""
    cause = exc.__cause__
    return str(cause) if cause is not None and str(cause) else str(exc)
