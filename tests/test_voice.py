"""The voice: words, the queue's rules, the real synthesiser (Debian's espeak-ng writing WAV files,
measured with sox), and whole walks on the virtual treadmill through the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from treadwalk.core.model import Cue, EventKind, Phase, Plan, PlanSegment, SessionEvent, SessionSnapshot
from treadwalk.voice import (
    NoSynthesizer,
    Synthesizer,
    Topic,
    Voice,
    chime_wav,
    duration_words,
    find_synthesizer,
    plan_texts,
    segment_text,
    speed_words,
)

ESPEAK = shutil.which("espeak-ng")
SOX = shutil.which("sox")


@pytest.fixture
def needs_espeak() -> None:
    """Not a skip: scripts/test.sh installs both, and a missing one is a broken set-up."""
    if ESPEAK is None or SOX is None:
        pytest.fail("espeak-ng and sox are missing: scripts/test.sh installs them (Debian packages)")


# ---------------------------------------------------------------------------------------------
# words (pure)


@pytest.mark.parametrize(
    ("kmh", "units", "said"),
    [
        (5.8, "metric", "5.8 kilometres an hour"),
        (5.0, "metric", "5 kilometres an hour"),
        (5.8, "imperial", "3.6 miles an hour"),
        (6.0, "pace", "10 minutes per kilometre"),
        (5.8, "pace", "10 minutes 20 per kilometre"),
        (5.8, "pace_imperial", "16 minutes 40 per mile"),
    ],
)
def test_speeds_are_said_in_the_walkers_units_in_words(kmh: float, units: str, said: str) -> None:
    assert speed_words(kmh, units) == said


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (45, "45 seconds"),
        (60, "1 minute"),
        (90, "1 minute 30 seconds"),
        (125, "2 minutes"),
        (4500, "1 hour 15 minutes"),
    ],
)
def test_durations_are_rounded_for_speech(seconds: float, said: str) -> None:
    assert duration_words(seconds) == said


def test_a_segment_change_says_name_speed_incline_and_length() -> None:
    brisk = PlanSegment(name="Brisk", kind="work", speed_kmh=5.8, incline_pct=1.0, duration_s=120.0)
    assert segment_text(brisk) == "Brisk: 5.8 kilometres an hour, incline 1, 2 minutes."
    ramp = PlanSegment(
        name="Build",
        kind="work",
        speed_kmh=5.0,
        end_speed_kmh=6.5,
        incline_pct=2.0,
        end_incline_pct=0.0,
        distance_m=400,
    )
    assert segment_text(ramp, "metric") == "Build: 5 to 6.5 kilometres an hour, incline 2 to 0, 400 metres."
    assert "miles" in segment_text(ramp, "imperial")
    assert "km" not in segment_text(ramp) and "%" not in segment_text(brisk)


def test_the_plan_read_aloud_has_every_segment_and_cue() -> None:
    plan = Plan(
        name="Hills",
        segments=(
            PlanSegment(
                name="Up", kind="work", speed_kmh=5.0, incline_pct=6, duration_s=60, cues=(Cue("Lean in", 0),)
            ),
            PlanSegment(name="Down", kind="recovery", speed_kmh=4.0, duration_s=60),
        ),
    )
    assert plan_texts(plan) == [
        "Hills. 2 segments, 2 minutes.",
        "Up: 5 kilometres an hour, incline 6, 1 minute.",
        "Cue: Lean in",
        "Down: 4 kilometres an hour, flat, 1 minute.",
    ]


def test_each_platform_gets_its_own_synthesiser_command(tmp_path: Path) -> None:
    espeak = Synthesizer("espeak-ng", "/usr/bin/espeak-ng", rate_wpm=160, volume=0.5, voice="en-gb")
    assert espeak.argv("Go.") == ["/usr/bin/espeak-ng", "-s", "160", "-a", "50", "-v", "en-gb", "--", "Go."]
    assert espeak.argv("Stop.", loud=True)[4] == "150"  # safety: loudest
    say = Synthesizer("say", "/usr/bin/say", rate_wpm=180)
    assert say.argv("Go.", out=tmp_path / "a.aiff")[:5] == [
        "/usr/bin/say",
        "-r",
        "180",
        "-o",
        str(tmp_path / "a.aiff"),
    ]
    ps = Synthesizer("powershell", "powershell.exe").argv("It's done")
    assert ps[:4] == ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command"]
    assert "It''s done" in ps[4] and "System.Speech" in ps[4]


def test_no_synthesiser_is_one_sentence_with_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(NoSynthesizer, match="install espeak-ng"):
        find_synthesizer(platform="linux")


# ---------------------------------------------------------------------------------------------
# the queue, with the real synthesiser


def _plan() -> Plan:
    return Plan(
        name="q",
        segments=tuple(
            PlanSegment(name=f"Seg{i}", kind="work", speed_kmh=4.0 + i, duration_s=60.0) for i in range(3)
        ),
    )


def _snap(at: float, index: int, phase: Phase = Phase.RUNNING) -> SessionSnapshot:
    return SessionSnapshot(
        at=at, wall=at, plan=_plan(), phase=phase, segment_index=index, segment_remaining_s=50.0
    )


def _event(at: float, kind: EventKind, message: str, **data: object) -> SessionEvent:
    return SessionEvent(at, at, kind, message, data)


def _wav_seconds_and_rms(path: Path) -> tuple[float, float]:
    assert SOX is not None
    out = subprocess.run([SOX, str(path), "-n", "stat"], capture_output=True, text=True, check=True).stderr
    length = float(re.search(r"Length \(seconds\):\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    rms = float(re.search(r"RMS\s+amplitude:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return length, rms


@pytest.mark.usefixtures("needs_espeak")
async def test_a_burst_keeps_the_safety_ones_first_and_drops_the_stale(tmp_path: Path) -> None:
    synth = find_synthesizer(out_dir=tmp_path)
    log = tmp_path / "voice.jsonl"
    voice = Voice(synth, plan=_plan(), log_path=log, max_queue=2)
    voice.on_snapshot(_snap(0.0, 0))
    voice.on_event(_event(0.0, EventKind.SEGMENT, "Seg0", index=0))
    for i in range(4):  # a pile of cues in segment 0: only the last two can wait
        voice.on_event(_event(1.0 + i, EventKind.CUE, f"cue {i}", index=0))
    voice.on_event(_event(5.0, EventKind.PAUSE, "Paused."))
    voice.on_event(_event(6.0, EventKind.SEGMENT, "Seg1", index=1))
    voice.on_snapshot(_snap(6.0, 1))  # segment 0 is over before its last cues get their turn
    voice.on_event(_event(7.0, EventKind.STOP, "Stopped.", reason="user"))
    voice.on_snapshot(_snap(8.0, 1, Phase.ABORTED))
    await asyncio.wait_for(voice.run(), 60)

    said = [u.text for u in voice.spoken]
    assert said[:2] == ["Paused.", "Stopped."]  # safety first, in order, before everything else
    assert "Seg0" not in " ".join(said)  # its segment ended before its turn: dropped, not said late
    assert not any(t.startswith("cue") for t in said)
    why = {u.text: w for u, w in voice.dropped}
    assert why["cue 0"] == why["cue 1"] == "queue full"
    assert why["cue 3"] == "its segment is over"
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert sorted(x["outcome"] for x in lines).count("spoken") == len(said)
    for line in lines:
        if line["outcome"] == "spoken":
            length, rms = _wav_seconds_and_rms(Path(line["file"]))
            assert length > 0.3, line
            assert rms > 0.01, line  # real speech, not silence


@pytest.fixture
def long_speech(tmp_path: Path) -> str:
    """A stand-in for the synthesiser while it plays a long sentence (this machine has no sound
    card to play to): the one part below the lowest real layer that can run here."""
    path = tmp_path / "slow-espeak"
    path.write_text("#!/bin/sh\nexec sleep 30\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.usefixtures("needs_espeak")
async def test_a_safety_message_cuts_short_a_long_one(long_speech: str) -> None:
    synth = find_synthesizer()
    synth.path = long_speech  # speech as long as it takes to hear a 30 s sentence, on no sound card
    voice = Voice(synth, plan=_plan())
    voice.on_snapshot(_snap(0.0, 0))
    voice.on_event(_event(0.0, EventKind.SEGMENT, "Seg0", index=0))
    task = asyncio.create_task(voice.run(), name="voice")
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0.5)
    t0 = loop.time()
    voice.on_event(_event(1.0, EventKind.DISCONNECT, "The link to the treadmill dropped."))
    voice.on_snapshot(_snap(2.0, 0, Phase.ABORTED))
    with pytest.raises(TimeoutError):  # the (fake-slow) safety message itself is bounded at the end
        async with asyncio.timeout(3):
            await asyncio.shield(task)
    assert loop.time() - t0 < 3.5
    assert voice._speaking is not None and voice._speaking.topic is Topic.SAFETY  # cut in: now speaking
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_a_chime_is_a_real_sound(tmp_path: Path) -> None:
    path = chime_wav(tmp_path / "chime.wav")
    if SOX is None:
        pytest.fail("sox is missing: scripts/test.sh installs it")
    length, rms = _wav_seconds_and_rms(path)
    assert 0.2 < length < 0.3
    assert rms > 0.05


# ---------------------------------------------------------------------------------------------
# whole walks through the CLI (real processes, real time at a high speedup)

PROFILE = """
name = "Voice walk"
intent = "walking"

[[segment]]
name = "Easy"
duration = "40s"
speed = 4.0
cues = [{ at = "5s", text = "Tall posture" }]

[[segment]]
name = "Brisk"
duration = "40s"
speed = 5.5
incline = 1
cues = [{ at = "5s", text = "Quick steps" }]

[[segment]]
name = "Last"
duration = "30s"
speed = 4.5
"""


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["TREADWALK_CONFIG"] = str(tmp_path / "no-config.toml")
    env["TREADWALK_DATA_DIR"] = str(tmp_path / "data")
    env.update(extra)
    return env


def _walk(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "voice.toml"
    profile.write_text(PROFILE)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "treadwalk",
            "run",
            str(profile),
            "--sim",
            "--speedup",
            "20",
            "--yes",
            "--no-dashboard",
            "--cooldown",
            "0",
            *args,
        ],
        capture_output=True,
        text=True,
        env=env or _env(tmp_path),
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.slow
@pytest.mark.usefixtures("needs_espeak")
def test_a_walk_says_each_segment_and_cue_in_order_none_stale(tmp_path: Path) -> None:
    out_dir = tmp_path / "speech"
    out_dir.mkdir()
    log = tmp_path / "voice.jsonl"
    done = _walk(tmp_path, "--voice", "--voice-out", str(out_dir), "--voice-log", str(log))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    spoken = [x["text"] for x in lines if x["outcome"] == "spoken"]
    expected = [
        "Starting in 3.",
        "2",
        "1",
        "Go.",
        "Easy: 4 kilometres an hour, flat, 40 seconds.",
        "Tall posture",
        "Ten seconds, then Brisk.",
        "Brisk: 5.5 kilometres an hour, incline 1, 40 seconds.",
        "Quick steps",
        "Ten seconds, then Last.",
        "Last: 4.5 kilometres an hour, flat, 30 seconds.",
        "Ten seconds.",
        "Workout complete.",
    ]
    assert spoken == expected
    assert [x["t"] for x in lines] == sorted(x["t"] for x in lines)
    for line in lines:
        length, rms = _wav_seconds_and_rms(Path(line["file"]))
        assert length > 0.2 and rms > 0.01, line


@pytest.mark.slow
def test_no_synthesiser_is_one_sentence_and_the_walk_goes_on(tmp_path: Path) -> None:
    done = _walk(tmp_path, "--voice", env=_env(tmp_path, PATH="/nonexistent"))
    assert done.returncode == 0, done.stderr
    err = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(err) == 1
    assert "no speech synthesiser found" in err[0] and "walk goes on without voice" in err[0]
    assert "Workout complete." in done.stdout


def test_voice_flags_without_voice_are_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "treadwalk", "run", "demo", "--sim", "--voice-log", str(tmp_path / "x.jsonl")],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert "need --voice" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.usefixtures("needs_espeak")
async def test_heart_rate_moves_are_said_and_the_ceiling_is_a_safety_message(tmp_path: Path) -> None:
    voice = Voice(find_synthesizer(out_dir=tmp_path), plan=_plan(), say=("segments",))
    voice.on_snapshot(_snap(0.0, 0))
    voice.on_event(
        _event(1.0, EventKind.HEART_RATE, "Heart rate 118, low in 120-130: speed 5.4.", action="raise")
    )
    voice.on_event(
        _event(2.0, EventKind.HEART_RATE, "Easing off: heart rate 161 above 155.", action="ceiling")
    )
    voice.on_snapshot(_snap(3.0, 0, Phase.ABORTED))
    await asyncio.wait_for(voice.run(), 30)
    # heart_rate is not in `say`: the ordinary move is not said, the ceiling (safety) always is
    assert [u.text for u in voice.spoken] == ["Easing off: heart rate 161 above 155."]
    assert voice.spoken[0].topic is Topic.SAFETY
