"""The walk afterwards: ``history show`` charts, ``history compare`` and the SVG/PNG export, on
walks recorded through the real stack (tests/walks.py: engine -> FtmsTreadmill -> bleak -> the
Bumble radio -> the virtual treadmill, in virtual time) with a console speed change, a skipped
segment, a pause inside a distance segment and a stop on the console.

Text snapshots live in tests/snapshots/ (``TREADWALK_REGEN=1`` rewrites them; review the diff).
The SVG is parsed as XML; the PNG is opened with Pillow, an independent reader (test-only)."""

from __future__ import annotations

import asyncio
import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import termios
import xml.etree.ElementTree as ET
from pathlib import Path

import looptime
import pytest
from conftest import ROOT
from PIL import Image
from rich.console import Console
from walks import WALK_PLAN, record_walks

from treadwalk.cli import main
from treadwalk.cli.history import Walk, load_walk
from treadwalk.core.model import SessionEvent, StopReason
from treadwalk.dashboard.chart import MARK_CONSOLE, MARK_PAUSE, MARK_SKIP, MARK_STOP, WALK_GUTTER
from treadwalk.recording import Recorder, SessionStore
from treadwalk.recording.synthetic import synthetic_plan, synthetic_session

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def walks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    """The two walks of tests/walks.py, recorded once for the module in virtual time."""
    folder = tmp_path_factory.mktemp("walks")

    async def run() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        looptime.patch_event_loop(loop, start=0.0, _enabled=False)
        with looptime.enabled(strict=True):
            return await record_walks(folder)

    first, second = asyncio.run(run())
    return folder, first, second


@pytest.fixture
def data_dir(walks: tuple[Path, int, int]) -> str:
    return str(walks[0])


def _walk(walks: tuple[Path, int, int], which: int = 1) -> Walk:
    with SessionStore(walks[0]) as store:
        return load_walk(store, walks[which])


def _text(walk: Walk, width: int, units: str = "metric") -> str:
    console = Console(record=True, width=width, color_system=None, file=io.StringIO())
    for line in walk.view(width, units):
        console.print(line, no_wrap=True, overflow="crop")
    return console.export_text()


def _row(text: str, label: str) -> str:
    """The chart row with this gutter label, without the gutter."""
    line = next(x for x in text.splitlines() if x[:WALK_GUTTER].strip() == label)
    return line[WALK_GUTTER:]


@pytest.mark.parametrize("width", [80, 140])
def test_show_charts_snapshot(walks: tuple[Path, int, int], width: int) -> None:
    walk = _walk(walks)
    text = _text(walk, width)
    path = SNAPSHOTS / f"history_show_{width}.txt"
    if os.environ.get("TREADWALK_REGEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), "TREADWALK_REGEN=1 pytest tests/test_history_charts.py"
    lines = text.splitlines()
    assert all(len(x) <= width for x in lines)
    # speed and incline charts, no heart rate (the virtual treadmill sends none)
    gutter = [x[:WALK_GUTTER].strip() for x in lines[2:]]
    assert [g for g in gutter if g] == [
        "6.5",
        "speed",
        "km/h",
        "3.0",
        "8",
        "incl.",
        "%",
        "0",
        "laps",
        "marks",
    ]
    assert "heart" not in text


@pytest.mark.parametrize("width", [80, 140])
def test_marks_and_laps_are_where_they_happened(walks: tuple[Path, int, int], width: int) -> None:
    walk = _walk(walks)
    text = _text(walk, width)
    w = width - WALK_GUTTER
    t0, span = walk.active[0].t, walk.active[-1].t - walk.active[0].t

    def col(t: float) -> int:
        return min(w - 1, int((t - t0) / span * w))

    marks = _row(text, "marks").ljust(w)
    by_kind = {e.kind: e for e in walk.events}
    console = by_kind["console"]
    skip = next(e for e in walk.events if e.kind == "command" and e.data.get("command") == "skip")
    pause, resume = by_kind["pause"], by_kind["resume"]
    assert marks[col(console.t)] == MARK_CONSOLE
    assert marks[col(skip.t)] == MARK_SKIP
    assert marks[col(walk.events[-1].t)] == MARK_STOP and walk.events[-1].kind == "stop"
    paused = [c for c, ch in enumerate(marks) if ch == MARK_PAUSE]
    assert paused, marks
    assert abs(paused[0] - col(pause.t)) <= 1
    assert abs(paused[-1] - col(resume.t)) <= 1
    # the pause: the plan is shaded where the belt stood
    speed_rows = text.splitlines()[2:8]
    middle = (paused[0] + paused[-1]) // 2 + WALK_GUTTER
    assert any(row[middle] == "░" for row in speed_rows)
    # laps numbered at their first column: the skipped hill and the distance segment included
    laps = _row(text, "laps")
    starts = [col(t) for t in walk.lap_starts]
    assert [lap.name for lap in walk.laps] == [s.name for s in WALK_PLAN.segments]
    for i, c in enumerate(starts):
        label = str(i + 1)
        if laps[c : c + len(label)] != label:  # two laps too close to number both
            assert i and starts[i] - starts[i - 1] <= len(str(i)), (i, laps)
    assert walk.laps[3].by_distance
    assert walk.laps[3].totals.distance_m == pytest.approx(150, abs=3)


def test_the_console_change_shows_above_the_plan(walks: tuple[Path, int, int]) -> None:
    walk = _walk(walks)
    lines = walk.view(120)
    speed_top = lines[2]
    assert speed_top.plain[:WALK_GUTTER].strip() == "6.5"  # the console's 6.5 km/h tops the axis
    styles = {str(span.style) for span in speed_top.spans}
    assert "bright_green" in styles  # above the plan (5.5 km/h asked)


def test_pace_units_label_the_speed_axis(walks: tuple[Path, int, int]) -> None:
    text = _text(_walk(walks), 80, units="pace")
    assert "min/km" in text
    assert _row(text, "pace")  # the chart row is labelled pace
    top = text.splitlines()[2][:WALK_GUTTER].strip()
    assert top == "9:14"  # 6.5 km/h as min/km


def test_heart_rate_is_drawn_when_recorded(tmp_path: Path) -> None:
    plan = synthetic_plan(10)
    with SessionStore(tmp_path) as store:
        rec = Recorder(store, plan, device="Sim", clock_wall=lambda: 1_767_225_600.0)
        for item in synthetic_session(plan, heart_rate=True):
            (rec.on_event if isinstance(item, SessionEvent) else rec.on_snapshot)(item)
        rec.finish(StopReason.FINISHED, {})
        walk = load_walk(store, rec.session_id)
    text = _text(walk, 80)
    assert _row(text, "heart")
    assert _row(text, "bpm")
    top = max(s.heart_rate_bpm or 0 for s in walk.active)
    heart_top = text.splitlines()[
        text.splitlines().index(next(x for x in text.splitlines() if x[:WALK_GUTTER].strip() == "heart")) - 1
    ]
    assert heart_top[:WALK_GUTTER].strip() == str(top)  # the axis tops at the highest reading


def test_show_piped_leaves_the_charts_out_unless_asked(
    data_dir: str,
    walks: tuple[Path, int, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sid = str(walks[1])
    assert main(["history", "show", sid, "--data-dir", data_dir]) == 0
    plain = capsys.readouterr().out
    assert plain.startswith(f"Session {sid}: History walk")
    assert "░" not in plain and "█" not in plain
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["history", "show", sid, "--charts", "--data-dir", data_dir]) == 0
    out = capsys.readouterr().out
    assert out.index("█ walked") < out.index(f"Session {sid}: History walk")  # the tables stay below
    assert out.endswith(plain)
    assert max(len(x) for x in out.splitlines()[: out.splitlines().index("")]) == 100
    assert "\x1b[" not in out  # piped: no colour codes


def test_show_on_a_terminal_draws_the_charts_at_its_width(
    data_dir: str, walks: tuple[Path, int, int]
) -> None:
    """A real pseudo-terminal, 132 columns: the charts come without --charts, 132 wide."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 132, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "treadwalk", "history", "show", str(walks[1]), "--data-dir", data_dir],
        stdout=slave,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    out = b"".join(chunks).decode("utf-8", "replace")
    assert "walked" in out and "\x1b[" in out  # drawn, in colour
    import re

    plain = [re.sub(r"\x1b\[[0-9;]*m", "", x) for x in out.replace("\r", "").splitlines()]
    rule = next(x for x in plain if x.startswith("── Session"))
    assert len(rule) == 132


def test_compare_two_walks_lap_by_lap(
    data_dir: str,
    walks: tuple[Path, int, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, a, b = walks
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["history", "compare", str(a), str(b), "--charts", "--data-dir", data_dir]) == 0
    out = capsys.readouterr().out
    assert out.count("█ walked") == 2  # one speed chart each
    assert "incl." not in out
    marks = [x for x in out.splitlines() if x.strip().startswith("marks")]
    assert len(marks) == 2
    axes = [x for x in out.splitlines() if x.strip().startswith("0:00")]
    assert axes[0] == axes[1]  # the same time axis for both
    tables = out[out.index(f"Session {a} (") :]
    assert "both: History walk" in tables
    lap_lines = tables[tables.index("Laps:") :].splitlines()[1:]
    assert lap_lines[0].split()[:2] == ["lap", "name"]
    rows = {x.split()[1]: x for x in lap_lines[1:]}
    assert set(rows) >= {"Warm-up", "Brisk", "Hill", "Steady", "Easy", "cool-down"}
    assert rows["Hill"].split()[2:4] == ["0:20", "1:00"]  # skipped in the first walk
    assert rows["cool-down"].split()[2] == "-"  # the first ended on the console: no cool-down
    for time_a in ("time", "distance", "average pace", "heart rate"):
        assert any(x.strip().startswith(time_a) for x in tables.splitlines())


def test_compare_says_when_the_profiles_differ(
    tmp_path: Path, data_dir: str, walks: tuple[Path, int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = synthetic_plan(5)
    with SessionStore(walks[0]) as store:
        rec = Recorder(store, plan, device="Sim", clock_wall=lambda: 1_767_225_600.0)
        for item in synthetic_session(plan):
            (rec.on_event if isinstance(item, SessionEvent) else rec.on_snapshot)(item)
        rec.finish(StopReason.FINISHED, {})
        other = rec.session_id
    try:
        assert main(["history", "compare", str(walks[1]), str(other), "--data-dir", data_dir]) == 0
        out = capsys.readouterr().out
        assert (
            "The profiles differ ('History walk' and 'Synthetic walk'): laps are compared by position." in out
        )
        assert "█" not in out  # piped, no --charts
    finally:
        with SessionStore(walks[0]) as store:
            store._conn.execute("DELETE FROM sessions WHERE id = ?", (other,))


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["history", "compare", "1"], "give two session ids"),
        (["history", "compare", "1", "1"], "two different sessions"),
        (["history", "compare", "1", "99"], "no session 99"),
        (["history", "show", "1", "2"], "history compare 1 2"),
        (["export", "1", "--format", "svg", "--width", "20"], "--width"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(
    data_dir: str, argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--data-dir", data_dir]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("treadwalk: ") and captured.err.count("\n") == 1
    assert words in captured.err


def test_export_svg_is_xml_from_richs_renderer(
    data_dir: str, walks: tuple[Path, int, int], tmp_path: Path
) -> None:
    out = tmp_path / "walk.svg"
    assert main(["export", str(walks[1]), "--format", "svg", "-o", str(out), "--data-dir", data_dir]) == 0
    root = ET.parse(out).getroot()
    assert root.tag == f"{SVG_NS}svg"
    texts = "".join(t.text or "" for t in root.iter(f"{SVG_NS}text")).replace("\xa0", " ")
    assert "Session 1 · History walk" in texts
    assert "walked" in texts and "Laps:" in texts and "Events:" in texts
    assert "Steady 150 m" in texts
    # the same renderer as docs/dashboard.svg: Rich's terminal frame and font
    assert 'class="terminal-' in out.read_text() and "Fira Code" in out.read_text()
    assert "Fira Code" in (ROOT / "docs" / "dashboard.svg").read_text()


def test_export_png_opens_in_an_independent_reader(
    data_dir: str, walks: tuple[Path, int, int], tmp_path: Path
) -> None:
    out = tmp_path / "walk.png"
    assert main(["export", str(walks[1]), "--format", "png", "-o", str(out), "--data-dir", data_dir]) == 0
    with Image.open(out) as img:
        assert img.format == "PNG"
        width, height = img.size
        assert 1000 < width < 1600 and 800 < height < 3000  # 100 columns, the charts and tables
        rgb = img.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 50  # text, bars, shading: not blank
        # the walk's green bars and the incline's cyan are there, in the chart band
        band = rgb.crop((0, 0, width, height // 3))
        raw = band.tobytes()
        pixels = list(zip(raw[0::3], raw[1::3], raw[2::3], strict=True))
        greenish = sum(1 for r, g, b in pixels if g > b + 60 and g > r)  # Rich's green, 98a84b
        cyanish = sum(1 for r, g, b in pixels if b > r + 50 and g > r + 30)  # Rich's cyan, 68a0b3
        assert greenish > 20_000, greenish
        assert cyanish > 10_000, cyanish


def test_png_without_cairosvg_says_how_to_get_it(
    data_dir: str, walks: tuple[Path, int, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setitem(sys.modules, "cairosvg", None)  # as if it were not installed
    out = tmp_path / "walk.png"
    assert main(["export", str(walks[1]), "--format", "png", "-o", str(out), "--data-dir", data_dir]) == 2
    err = capsys.readouterr().err
    assert "treadwalk[png]" in err and "--format svg" in err and err.count("\n") == 1
    assert not out.exists()


def test_a_picture_of_a_walk_never_started_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SessionStore(tmp_path) as store:
        rec = Recorder(store, WALK_PLAN, device="Sim", clock_wall=lambda: 1_767_225_600.0)
        rec.finish(StopReason.USER, {})
    out = tmp_path / "x.svg"
    assert (
        main(["export", str(rec.session_id), "--format", "svg", "-o", str(out), "--data-dir", str(tmp_path)])
        == 2
    )
    assert "nothing to export: it never started" in capsys.readouterr().err
    assert not out.exists()


def test_the_readme_shows_the_80_column_snapshot() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    snapshot = (SNAPSHOTS / "history_show_80.txt").read_text(encoding="utf-8")
    block = "\n".join(line.rstrip() for line in snapshot.rstrip("\n").splitlines())
    assert block in readme, "paste tests/snapshots/history_show_80.txt into README's 'After the walk'"
