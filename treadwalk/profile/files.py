"""Profiles on disk: loading by format, the built-in library, the user's folder, conversion.
Stdlib and ``treadwalk.core`` only.

- ``load_profile(path)`` reads ``.toml`` (the native format), ``.zwo`` (Zwift run workouts),
  ``.xml`` (QDomyos-Zwift programs) and ``.fit`` (Garmin FIT workouts; fitdecode is imported
  only then), chosen by extension.
- ``find_profile(name_or_path)``: a built-in by file stem (the top-level ``profiles/`` of a
  checkout, shipped inside the wheel as ``treadwalk/_profiles``),
  then the user's folder (``$TREADWALK_PROFILES``, else ``$XDG_CONFIG_HOME/treadwalk/profiles``,
  else ``~/.config/treadwalk/profiles``) by stem, then a path.
- ``convert(src, dst)`` picks both formats by extension and writes through a temporary file
  renamed into place, so no half-written file is ever left behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from treadwalk.core.errors import ProfileError, ProfileProblem, UsageError

from .dump import dump_profile
from .loader import PROFILE_MAX_BYTES, parse_profile
from .model import Profile
from .qzxml import read_qz_xml, write_qz_xml
from .zwo import Paces, read_zwo, write_zwo

__all__ = [
    "FORMATS",
    "LIBRARY",
    "builtin_profile",
    "convert",
    "export_profile",
    "find_profile",
    "list_profiles",
    "load_profile",
    "user_profile_dir",
    "write_atomic",
]


def _library() -> Path:
    """The built-in library: ``treadwalk/_profiles`` inside an installed wheel (setup.py copies
    the top-level ``profiles/`` there), else ``profiles/`` next to ``treadwalk/`` in a checkout
    (and an editable install, which runs from the checkout)."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "_profiles"
    return installed if installed.is_dir() else package.parent / "profiles"


LIBRARY = _library()
FORMATS = {
    ".toml": "treadwalk TOML",
    ".zwo": "Zwift run workout",
    ".xml": "QDomyos-Zwift program",
    ".fit": "Garmin FIT workout",
}
_LIST_HINT = "run 'treadwalk profiles list' to see the profiles there are"


def user_profile_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("TREADWALK_PROFILES"):
        return Path(env["TREADWALK_PROFILES"]).expanduser()
    base = (
        Path(env["XDG_CONFIG_HOME"]).expanduser() if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    )
    return base / "treadwalk" / "profiles"


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(
            f"{path}: cannot tell the format from the extension {suffix or '(none)'}; "
            f"use {', '.join(FORMATS)}"
        )
    return suffix


def load_profile(path: str | os.PathLike[str], *, paces: Paces | None = None) -> Profile:
    """The profile in ``path`` (.toml, .zwo, .xml or .fit), or a ``ProfileError`` with every
    problem."""
    p = Path(path)
    fmt = _format_of(p)
    try:
        size = p.stat().st_size
        if size > PROFILE_MAX_BYTES:
            raise ProfileError(
                ProfileProblem(
                    str(p),
                    None,
                    f"the file is {size / 1e6:.1f} MB; a profile is at most {PROFILE_MAX_BYTES / 1e6:g} MB "
                    "(is this the right file?)",
                )
            )
        if fmt == ".fit":
            from .fitworkout import read_fit_workout

            return read_fit_workout(p.read_bytes(), str(p))
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(ProfileProblem(str(p), None, f"no such file; {_LIST_HINT}")) from None
    except UnicodeDecodeError as exc:
        raise ProfileError(
            ProfileProblem(str(p), None, f"the file is not UTF-8 text ({exc.reason})")
        ) from exc
    except OSError as exc:
        raise ProfileError(ProfileProblem(str(p), None, f"cannot read the file ({exc.strerror})")) from exc
    if fmt == ".zwo":
        return read_zwo(text, str(p), paces or Paces.from_env())
    if fmt == ".xml":
        return read_qz_xml(text, str(p))
    return parse_profile(text, str(p))


def _stems(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {f.stem: f for f in sorted(folder.iterdir()) if f.suffix.lower() in FORMATS and f.is_file()}


def find_profile(name_or_path: str | os.PathLike[str]) -> Path:
    """A built-in by stem, then the user's profile folder by stem, then a path."""
    name = str(name_or_path)
    builtin = LIBRARY / f"{name}.toml"
    if "/" not in name and os.sep not in name and builtin.is_file():
        return builtin
    user = _stems(user_profile_dir())
    if name in user:
        return user[name]
    p = Path(name).expanduser()
    if p.is_file():
        return p
    raise UsageError(
        f'no profile called "{name}" (neither a built-in, nor in {user_profile_dir()}, nor a file); {_LIST_HINT}'
    )


def builtin_profile(name: str = "demo") -> Profile:
    path = LIBRARY / f"{name}.toml"
    if not path.is_file():
        raise UsageError(f'no built-in profile called "{name}"; {_LIST_HINT}')
    return load_profile(path)


def list_profiles(errors: list[ProfileError] | None = None) -> list[tuple[str, Path, Profile]]:
    """Built-ins (sorted by name), then the user's. A user profile that does not load is left
    out, and its error appended to ``errors`` when given."""
    out: list[tuple[str, Path, Profile]] = []
    seen: set[str] = set()
    for folder in (LIBRARY, user_profile_dir()):
        for stem, path in _stems(folder).items():
            if stem in seen:
                continue
            try:
                profile = load_profile(path)
            except ProfileError as exc:
                if errors is not None:
                    errors.append(exc)
                continue
            seen.add(stem)
            out.append((stem, path, profile))
    return out


def export_profile(
    profile: Profile, fmt: str, *, paces: Paces | None = None
) -> tuple[str | bytes, list[str]]:
    """The profile in format ``fmt`` (".toml", ".zwo", ".xml": text; ".fit": bytes) and notes
    on what was lost."""
    if fmt == ".fit":
        from .fitworkout import write_fit_workout

        return write_fit_workout(profile)
    if fmt == ".zwo":
        return write_zwo(profile, paces or Paces.from_env())
    if fmt == ".xml":
        return write_qz_xml(profile)
    return dump_profile(profile), []


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write through a temporary file in the same folder, renamed into place."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def convert(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    paces: Paces | None = None,
    overwrite: bool = False,
) -> list[str]:
    """Convert ``src`` to ``dst`` (formats by extension); returns notes on what was lost."""
    src_p, dst_p = Path(src), Path(dst)
    out_fmt = _format_of(dst_p)
    if dst_p.exists() and not overwrite:
        raise UsageError(f"{dst_p} already exists; pass --force to replace it")
    if not dst_p.parent.is_dir() and str(dst_p.parent):
        raise UsageError(f"{dst_p.parent} is not a folder; create it first")
    profile = load_profile(src_p, paces=paces)
    text, notes = export_profile(profile, out_fmt, paces=paces)
    write_atomic(dst_p, text)
    return [*profile.notes, *notes]
