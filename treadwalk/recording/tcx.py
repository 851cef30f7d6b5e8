"""``export_tcx(store, session_id) -> str``: the session as Garmin Training Center XML (TCX v2).
Stdlib only.

TCX has no walking sport: ``Sport="Other"`` for walking, ``"Running"`` when the plan's intent is
running (never guessed from speed). A lap per segment with its totals, a trackpoint per sample
with time, distance, heart rate and, in the ActivityExtension v2 ``TPX`` block, speed and run
cadence (strides per minute, when the machine counts steps). Element order follows the
TrainingCenterDatabase v2 schema (Lap_t, Trackpoint_t sequences).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from .laps import Lap, activity_samples, cadence_spm_between, laps
from .store import NothingToExport, Sample, SessionStore

__all__ = ["TCX_NS", "TPX_NS", "export_tcx", "iso_time"]

TCX_NS = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
TPX_NS = "http://www.garmin.com/xmlschemas/ActivityExtension/v2"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_SCHEMA_LOCATION = (
    f"{TCX_NS} http://www.garmin.com/xmlschemas/TrainingCenterDatabasev2.xsd "
    f"{TPX_NS} http://www.garmin.com/xmlschemas/ActivityExtensionv2.xsd"
)


def iso_time(t: float) -> str:
    """Epoch seconds as ``2026-01-01T00:00:00.000Z``."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _t(tag: str) -> str:
    return f"{{{TCX_NS}}}{tag}"


def _x(tag: str) -> str:
    return f"{{{TPX_NS}}}{tag}"


def _sub(parent: ET.Element, tag: str, text: object | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def _num(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def export_tcx(store: SessionStore, session_id: int) -> str:
    """The session as a TCX document (UTF-8 text with an XML declaration)."""
    info = store.get_session(session_id)
    samples = activity_samples(store.samples(session_id))
    if not samples:
        raise NothingToExport(session_id)
    ET.register_namespace("", TCX_NS)
    ET.register_namespace("tpx", TPX_NS)
    ET.register_namespace("xsi", XSI_NS)
    root = ET.Element(_t("TrainingCenterDatabase"), {f"{{{XSI_NS}}}schemaLocation": _SCHEMA_LOCATION})
    activities = _sub(root, _t("Activities"))
    activity = _sub(activities, _t("Activity"), None)
    activity.set("Sport", "Running" if info.sport == "running" else "Other")
    _sub(activity, _t("Id"), iso_time(samples[0].t))
    session_laps = laps(samples, info.plan)
    for lap in session_laps:
        _lap(activity, lap, last=lap is session_laps[-1])
    notes = f"treadwalk session {session_id}: {info.profile} ({info.sport}, treadmill, {info.device})"
    _sub(activity, _t("Notes"), notes)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _lap(activity: ET.Element, lap: Lap, *, last: bool) -> None:
    t = lap.totals
    el = _sub(activity, _t("Lap"))
    el.set("StartTime", iso_time(t.start_t))
    _sub(el, _t("TotalTimeSeconds"), _num(t.timer_s, 3))
    _sub(el, _t("DistanceMeters"), _num(t.distance_m))
    if t.max_speed_kmh is not None:
        _sub(el, _t("MaximumSpeed"), _num(t.max_speed_kmh / 3.6, 3))
    _sub(el, _t("Calories"), round(t.energy_kcal or 0))
    if t.avg_heart_rate_bpm:
        _sub(_sub(el, _t("AverageHeartRateBpm")), _t("Value"), t.avg_heart_rate_bpm)
    if t.max_heart_rate_bpm:
        _sub(_sub(el, _t("MaximumHeartRateBpm")), _t("Value"), t.max_heart_rate_bpm)
    _sub(el, _t("Intensity"), "Resting" if lap.kind == "recovery" else "Active")
    _sub(
        el, _t("TriggerMethod"), "Distance" if lap.by_distance and not last else "Manual" if last else "Time"
    )
    track = _sub(el, _t("Track"))
    prev: Sample | None = None
    for s in lap.samples:
        _trackpoint(track, s, prev)
        prev = s
    _sub(el, _t("Notes"), lap.name)
    ext = _sub(_sub(el, _t("Extensions")), _x("LX"))
    if t.avg_speed_kmh is not None:
        _sub(ext, _x("AvgSpeed"), _num(t.avg_speed_kmh / 3.6, 3))
    if t.avg_cadence_spm is not None:
        _sub(ext, _x("AvgRunCadence"), min(254, round(t.avg_cadence_spm / 2)))
    if t.steps is not None:
        _sub(ext, _x("Steps"), min(65535, t.steps))


def _trackpoint(track: ET.Element, s: Sample, prev: Sample | None) -> None:
    tp = _sub(track, _t("Trackpoint"))
    _sub(tp, _t("Time"), iso_time(s.t))
    if s.distance_m is not None:
        _sub(tp, _t("DistanceMeters"), _num(s.distance_m))
    if s.heart_rate_bpm:
        _sub(_sub(tp, _t("HeartRateBpm")), _t("Value"), s.heart_rate_bpm)
    spm = cadence_spm_between(prev, s) if prev is not None else None
    if s.speed_kmh is not None or spm is not None:
        tpx = _sub(_sub(tp, _t("Extensions")), _x("TPX"))
        if s.speed_kmh is not None:
            _sub(tpx, _x("Speed"), _num(s.speed_kmh / 3.6, 3))
        if spm is not None:
            _sub(tpx, _x("RunCadence"), min(254, round(spm / 2)))
