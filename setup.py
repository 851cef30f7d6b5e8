"""Ships the top-level ``profiles/`` (the built-in workout library) inside the wheel as
``treadwalk/_profiles``, where ``treadwalk.profile.files`` looks first. Everything else is in
pyproject.toml. A checkout (and an editable install) reads ``profiles/`` where it is."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithProfiles(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads profiles/ in the checkout
        target = Path(self.build_lib) / "treadwalk" / "_profiles"
        target.mkdir(parents=True, exist_ok=True)
        for f in sorted((ROOT / "profiles").iterdir()):
            if f.suffix.lower() in (".toml", ".zwo", ".xml", ".fit", ".md") and f.is_file():
                shutil.copy2(f, target / f.name)


setup(cmdclass={"build_py": BuildPyWithProfiles})
