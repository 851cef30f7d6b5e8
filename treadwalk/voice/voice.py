"""The voice: an ``Observer`` of the session that speaks what matters while the walker watches
their feet. Stdlib and ``treadwalk.core`` only (the synthesiser is a child process).

What it says: segment changes, the profile's cues at their moment, the count-in, the last ten
seconds of a timed segment, heart-rate events when the engine emits them; and always, loudest,
pauses, stops, a lost link or lost control, and warnings such as an unconfirmed stop.

The queue is small. A safety message goes to the front and cuts short whatever non-safety
speech is playing; a message that is stale by the time its turn comes (its segment has ended,
its moment has passed) is dropped, so the walker never hears about a segment that is over.
Every utterance, spoken or dropped, can be logged as a JSON line (``log_path``).

``on_snapshot``/``on_event`` never block; ``run()`` is the one task, supervised by the caller.
It returns once the session has ended and what was left to say (the stop) has been said.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from treadwalk.core.model import EventKind, Phase, Plan, PlanSegment, SessionEvent, SessionSnapshot

from .synth import Synthesizer
from .words import segment_text

__all__ = ["Topic", "Utterance", "Voice"]

log = logging.getLogger(__name__)


class Topic(StrEnum):
    """What an utterance is about; ``say`` in the config picks among the optional ones."""

    SEGMENTS = "segments"
    CUES = "cues"
    COUNTDOWN = "countdown"
    HEART_RATE = "heart_rate"
    SAFETY = "safety"  # always said, whatever ``say`` holds, loudest


OPTIONAL_TOPICS = (Topic.SEGMENTS, Topic.CUES, Topic.COUNTDOWN, Topic.HEART_RATE)

_SAFETY_KINDS = {
    EventKind.PAUSE,
    EventKind.STOP,
    EventKind.DISCONNECT,
    EventKind.CONTROL_LOST,
    EventKind.CONSOLE,
    EventKind.WARNING,
}
_CUE_FRESH_S = 15.0  # a cue not yet said this long after its moment is old news
_COUNT_FRESH_S = 1.0  # "two" is wrong a second later
_FINAL = (Phase.FINISHED, Phase.ABORTED)


@dataclass(frozen=True, slots=True)
class Utterance:
    at: float  # session clock time it was asked for
    topic: Topic
    text: str
    segment: int | None = None  # stale once the session is past this segment
    fresh_until: float | None = None  # stale after this session clock time
    # real (monotonic) time it was asked for: observers are called at the moment itself, so
    # speech start minus this is the voice's own latency
    queued: float = field(default_factory=time.monotonic, compare=False)

    @property
    def safety(self) -> bool:
        return self.topic is Topic.SAFETY


class Voice:
    """Speaks the session. ``synth`` speaks (see ``synth.find_synthesizer``); ``say``: the optional
    topics wanted; ``beeps_only``: a chime instead of words for everything but safety messages;
    ``units``: metric | imperial | pace | pace_imperial; ``log_path``: JSON lines of every
    utterance; ``max_queue``: non-safety utterances waiting at most (the oldest go first)."""

    def __init__(
        self,
        synth: Synthesizer,
        *,
        plan: Plan | None = None,
        units: str = "metric",
        say: Iterable[Topic | str] = OPTIONAL_TOPICS,
        beeps_only: bool = False,
        log_path: str | Path | None = None,
        max_queue: int = 3,
        end_timeout_s: float = 15.0,
        time_scale: float = 1.0,
    ) -> None:
        self.synth = synth
        self._plan = plan
        self.units = units
        self.say = frozenset(Topic(t) for t in say) | {Topic.SAFETY}
        self.beeps_only = beeps_only
        self._log_path = Path(log_path) if log_path is not None else None
        self._log: IO[str] | None = None
        self._max_queue = max(1, max_queue)
        self._end_timeout_s = end_timeout_s
        self._end_deadline: float | None = None
        # moments are real seconds for the walker: at --speedup 10 a cue is stale 10x sooner in
        # real time, so freshness windows are stretched in session time by the same factor
        self._scale = max(1.0, time_scale)
        self._t0: float | None = None
        self._queue: deque[Utterance] = deque()
        self._wake = asyncio.Event()
        self._speaking: Utterance | None = None
        self._segment: int | None = None
        self._now = 0.0
        self._ended = False
        self._ten_said: set[int] = set()
        self._count_said: set[int] = set()
        self.spoken: list[Utterance] = []  # what was said, in order (also for tests)
        self.dropped: list[tuple[Utterance, str]] = []

    # ---- Observer --------------------------------------------------------------------------

    def on_snapshot(self, snap: SessionSnapshot) -> None:
        self._now = snap.at
        if self._t0 is None:
            self._t0 = snap.at
        if snap.segment_index != self._segment:
            self._segment = snap.segment_index
        if snap.phase in _FINAL:
            self._ended = True
            self._wake.set()
            return
        if snap.phase is Phase.COUNTDOWN and snap.countdown_s is not None:
            for n in (2, 1):  # "three" is in the count-in's first sentence
                if n not in self._count_said and n - 0.5 < snap.countdown_s <= n:
                    self._count_said.add(n)
                    self._put(
                        Utterance(
                            snap.at,
                            Topic.COUNTDOWN,
                            str(n),
                            fresh_until=snap.at + _COUNT_FRESH_S * self._scale,
                        )
                    )
        seg = snap.segment
        i = snap.segment_index
        if (
            snap.phase is Phase.RUNNING
            and seg is not None
            and i is not None
            and seg.duration_s is not None
            and seg.duration_s + snap.segment_extra >= 30.0
            and snap.segment_remaining_s is not None
            and 0.0 < snap.segment_remaining_s <= 10.0
            and i not in self._ten_said
        ):
            self._ten_said.add(i)
            nxt = snap.next_segment
            then = f", then {nxt.name}" if nxt is not None and nxt.name else ""
            self._put(Utterance(snap.at, Topic.SEGMENTS, f"Ten seconds{then}.", segment=i))

    def on_event(self, event: SessionEvent) -> None:
        self._now = max(self._now, event.at)
        kind = event.kind
        data = event.data
        if kind in _SAFETY_KINDS:
            if kind is EventKind.WARNING and not _worth_saying(event):
                return
            self._put(Utterance(event.at, Topic.SAFETY, event.message))
        elif kind in (
            EventKind.RESUME,
            EventKind.RECONNECT,
            EventKind.RECORDING,
        ):  # recording: failing or back
            self._put(Utterance(event.at, Topic.SAFETY, event.message))
        elif kind is EventKind.SEGMENT:
            index = data.get("index")
            if isinstance(index, int):
                self._segment = index
                text = event.message
                plan_seg = self._plan_segment(index)
                if plan_seg is not None:
                    text = segment_text(plan_seg, self.units)
                self._put(Utterance(event.at, Topic.SEGMENTS, text, segment=index))
        elif kind is EventKind.CUE:
            index = data.get("index")
            self._put(
                Utterance(
                    event.at,
                    Topic.CUES,
                    event.message,
                    segment=index if isinstance(index, int) else None,
                    fresh_until=event.at + _CUE_FRESH_S * self._scale,
                )
            )
        elif kind is EventKind.PHASE:
            phase = data.get("phase")
            if phase == Phase.COUNTDOWN.value:
                self._count_said.clear()
                seconds = re.search(r"(\d+(?:\.\d+)?) s", event.message)
                text = f"Starting in {seconds.group(1)}." if seconds else "Starting."
                self._put(
                    Utterance(event.at, Topic.COUNTDOWN, text, fresh_until=event.at + 2.0 * self._scale)
                )
            elif phase == Phase.RUNNING.value:
                self._put(
                    Utterance(event.at, Topic.COUNTDOWN, "Go.", fresh_until=event.at + 3.0 * self._scale)
                )
            elif phase == Phase.COOLDOWN.value:
                self._put(Utterance(event.at, Topic.SEGMENTS, event.message))
        elif kind is EventKind.HEART_RATE:  # the heart-rate controller's moves
            ceiling = data.get("action") in ("ceiling", "no_reading", "ease_back")
            self._put(Utterance(event.at, Topic.SAFETY if ceiling else Topic.HEART_RATE, event.message))

    # ---- the one task ----------------------------------------------------------------------

    async def run(self) -> None:
        if self._log_path is not None:
            self._log = self._log_path.open("a", encoding="utf-8")
        try:
            while True:
                if not self._queue:
                    if self._ended:
                        return
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                item = self._queue.popleft()
                why = self._stale(item)
                if why is not None:
                    self._dropped(item, why)
                    continue
                if self._ended and self._end_deadline is None:
                    # what is left (the stop) is said, but never holds the exit for long
                    self._end_deadline = asyncio.get_running_loop().time() + self._end_timeout_s
                if self._end_deadline is None:
                    await self._speak(item)
                else:
                    try:
                        async with asyncio.timeout_at(self._end_deadline):
                            await self._speak(item)
                    except TimeoutError:
                        self._dropped(item, "no time left after the session")
                        return
                if self._ended and not self._queue:
                    return
        finally:
            for item in self._queue:
                self._dropped(item, "session ended")
            self._queue.clear()
            if self._log is not None:
                self._log.close()
                self._log = None

    async def _speak(self, item: Utterance) -> None:
        self._speaking = item
        started = time.monotonic()
        path: Path | None = None
        outcome = "spoken"
        try:
            if self.beeps_only and not item.safety:
                path = await self.synth.chime()
            else:
                path = await self.synth.speak(item.text, loud=item.safety)
        except OSError as exc:
            outcome = "failed"
            log.warning("the voice could not speak (%s)", exc)
        finally:
            self._speaking = None
        if outcome == "spoken":
            self.spoken.append(item)
        self._write(item, outcome, started_wall=started, file=path)

    # ---- the queue -------------------------------------------------------------------------

    def _plan_segment(self, index: int) -> PlanSegment | None:
        plan = self._plan
        return plan.segments[index] if plan is not None and 0 <= index < len(plan.segments) else None

    def _put(self, item: Utterance) -> None:
        if item.topic not in self.say:
            return
        if item.safety:
            # ahead of everything but other safety messages, and cut short any other speech
            at = sum(1 for q in self._queue if q.safety)
            self._queue.insert(at, item)
            speaking = self._speaking
            if speaking is not None and not speaking.safety and self.synth.interrupt():
                log.debug("cut short %r for %r", speaking.text, item.text)
        else:
            waiting = [q for q in self._queue if not q.safety]
            if len(waiting) >= self._max_queue:
                oldest = waiting[0]
                self._queue.remove(oldest)
                self._dropped(oldest, "queue full")
            self._queue.append(item)
        self._wake.set()

    def _stale(self, item: Utterance) -> str | None:
        if item.safety:
            return None
        if item.segment is not None and self._segment is not None and self._segment != item.segment:
            return "its segment is over"
        if item.fresh_until is not None and self._now > item.fresh_until:
            return "its moment has passed"
        if self._ended and item.topic is not Topic.SAFETY:
            return "session ended"
        return None

    def _dropped(self, item: Utterance, why: str) -> None:
        self.dropped.append((item, why))
        self._write(item, "dropped", why=why)

    def _write(
        self,
        item: Utterance,
        outcome: str,
        *,
        why: str | None = None,
        started_wall: float | None = None,
        file: Path | None = None,
    ) -> None:
        if self._log is None:
            return
        t0 = self._t0 or 0.0
        line: dict[str, Any] = {
            "t": round(item.at - t0, 3),
            "topic": item.topic.value,
            "text": item.text,
            "outcome": outcome,
        }
        if why is not None:
            line["why"] = why
        if started_wall is not None:
            line["latency_ms"] = round((started_wall - item.queued) * 1000, 1)
        if file is not None:
            line["file"] = str(file)
        self._log.write(json.dumps(line) + "\n")
        self._log.flush()


def _worth_saying(event: SessionEvent) -> bool:
    """Warnings that change what the walker must do (an unconfirmed stop, recording failing);
    not every retry."""
    if event.data.get("stop_confirmed") is False:
        return True
    text = event.message.lower()
    return any(word in text for word in ("press", "stop", "recording", "battery", "ceiling"))
