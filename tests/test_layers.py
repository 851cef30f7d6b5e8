"""The shape of DESIGN.md, checked on the source: imports point down only, third-party libraries
stay in their one module, the engine is blind to the dashboard, telemetry, bleak and Bumble, and
the CLI is a leaf (nothing imports it). ``import treadwalk`` staying light, with its whole public
surface, is checked in a fresh interpreter by tests/test_library.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "treadwalk"

# What each layer may import from treadwalk (itself always).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "ftms": {"core"},
    "radio": {"core"},
    "sim": {"core", "ftms"},
    "treadmill": {"core", "ftms"},
    "heartrate": {"core", "ftms"},
    "profile": {"core"},
    "engine": {"core", "treadmill", "heartrate"},
    "recording": {"core"},
    "telemetry": {"core"},
    "dashboard": {"core"},
    "web": {"core"},
    "voice": {"core"},  # an observer like the dashboard: stdlib + core (the synthesiser is a process)
    # the library surface: api is light at import (it imports the rest inside connect()), testing
    # is the virtual treadmill's rig (radio + sim + the real client) for users' tests and ours
    "api": {"core", "profile", "treadmill", "testing"},
    "testing": {"core", "radio", "sim", "treadmill"},
    "cli": {
        "api",
        "testing",
        "core",
        "ftms",
        "radio",
        "sim",
        "treadmill",
        "heartrate",
        "profile",
        "engine",
        "recording",
        "telemetry",
        "dashboard",
        "web",
        "voice",
    },
}
THIRD_PARTY = {
    "bleak": {"radio", "treadmill", "heartrate"},
    "bleak_retry_connector": {"treadmill", "heartrate"},
    "bumble": {"radio", "sim"},
    "rich": {"dashboard"},
    "cairosvg": {"dashboard"},
    "aiomqtt": {"telemetry"},
    "paho": {"telemetry"},
    "aiohttp": {"web"},
    "segno": {"web"},
    "fitdecode": {"profile"},  # imported only when a .fit is read
}
ROOT_MODULES = {"__init__", "__main__", "__version__"}  # the root package is stdlib only


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            if node.module == "treadwalk":
                names.update(f"treadwalk.{alias.name}" for alias in node.names)
    return names


def _layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if _layer(p) not in ROOT_MODULES)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_and_libraries_stay_in_their_module(path: Path) -> None:
    layer = _layer(path)
    assert layer in ALLOWED, f"{layer} is not a layer of DESIGN.md"
    for name in _imports(path):
        top, _, rest = name.partition(".")
        if top == "treadwalk" and rest:
            target = rest.split(".")[0]
            if target in ROOT_MODULES or target == layer:
                continue
            assert target in ALLOWED[layer], f"{path.name}: {layer} must not import treadwalk.{target}"
        elif top in THIRD_PARTY:
            assert layer in THIRD_PARTY[top], f"{path.name}: {top} belongs in {sorted(THIRD_PARTY[top])} only"


def test_the_engine_sees_only_the_port() -> None:
    for path in (PACKAGE / "engine").rglob("*.py"):
        treadmill = {n for n in _imports(path) if n.startswith("treadwalk.treadmill")}
        assert treadmill <= {"treadwalk.treadmill", "treadwalk.treadmill.port"}, path.name


def test_there_are_sources_to_check() -> None:
    assert {_layer(p) for p in SOURCES} == set(ALLOWED)
