"""The platform's own speech synthesiser, run as a child process so speech never blocks the loop.
Stdlib only.

- Linux: ``espeak-ng`` (Debian's package ``espeak-ng``), or ``espeak``.
- macOS: ``say``.
- Windows: the system voice through PowerShell's ``System.Speech``.

With ``out_dir`` every utterance is written to a numbered WAV (AIFF with ``say``) file instead of
played: for tests, and for a walker who wants to hear what a profile will say. A chime (for
``beeps_only``) is a short WAV made here with the stdlib and played by the platform's player.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import shutil
import struct
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

from treadwalk.core.errors import TreadwalkError

__all__ = ["NoSynthesizer", "Synthesizer", "chime_wav", "find_synthesizer"]

_INSTALL = {
    "linux": "install espeak-ng (Debian/Ubuntu: sudo apt install espeak-ng; Fedora: sudo dnf install espeak-ng)",
    "darwin": "macOS's 'say' was not found on PATH",
    "win32": "PowerShell was not found on PATH",
}


class NoSynthesizer(TreadwalkError):
    """No speech synthesiser on this machine; the message says how to get one."""


def chime_wav(
    path: Path, *, frequency_hz: float = 880.0, duration_s: float = 0.25, volume: float = 0.6
) -> Path:
    """A short sine chime with a soft attack and decay, as 16-bit mono WAV."""
    rate = 22050
    n = int(rate * duration_s)
    frames = bytearray()
    for i in range(n):
        envelope = min(1.0, i / (0.01 * rate)) * (1.0 - i / n)
        sample = volume * envelope * math.sin(2 * math.pi * frequency_hz * i / rate)
        frames += struct.pack("<h", int(sample * 32767))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path


@dataclass
class Synthesizer:
    """Speaks one text at a time. ``speak`` returns when the speech ended (or was cut short by
    ``interrupt``); the path of the file written when ``out_dir`` is set."""

    program: str  # espeak-ng | espeak | say | powershell
    path: str
    rate_wpm: int = 175
    volume: float = 1.0  # 0..1 of the synthesiser's normal loudness
    voice: str | None = None
    out_dir: Path | None = None
    player: str | None = None  # for chimes: aplay, paplay, afplay, play
    _count: int = 0
    _proc: asyncio.subprocess.Process | None = None

    def argv(self, text: str, *, loud: bool = False, out: Path | None = None) -> list[str]:
        volume = 1.0 if loud else max(0.0, min(self.volume, 1.0))
        if self.program in ("espeak-ng", "espeak"):
            argv = [
                self.path,
                "-s",
                str(self.rate_wpm),
                "-a",
                str(round(volume * 100 * (1.5 if loud else 1))),
            ]
            if self.voice:
                argv += ["-v", self.voice]
            if out is not None:
                argv += ["-w", str(out)]
            return [*argv, "--", text]
        if self.program == "say":
            argv = [self.path, "-r", str(self.rate_wpm)]
            if self.voice:
                argv += ["-v", self.voice]
            if out is not None:
                argv += ["-o", str(out)]
            return [*argv, "--", f"[[volm {volume:.2f}]] {text}"]
        # Windows: System.Speech; the text goes through an environment-free argument, quoted
        quoted = text.replace("'", "''")
        target = f"$s.SetOutputToWaveFile('{out}');" if out is not None else ""
        rate = max(-10, min(10, round((self.rate_wpm - 175) / 15)))
        voice = f"$s.SelectVoice('{self.voice}');" if self.voice else ""
        script = (
            "Add-Type -AssemblyName System.Speech;"
            "$s = New-Object System.Speech.Synthesis.SpeechSynthesizer;"
            f"$s.Rate = {rate}; $s.Volume = {round(volume * 100)};{voice}{target}$s.Speak('{quoted}')"
        )
        return [self.path, "-NoProfile", "-NonInteractive", "-Command", script]

    def _next_file(self, suffix: str) -> Path | None:
        if self.out_dir is None:
            return None
        self._count += 1
        return self.out_dir / f"{self._count:04d}{suffix}"

    async def speak(self, text: str, *, loud: bool = False) -> Path | None:
        out = self._next_file(".aiff" if self.program == "say" else ".wav")
        await self._run(self.argv(text, loud=loud, out=out))
        return out

    async def chime(self) -> Path | None:
        out = self._next_file(".wav")
        if out is not None:
            chime_wav(out)
            return out
        if self.player is None:
            return None
        with tempfile.TemporaryDirectory(prefix="treadwalk-chime-") as tmp:
            path = chime_wav(Path(tmp) / "chime.wav")
            await self._run([self.player, str(path)])
        return None

    async def _run(self, argv: list[str]) -> None:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._proc = proc
        try:
            _, err = await proc.communicate()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(Exception):
                await proc.wait()
            raise
        finally:
            self._proc = None
        if proc.returncode not in (0, -15, -9) and err:
            raise OSError(f"{Path(argv[0]).name} failed: {err.decode(errors='replace').strip()[:200]}")

    def interrupt(self) -> bool:
        """Cut the speech now (a safety message must not wait behind a segment's). True if cut."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return False
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        return True


def find_synthesizer(
    *,
    rate_wpm: int = 175,
    volume: float = 1.0,
    voice: str | None = None,
    out_dir: Path | None = None,
    platform: str | None = None,
) -> Synthesizer:
    """The platform's synthesiser, or ``NoSynthesizer`` saying how to install one."""
    platform = platform or sys.platform
    if platform == "darwin":
        names = ["say"]
    elif platform == "win32":
        names = ["powershell", "pwsh"]
    else:
        names = ["espeak-ng", "espeak"]
    for name in names:
        path = shutil.which(name)
        if path is not None:
            player = next(
                (p for p in ("paplay", "aplay", "afplay", "play") if shutil.which(p) is not None), None
            )
            return Synthesizer(
                program="powershell" if name == "pwsh" else name,
                path=path,
                rate_wpm=rate_wpm,
                volume=volume,
                voice=voice,
                out_dir=out_dir,
                player=player,
            )
    key = "linux" if platform not in _INSTALL else platform
    raise NoSynthesizer(f"no speech synthesiser found ({_INSTALL[key]})")
