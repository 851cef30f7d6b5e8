"""Spoken cues: segment changes, form cues, the count-in and every safety message, from the
platform's own speech synthesiser, so the walker can watch their stride instead of a screen.

Imported only with ``--voice`` (or ``profiles show --speak``). Stdlib and ``treadwalk.core`` only.
"""

from .synth import NoSynthesizer, Synthesizer, chime_wav, find_synthesizer
from .voice import OPTIONAL_TOPICS, Topic, Utterance, Voice
from .words import duration_words, plan_texts, segment_text, speed_words

__all__ = [
    "OPTIONAL_TOPICS",
    "NoSynthesizer",
    "Synthesizer",
    "Topic",
    "Utterance",
    "Voice",
    "chime_wav",
    "duration_words",
    "find_synthesizer",
    "plan_texts",
    "segment_text",
    "speed_words",
]
