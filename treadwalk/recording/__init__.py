"""Recording: the crash-safe session store and FIT/TCX/CSV exports.

Imports only the stdlib and ``treadwalk.core`` (no engine, no rich). The engine attaches a
``Recorder`` as an observer; ``history`` and ``export`` read the ``SessionStore``.
"""

from __future__ import annotations

from .export_csv import export_csv
from .fit import export_fit
from .recorder import Recorder, plan_to_dict
from .store import (
    DB_NAME,
    SCHEMA_VERSION,
    EventRecord,
    NothingToExport,
    Sample,
    SessionInfo,
    SessionNotFound,
    SessionStore,
    default_data_dir,
)
from .tcx import export_tcx

__all__ = [
    "DB_NAME",
    "SCHEMA_VERSION",
    "EventRecord",
    "NothingToExport",
    "Recorder",
    "Sample",
    "SessionInfo",
    "SessionNotFound",
    "SessionStore",
    "default_data_dir",
    "export_csv",
    "export_fit",
    "export_tcx",
    "plan_to_dict",
]
