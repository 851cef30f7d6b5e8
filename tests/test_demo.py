"""`treadwalk demo` in a real terminal (tmux): keys take effect, the belt stops, the terminal is
restored after q, Ctrl+C and SIGTERM. Every wait is bounded; each test kills its own tmux server.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from treadwalk.cli.demo import run_argv

ROOT = Path(__file__).resolve().parent.parent
OVERRIDE = re.compile(r"\(\+0\.[456] yours\)")
TREADWALK = Path(sys.executable).parent / "treadwalk"

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _needs_tmux() -> None:
    if shutil.which("tmux") is None:  # a failure, not a skip: the terminal is what these tests are about
        pytest.fail("tmux is not installed: run scripts/test.sh, which installs it")


class Tmux:
    """One private tmux server running one command in a 100x30 pane."""

    def __init__(self, tmp: Path) -> None:
        self.socket = str(tmp / "tmux.sock")
        self.tmp = tmp

    def __call__(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-S", self.socket, *args], capture_output=True, text=True, timeout=10, check=True
        )
        return out.stdout

    def start(self, command: str) -> None:
        self("new-session", "-d", "-s", "t", "-x", "100", "-y", "30", command)

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "t")

    def pane(self, fmt: str) -> str:
        return self("display-message", "-p", "-t", "t", fmt).strip()

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", "t", *keys)

    def wait_for(self, what: str | Callable[[str], bool], timeout: float = 30.0) -> str:
        test = what if callable(what) else (lambda screen: what in screen)
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if test(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"waited {timeout:g} s for {what!r}; the screen:\n{screen}")

    def kill(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    t = Tmux(tmp_path)
    try:
        yield t
    finally:
        t.kill()


def demo_command(tmp: Path, *extra: str) -> str:
    """The pane runs a shell that records the terminal mode before and after the demo."""
    env = {
        "TREADWALK_DATA_DIR": str(tmp / "data"),
        "TREADWALK_CONFIG": str(tmp / "no-config.toml"),
        "TERM": "xterm-256color",
    }
    demo = " ".join(
        shlex.quote(x) for x in [str(TREADWALK), "demo", "--summary-json", str(tmp / "summary.json"), *extra]
    )
    script = (
        f"cd {shlex.quote(str(ROOT))}; stty -g > {tmp}/stty.before; "
        f"{demo}; echo $? > {tmp}/rc; stty -g > {tmp}/stty.after; echo DEMO-EXITED; sleep 600"
    )
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    return f"env {exports} bash -c {shlex.quote(script)}"


def wait_exit(tmux: Tmux, tmp: Path, timeout: float = 60.0) -> int:
    tmux.wait_for("DEMO-EXITED", timeout)
    return int((tmp / "rc").read_text().strip())


def assert_terminal_restored(tmux: Tmux, tmp: Path) -> None:
    assert (tmp / "stty.before").read_text() == (tmp / "stty.after").read_text()
    assert tmux.pane("#{alternate_on}") == "0"  # out of the alternate screen
    assert tmux.pane("#{cursor_flag}") == "1"  # cursor shown


def target_line(screen: str) -> str:
    return next(line for line in screen.splitlines() if line.lstrip("▲▼ ").startswith("target "))


def test_demo_is_run_demo_on_the_sim() -> None:
    from treadwalk.cli import build_parser

    args = build_parser().parse_args(["demo"])
    assert run_argv(args) == ["run", "demo", "--sim", "--speedup", "10", "--fit-to-caps"]
    args = build_parser().parse_args(["demo", "--speedup", "1", "--units", "imperial", "--yes"])
    assert run_argv(args) == [
        "run",
        "demo",
        "--sim",
        "--speedup",
        "1",
        "--fit-to-caps",
        "--units",
        "imperial",
        "--yes",
    ]


def test_demo_import_does_not_pull_rich() -> None:
    code = "import sys, treadwalk.cli.demo; print('rich' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_demo_keys_take_effect_and_q_stops_the_belt(tmux: Tmux, tmp_path: Path) -> None:
    # x2 rather than the demo's x10: the keys below must land inside one segment (an override is
    # held until its segment ends), whatever the load on the machine running the test
    tmux.start(demo_command(tmp_path, "--speedup", "2"))
    screen = tmux.wait_for("Enter  to start the belt")
    assert "READY" in screen
    assert tmux.pane("#{alternate_on}") == "1"  # the dashboard has the screen
    assert tmux.pane("#{cursor_flag}") == "0"
    tmux.keys("Enter")
    tmux.wait_for(lambda s: "RUNNING" in s and "you are here" in s)

    tmux("resize-window", "-t", "t", "-x", "80", "-y", "24")  # resizes live, and 80x24 holds it all
    screen = tmux.wait_for(
        lambda s: (
            "SPEED km/h" in s and "x  STOP NOW" in s.splitlines()[23 if len(s.splitlines()) > 23 else -1]
        )
    )
    assert "you are here" in screen
    tmux("resize-window", "-t", "t", "-x", "100", "-y", "30")

    tmux.keys("Space")
    screen = tmux.wait_for("PAUSED")
    assert "space resume" in screen  # the help line offers what space does now
    tmux.keys("Space")
    tmux.wait_for("RUNNING")

    # Overrides show next to the targets (on a ramp the grid may make +0.5 read +0.4 or +0.6).
    tmux.keys("+")
    screen = tmux.wait_for(lambda s: len(OVERRIDE.findall(target_line(s))) == 1)
    tmux.keys("]")
    screen = tmux.wait_for(lambda s: len(OVERRIDE.findall(target_line(s))) == 2)  # speed and incline

    tmux.keys("q")
    tmux.wait_for("Stop the session?  q or y: stop")
    tmux.keys("q")  # confirmed: cool-down, then stop
    tmux.wait_for("COOL-DOWN")
    tmux.keys("q")
    tmux.wait_for("Stop the session?")
    tmux.keys("y")  # confirmed again: stop now
    rc = wait_exit(tmux, tmp_path)
    screen = tmux.screen()
    assert rc == 0, screen
    assert "Session summary · stopped by you" in screen
    assert "Saved as session 1" in screen
    assert_terminal_restored(tmux, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["stop_reason"] == "user"
    assert summary["max_speed_kmh"] >= 0.5  # the belt moved...

    from treadwalk.recording import SessionStore

    store = SessionStore(tmp_path / "data" / "sessions.db")
    try:
        kinds = [(e.kind, e.message) for e in store.events(summary["session_id"])]
        info = store.get_session(summary["session_id"])
    finally:
        store.close()
    assert any(k == "override" and "Speed" in m for k, m in kinds)
    assert any(k == "override" and "Incline" in m for k, m in kinds)
    assert any(k == "pause" for k, _ in kinds)
    assert kinds[-1][0] == "stop"  # ...and the last thing it did was stop
    assert info.status == "finished"


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_demo_restores_the_terminal_on_ctrl_c_and_sigterm(tmux: Tmux, tmp_path: Path, how: str) -> None:
    tmux.start(demo_command(tmp_path))
    tmux.wait_for("Enter  to start the belt")
    tmux.keys("Enter")
    tmux.wait_for("RUNNING")
    if how == "ctrl-c":
        tmux.keys("C-c")
    else:
        shell = int(tmux.pane("#{pane_pid}"))
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(shell)], capture_output=True, text=True, check=True
        )
        (pid,) = [int(x) for x in out.stdout.split()]
        os.kill(pid, signal.SIGTERM)
    rc = wait_exit(tmux, tmp_path)
    assert rc == 0, tmux.screen()
    assert_terminal_restored(tmux, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["stop_reason"] == "user"  # an emergency stop, recorded
