"""Where the machine captures live (not a test module). python-kasa's habit: every capture is a
test case of the codec (tests/test_captures_cli.py) and of the client (tests/test_capture_replay.py).

- ``fixtures/captures/virtual/``: the virtual treadmill in strict mode and with each quirk preset,
  written by ``scripts/capture_sim.py``. Their manufacturer is ``treadwalk``.
- ``fixtures/captures/real/``: real treadmills, written by ``treadwalk info --capture`` (see that
  folder's README.md). Any ``.json`` dropped there is picked up by every capture test.
"""

from __future__ import annotations

from pathlib import Path

CAPTURES = Path(__file__).resolve().parent / "fixtures" / "captures"
VIRTUAL_DIR = CAPTURES / "virtual"
REAL_DIR = CAPTURES / "real"

VIRTUAL = sorted(VIRTUAL_DIR.glob("*.json"))
REAL = sorted(REAL_DIR.glob("*.json"))
ALL = VIRTUAL + REAL


def capture_id(path: Path) -> str:
    """A test id that says which kind of machine a capture came from: ``virtual/...``, ``real/...``."""
    return f"{path.parent.name}/{path.stem}"
