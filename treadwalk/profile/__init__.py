"""Walking-workout profiles: the model, TOML load/save, .zwo and QZ-XML import/export, the
built-in library. Imports only the stdlib and ``treadwalk.core``.

The API other layers use::

    load_profile(path) -> Profile              .toml/.zwo/.xml; ProfileError with every problem
    find_profile(name_or_path) -> Path         built-in stem, user folder stem, then a path
    list_profiles() -> [(name, Path, Profile)]
    builtin_profile("demo") -> Profile
    Profile.to_plan() -> treadwalk.core.model.Plan
    dump_profile(profile) -> str               TOML that loads back to an equal Profile
    read_zwo / write_zwo, read_qz_xml / write_qz_xml, convert(src, dst)
"""

from __future__ import annotations

from .dump import dump_profile
from .files import (
    LIBRARY,
    builtin_profile,
    convert,
    export_profile,
    find_profile,
    list_profiles,
    load_profile,
    user_profile_dir,
)
from .loader import (
    INCLINE_MAX_PCT,
    INCLINE_MIN_PCT,
    SPEED_MAX_KMH,
    SPEED_MIN_KMH,
    parse_profile,
)
from .model import Profile, ProfileCue, Repeat, Segment
from .quantities import Distance, Speed
from .qzxml import read_qz_xml, write_qz_xml
from .zwo import Paces, read_zwo, write_zwo

__all__ = [
    "INCLINE_MAX_PCT",
    "INCLINE_MIN_PCT",
    "LIBRARY",
    "SPEED_MAX_KMH",
    "SPEED_MIN_KMH",
    "Distance",
    "Paces",
    "Profile",
    "ProfileCue",
    "Repeat",
    "Segment",
    "Speed",
    "builtin_profile",
    "convert",
    "dump_profile",
    "export_profile",
    "find_profile",
    "list_profiles",
    "load_profile",
    "parse_profile",
    "read_qz_xml",
    "read_zwo",
    "user_profile_dir",
    "write_qz_xml",
    "write_zwo",
]
