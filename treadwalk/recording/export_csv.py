"""``export_csv(store, session_id) -> str``: every recorded sample, one row each, with a header.
Stdlib only. Times in UTC ISO 8601 and epoch seconds; empty cells where the machine reported
nothing."""

from __future__ import annotations

import csv
import io

from .store import SessionStore
from .tcx import iso_time

__all__ = ["CSV_COLUMNS", "export_csv"]

CSV_COLUMNS = (
    "time_utc",
    "t",
    "elapsed_s",
    "phase",
    "segment",
    "segment_name",
    "speed_kmh",
    "incline_pct",
    "distance_m",
    "energy_kcal",
    "heart_rate_bpm",
    "steps",
    "target_speed_kmh",
    "target_incline_pct",
)


def export_csv(store: SessionStore, session_id: int) -> str:
    info = store.get_session(session_id)
    segments = info.plan.get("segments") or []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in store.samples(session_id):
        name = ""
        if s.segment is not None and 0 <= s.segment < len(segments):
            name = str(segments[s.segment].get("name", ""))
        writer.writerow(
            [
                iso_time(s.t),
                f"{s.t:.3f}",
                f"{s.elapsed_s:.3f}",
                s.phase,
                "" if s.segment is None else s.segment,
                name,
                *("" if v is None else v for v in (s.speed_kmh, s.incline_pct, s.distance_m, s.energy_kcal)),
                *("" if v is None else v for v in (s.heart_rate_bpm, s.steps)),
                *("" if v is None else v for v in (s.target_speed_kmh, s.target_incline_pct)),
            ]
        )
    return out.getvalue()
