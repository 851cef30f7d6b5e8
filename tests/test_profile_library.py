"""The built-in library in the top-level ``profiles/``: found from a checkout, shipped inside
the wheel and found from an installed wheel (a real ``pip wheel`` build, unpacked)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from treadwalk.profile import LIBRARY, builtin_profile

ROOT = Path(__file__).resolve().parent.parent


def test_a_checkout_reads_the_top_level_profiles_folder() -> None:
    assert ROOT / "profiles" == LIBRARY
    assert builtin_profile("demo").name == "Demo walk"
    readme = (ROOT / "profiles" / "README.md").read_text(encoding="utf-8")
    for f in LIBRARY.glob("*.toml"):
        assert f"`{f.stem}`" in readme, f"profiles/README.md does not describe {f.stem}"


@pytest.mark.slow
def test_the_wheel_carries_the_library_and_an_installed_wheel_finds_it(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = tmp_path.glob("treadwalk-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "site")
    for f in LIBRARY.glob("*.toml"):
        assert f"treadwalk/_profiles/{f.name}" in names
    assert "treadwalk/_profiles/README.md" in names
    assert not any(n.startswith("profiles/") for n in names)  # no top-level package of that name

    # the unpacked wheel as site-packages, run from a folder far from the checkout
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "TREADWALK_PROFILES": str(tmp_path / "none")}
    where = subprocess.run(
        [sys.executable, "-c", "import treadwalk.profile as p; print(p.LIBRARY)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()) == tmp_path / "site" / "treadwalk" / "_profiles"
    listed = subprocess.run(
        [sys.executable, "-m", "treadwalk", "profiles", "list"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    for f in LIBRARY.glob("*.toml"):
        assert f.stem in listed.stdout
    shown = subprocess.run(
        [sys.executable, "-m", "treadwalk", "profiles", "show", "hill-pyramid"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert "Hill pyramid" in shown.stdout
