"""treadwalk as a library: the curated surface of ``import treadwalk`` (pinned, lazy, light), the
port's documented errors, ``treadwalk.connect`` and ``treadwalk.testing.virtual_treadmill``
(the real client over the Bumble radio to the virtual treadmill, in virtual time)."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import treadwalk
from treadwalk.core.errors import CommandRejected, TreadwalkError, UsageError
from treadwalk.core.model import BeltState, Limits, MachineStopped
from treadwalk.profile import LIBRARY
from treadwalk.treadmill.port import Treadmill

HEAVY = ("bleak", "bleak_retry_connector", "bumble", "rich", "aiomqtt", "paho")

PUBLIC = [
    "Applied",
    "Capabilities",
    "Clock",
    "Command",
    "CommandKind",
    "CommandRejected",
    "ConfigError",
    "ConnectionLost",
    "DecodeError",
    "DeviceNotFound",
    "Limits",
    "LoopClock",
    "OutOfRange",
    "Phase",
    "Plan",
    "PlanSegment",
    "Profile",
    "ProfileError",
    "ProfileProblem",
    "RecordingError",
    "Session",
    "SessionEvent",
    "SessionResult",
    "SessionSnapshot",
    "Settings",
    "StopReason",
    "TelemetryError",
    "Timeout",
    "Treadmill",
    "TreadmillError",
    "TreadmillState",
    "TreadwalkError",
    "UsageError",
    "connect",
    "load_profile",
]

# where each public name is defined: ``treadwalk.X is home.X``
HOMES = {
    "connect": "treadwalk.api",
    "load_profile": "treadwalk.api",
    "Treadmill": "treadwalk.treadmill.port",
    "Applied": "treadwalk.treadmill.port",
    "Session": "treadwalk.engine.session",
    "SessionResult": "treadwalk.engine.session",
    "Settings": "treadwalk.engine",
    "Profile": "treadwalk.profile.model",
    "Clock": "treadwalk.core.clock",
    "LoopClock": "treadwalk.core.clock",
}


def test_the_public_surface_is_pinned() -> None:
    assert treadwalk.__all__ == PUBLIC  # a change here is an API change: say so in the README


@pytest.mark.parametrize("name", PUBLIC)
def test_each_public_name_resolves_to_its_home(name: str) -> None:
    value = getattr(treadwalk, name)
    home = HOMES.get(name)
    if home is None:
        home = "treadwalk.core.errors" if name.endswith(("Error", "Problem")) else "treadwalk.core.model"
        if name in ("DeviceNotFound", "ConnectionLost", "Timeout", "CommandRejected", "OutOfRange"):
            home = "treadwalk.core.errors"
    assert value is getattr(importlib.import_module(home), name)
    assert name in dir(treadwalk)


def test_the_error_tree_is_public_and_rooted() -> None:
    errors = [
        getattr(treadwalk, n) for n in PUBLIC if n.endswith("Error") or n in ("DeviceNotFound", "Timeout")
    ]
    errors += [treadwalk.ConnectionLost, treadwalk.CommandRejected, treadwalk.OutOfRange]
    assert all(issubclass(e, TreadwalkError) for e in errors)
    for leaf in ("DeviceNotFound", "ConnectionLost", "Timeout", "CommandRejected", "OutOfRange"):
        assert issubclass(getattr(treadwalk, leaf), treadwalk.TreadmillError)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = treadwalk.nope  # type: ignore[attr-defined]
    assert not hasattr(treadwalk, "FtmsTreadmill")  # an implementation, not the surface


def _fresh(code: str) -> dict[str, list[str]]:
    probe = (
        "import sys, json\n"
        f"{code}\n"
        f"print(json.dumps({{'heavy': [m for m in {HEAVY!r} if m in sys.modules],"
        " 'treadwalk': sorted(m for m in sys.modules if m.startswith('treadwalk'))}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    data: dict[str, list[str]] = json.loads(out.stdout)
    return data


def test_import_treadwalk_imports_nothing_but_itself() -> None:
    seen = _fresh("import treadwalk")
    assert seen == {"heavy": [], "treadwalk": ["treadwalk"]}


def test_the_whole_public_surface_is_light() -> None:
    seen = _fresh("import treadwalk\nfor n in treadwalk.__all__: getattr(treadwalk, n)")
    assert seen["heavy"] == []
    assert "treadwalk.api" in seen["treadwalk"]  # it did import the names


def test_treadwalk_testing_is_reachable_and_is_where_the_radio_comes_in() -> None:
    seen = _fresh("import treadwalk\ntreadwalk.testing.virtual_treadmill")
    assert {"bleak", "bumble"} <= set(seen["heavy"])  # the probe does see heavy imports
    assert "rich" not in seen["heavy"] and "aiomqtt" not in seen["heavy"]


@pytest.mark.parametrize("method", ["__aenter__", "start", "pause", "stop", "set_speed", "set_incline"])
def test_the_port_documents_what_it_raises(method: str) -> None:
    doc = inspect.getdoc(getattr(Treadmill, method)) or ""
    assert "Raises:" in doc, method
    for error in (
        ("ConnectionLost",) if method == "__aenter__" else ("CommandRejected", "Timeout", "ConnectionLost")
    ):
        assert error in doc, (method, error)


async def test_connect_needs_one_treadmill() -> None:
    with pytest.raises(UsageError, match="virtual=True"):
        async with treadwalk.connect():
            pass
    with pytest.raises(UsageError, match="name or address"):
        async with treadwalk.connect("KS-ST A1", virtual=True):
            pass


@pytest.mark.virtual_time
async def test_connect_to_the_virtual_treadmill_and_walk() -> None:
    clock = treadwalk.LoopClock()
    async with treadwalk.connect(virtual=True, clock=clock, limits=Limits(max_speed_kmh=5.0)) as tm:
        assert tm.capabilities.name == "treadwalk-sim"
        assert tm.state.belt is not BeltState.RUNNING  # connecting never moves the belt
        await tm.start()
        applied = await tm.set_speed(7.0)
        assert (applied.value, applied.clamped) == (5.0, True)  # the walker's cap
        await clock.sleep(10)
        assert tm.state.speed_kmh == pytest.approx(5.0)
        await tm.stop()


def test_load_profile_takes_a_built_in_name_or_a_file(tmp_path: Path) -> None:
    plan = treadwalk.load_profile("demo").to_plan()
    assert isinstance(plan, treadwalk.Plan)
    assert plan.segments
    path = tmp_path / "mine.toml"
    path.write_text((LIBRARY / "demo.toml").read_text())
    assert treadwalk.load_profile(path).to_plan().segments == plan.segments
    with pytest.raises(UsageError, match="no profile called"):
        treadwalk.load_profile("no-such-profile")


# -- treadwalk.testing ---------------------------------------------------------------------------


@pytest.mark.virtual_time
async def test_virtual_treadmill_exposes_the_machine_for_assertions() -> None:
    from treadwalk.testing import virtual_treadmill

    async with virtual_treadmill(quirks="urevo") as tm:
        assert tm.machine.stopped
        await tm.start()
        await tm.set_speed(4.5)
        await tm.clock.sleep(10)
        assert tm.machine.running
        assert tm.machine.belt_speed_kmh == pytest.approx(4.5, abs=0.1)  # the virtual belt itself
        assert "mph_ranges" in tm.machine.quirks
        events = tm.events()
        tm.machine.press_stop()  # the walker's own button
        async with asyncio.timeout(10):
            async for event in events:
                if isinstance(event, MachineStopped):
                    break
        await tm.clock.sleep(5)
        assert tm.machine.belt_speed_kmh == 0
    assert tm.machine.stopped


@pytest.mark.virtual_time
async def test_virtual_treadmill_injects_faults() -> None:
    from treadwalk.testing import virtual_treadmill

    async with virtual_treadmill(faults=["reject:speed"]) as tm:
        await tm.start()
        with pytest.raises(CommandRejected) as rejected:
            await tm.set_speed(5.0)
        assert rejected.value.op == 0x02
        await tm.stop()
        assert tm.machine.stopped


async def test_virtual_treadmill_refuses_a_bad_quirk_in_one_sentence() -> None:
    from treadwalk.testing import virtual_treadmill

    with pytest.raises(UsageError, match="quirk"):
        async with virtual_treadmill(quirks="no-such-machine"):
            pass


# -- the README's "Use it from Python", run as written --------------------------------------------

README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Use it from Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2, "the section has the example and the testing snippet"
    return blocks


@pytest.mark.virtual_time
async def test_the_readme_example_plays_a_profile(capsys: pytest.CaptureFixture[str]) -> None:
    example = _readme_blocks()[0]
    assert "asyncio.run(main())" in example  # what a reader runs; here the test's loop awaits main()
    namespace: dict[str, object] = {"__name__": "readme"}
    exec(compile(example, "README.md", "exec"), namespace)
    await namespace["main"]()  # type: ignore[operator]
    printed = capsys.readouterr().out
    found = re.fullmatch(r"finished: (\d+) m in ([\d.]+) min\n", printed)
    assert found, printed
    plan = treadwalk.load_profile("demo").to_plan()
    cooldown_min = treadwalk.Settings().cooldown_s / 60
    # the plan, and at most the cool-down the engine adds (none after a profile's own cool-down)
    assert plan.duration_s / 60 - 0.2 <= float(found[2]) <= plan.duration_s / 60 + cooldown_min + 0.2
    assert int(found[1]) > 300  # 8 minutes of walking, not a belt that never moved


@pytest.mark.virtual_time
async def test_the_readme_testing_snippet_runs() -> None:
    snippet = _readme_blocks()[1]
    body = "".join(f"    {line}\n" for line in snippet.splitlines())
    namespace: dict[str, object] = {"treadwalk": treadwalk, "pytest": pytest}
    exec(compile(f"async def snippet():\n{body}", "README.md", "exec"), namespace)

    await namespace["snippet"]()  # type: ignore[operator]
