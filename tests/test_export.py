"""Exports, checked by independent readers: FIT by fitdecode and by Garmin's FIT SDK decoder
(test-only; see treadwalk/recording/fit.py for why it is not a runtime dependency), TCX by a
structural validator written from the TrainingCenterDatabase v2 schema (the XSD cannot be fetched
here, so element order, required elements and enumerations are checked by hand), CSV by csv."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import fitdecode
import pytest
from garmin_fit_sdk import Decoder, Stream

from treadwalk.cli import main
from treadwalk.core.model import (
    Phase,
    Plan,
    PlanSegment,
    SessionEvent,
    SessionSnapshot,
    StopReason,
    TreadmillState,
)
from treadwalk.recording import NothingToExport, Recorder, SessionStore, export_csv, export_fit, export_tcx
from treadwalk.recording.export_csv import CSV_COLUMNS
from treadwalk.recording.fit import crc16
from treadwalk.recording.laps import activity_samples
from treadwalk.recording.synthetic import synthetic_plan, synthetic_session

WALL0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
TCX = "{http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2}"
TPX = "{http://www.garmin.com/xmlschemas/ActivityExtension/v2}"


def record(store: SessionStore, plan: Plan, *, finish: bool = True, **kwargs: object) -> int:
    rec = Recorder(store, plan, device="Sim Treadmill", clock_wall=lambda: WALL0)
    for item in synthetic_session(plan, **kwargs):  # type: ignore[arg-type]
        if isinstance(item, SessionEvent):
            rec.on_event(item)
        else:
            rec.on_snapshot(item)
    if finish:
        rec.finish(StopReason.FINISHED, {})
    else:
        store.release_live(rec.session_id)  # as if the process had died
    return rec.session_id


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SessionStore]:
    with SessionStore(tmp_path) as s:
        yield s


def fit_messages(data: bytes) -> dict[str, list[dict[str, object]]]:
    """Decode with fitdecode, CRC checked; every data message as a dict."""
    out: dict[str, list[dict[str, object]]] = {}
    with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.ENABLED) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage):
                assert not frame.name.startswith("unknown"), frame.name
                out.setdefault(frame.name, []).append({f.name: f.value for f in frame.fields})
    return out


def garmin_decode(data: bytes) -> dict[str, list[dict[str, object]]]:
    stream = Stream.from_byte_array(bytearray(data))
    decoder = Decoder(stream)
    assert decoder.is_fit()
    assert decoder.check_integrity()
    messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read()
    assert errors == []
    return messages  # type: ignore[no-any-return]


# -- FIT ------------------------------------------------------------------------------------------


def test_crc16_is_fit_crc() -> None:
    assert crc16(b"123456789") == 0xBB3D  # CRC-16/ARC check value, the FIT CRC


def test_fit_decodes_in_both_readers_with_a_lap_per_segment(store: SessionStore) -> None:
    plan = synthetic_plan(20)
    sid = record(store, plan, rate_hz=2, pause_at_s=300, pause_s=30)
    data = export_fit(store, sid)
    samples = activity_samples(store.samples(sid))

    msgs = fit_messages(data)
    (file_id,) = msgs["file_id"]
    assert file_id["type"] == "activity"
    (session,) = msgs["session"]
    assert (session["sport"], session["sub_sport"]) == ("walking", "treadmill")
    assert session["num_laps"] == len(plan.segments) == len(msgs["lap"])
    assert len(msgs["record"]) == len(samples)
    assert session["total_timer_time"] == pytest.approx(plan.duration_s, abs=1)
    assert session["total_elapsed_time"] == pytest.approx(plan.duration_s + 30, abs=1)
    assert session["total_distance"] == pytest.approx(samples[-1].distance_m, abs=0.02)
    laps = msgs["lap"]
    assert sum(lap["total_distance"] for lap in laps) == pytest.approx(session["total_distance"], abs=0.1)  # type: ignore[misc]
    assert sum(lap["total_timer_time"] for lap in laps) == pytest.approx(
        session["total_timer_time"], abs=0.01
    )  # type: ignore[misc]
    assert [lap["intensity"] for lap in laps][:3] == ["warmup", "active", "recovery"]
    assert laps[-1]["intensity"] == "cooldown"
    assert all((lap["sport"], lap["sub_sport"]) == ("walking", "treadmill") for lap in laps)
    # timestamps are the samples' wall times
    first = msgs["record"][0]
    assert first["timestamp"] == datetime.fromtimestamp(int(samples[0].t), UTC)
    assert msgs["record"][-1]["timestamp"] == datetime.fromtimestamp(int(samples[-1].t), UTC)
    assert session["start_time"] == first["timestamp"]
    speeds = [r["speed"] for r in msgs["record"]]
    assert max(speeds) == pytest.approx(6.0 / 3.6, abs=0.001)  # type: ignore[type-var]
    assert all(r["heart_rate"] is not None for r in msgs["record"])
    # the pause is a timer stop/start pair
    timer = [(e["event"], e["event_type"]) for e in msgs["event"]]
    assert timer == [("timer", "start"), ("timer", "stop_all"), ("timer", "start"), ("timer", "stop_all")]
    (activity,) = msgs["activity"]
    assert activity["num_sessions"] == 1

    g = garmin_decode(data)
    assert len(g["record_mesgs"]) == len(samples)
    assert len(g["lap_mesgs"]) == len(plan.segments)
    (gs,) = g["session_mesgs"]
    assert (gs["sport"], gs["sub_sport"]) == ("walking", "treadmill")
    assert gs["total_distance"] == pytest.approx(session["total_distance"])


def test_fit_sport_comes_from_intent_never_from_speed(store: SessionStore) -> None:
    fast_walk = Plan(name="Fast walk", segments=(PlanSegment("Fast", "work", 9.0, 0.0, duration_s=60),))
    slow_run = Plan(
        name="Slow run", segments=(PlanSegment("Jog", "work", 5.0, 0.0, duration_s=60),), intent="running"
    )
    walk = fit_messages(export_fit(store, record(store, fast_walk)))["session"][0]
    run = fit_messages(export_fit(store, record(store, slow_run)))["session"][0]
    assert walk["sport"] == "walking"
    assert run["sport"] == "running"
    assert export_tcx(store, 1).count('Sport="Other"') == 1
    assert export_tcx(store, 2).count('Sport="Running"') == 1


def test_fit_of_an_interrupted_session_holds_what_was_recorded(store: SessionStore) -> None:
    plan = synthetic_plan(10)
    items = list(synthetic_session(plan, rate_hz=1))
    rec = Recorder(store, plan, device="Sim", clock_wall=lambda: WALL0)
    for item in items[: len(items) // 2]:  # the process dies half way
        if isinstance(item, SessionEvent):
            rec.on_event(item)
        else:
            rec.on_snapshot(item)
    store.release_live(rec.session_id)
    assert store.get_session(rec.session_id).status == "interrupted"
    data = export_fit(store, rec.session_id)
    msgs = fit_messages(data)
    garmin_decode(data)
    samples = activity_samples(store.samples(rec.session_id))
    assert len(msgs["record"]) == len(samples)
    assert msgs["session"][0]["total_distance"] == pytest.approx(samples[-1].distance_m, abs=0.02)


def test_fit_without_heart_rate_or_steps_leaves_them_out(store: SessionStore) -> None:
    sid = record(store, synthetic_plan(3), heart_rate=False, steps=False)
    msgs = fit_messages(export_fit(store, sid))
    assert all(r.get("heart_rate") is None and r.get("cadence") is None for r in msgs["record"])
    assert msgs["session"][0].get("avg_heart_rate") is None


def test_a_corrupted_fit_file_fails_its_crc(store: SessionStore) -> None:
    data = bytearray(export_fit(store, record(store, synthetic_plan(2))))
    data[200] ^= 0x01
    with pytest.raises(fitdecode.FitCRCError):
        fit_messages(bytes(data))
    assert not Decoder(Stream.from_byte_array(data)).check_integrity()


def test_a_session_that_never_moved_has_nothing_to_export(store: SessionStore) -> None:
    rec = Recorder(store, synthetic_plan(2), device="Sim")
    rec.on_snapshot(
        SessionSnapshot(
            at=0, wall=WALL0, plan=synthetic_plan(2), phase=Phase.COUNTDOWN, machine=TreadmillState()
        )
    )
    rec.finish(StopReason.USER, {})
    with pytest.raises(NothingToExport):
        export_fit(store, rec.session_id)
    with pytest.raises(NothingToExport):
        export_tcx(store, rec.session_id)
    assert export_csv(store, rec.session_id).count("\n") == 2  # header + the one sample


# -- TCX ------------------------------------------------------------------------------------------

# Sequences from TrainingCenterDatabasev2.xsd (Lap_t, Trackpoint_t, Activity_t); "?" optional.
LAP_ORDER = [
    "TotalTimeSeconds",
    "DistanceMeters",
    "MaximumSpeed?",
    "Calories",
    "AverageHeartRateBpm?",
    "MaximumHeartRateBpm?",
    "Intensity",
    "Cadence?",
    "TriggerMethod",
    "Track*",
    "Notes?",
    "Extensions?",
]
TRACKPOINT_ORDER = [
    "Time",
    "Position?",
    "AltitudeMeters?",
    "DistanceMeters?",
    "HeartRateBpm?",
    "Cadence?",
    "SensorState?",
    "Extensions?",
]
ACTIVITY_ORDER = ["Id", "Lap+", "Notes?", "Training?", "Creator?", "Extensions?"]


def check_sequence(el: ET.Element, spec: list[str], ns: str = TCX) -> None:
    """The children of ``el`` follow the xs:sequence ``spec`` (name, name?, name*, name+)."""
    names = [c.tag.removeprefix(ns) for c in el]
    i = 0
    for item in spec:
        name, card = (item[:-1], item[-1]) if item[-1] in "?*+" else (item, "")
        count = 0
        while i < len(names) and names[i] == name:
            i += 1
            count += 1
        if (card == "" and count != 1) or (card == "?" and count > 1) or (card == "+" and count < 1):
            raise AssertionError(f"{el.tag}: {name} appears {count} times in {names}")
    assert i == len(names), f"{el.tag}: unexpected {names[i:]} (order or name)"


def tcx_time(text: str | None) -> datetime:
    assert text is not None
    assert text.endswith("Z")
    return datetime.fromisoformat(text)


def validate_tcx(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{TCX}TrainingCenterDatabase"
    assert [c.tag for c in root] == [f"{TCX}Activities"]
    activities = root.find(f"{TCX}Activities")
    assert activities is not None
    for activity in activities:
        assert activity.tag == f"{TCX}Activity"
        assert activity.get("Sport") in {"Running", "Biking", "Other"}
        check_sequence(activity, ACTIVITY_ORDER)
        tcx_time(activity.findtext(f"{TCX}Id"))
        last_distance = 0.0
        for lap in activity.findall(f"{TCX}Lap"):
            tcx_time(lap.get("StartTime"))
            check_sequence(lap, LAP_ORDER)
            assert float(lap.findtext(f"{TCX}TotalTimeSeconds") or "x") >= 0
            assert float(lap.findtext(f"{TCX}DistanceMeters") or "x") >= 0
            assert 0 <= int(lap.findtext(f"{TCX}Calories") or "x") <= 65535
            assert lap.findtext(f"{TCX}Intensity") in {"Active", "Resting"}
            assert lap.findtext(f"{TCX}TriggerMethod") in {
                "Manual",
                "Distance",
                "Location",
                "Time",
                "HeartRate",
            }
            for hr in ("AverageHeartRateBpm", "MaximumHeartRateBpm"):
                if (el := lap.find(f"{TCX}{hr}")) is not None:
                    assert 1 <= int(el.findtext(f"{TCX}Value") or "x") <= 255
            for track in lap.findall(f"{TCX}Track"):
                assert len(track) >= 1
                for tp in track:
                    assert tp.tag == f"{TCX}Trackpoint"
                    check_sequence(tp, TRACKPOINT_ORDER)
                    tcx_time(tp.findtext(f"{TCX}Time"))
                    if (d := tp.findtext(f"{TCX}DistanceMeters")) is not None:
                        assert float(d) >= last_distance
                        last_distance = float(d)
                    if (hr_el := tp.find(f"{TCX}HeartRateBpm")) is not None:
                        assert 1 <= int(hr_el.findtext(f"{TCX}Value") or "x") <= 255
                    if (ext := tp.find(f"{TCX}Extensions")) is not None:
                        (tpx,) = list(ext)
                        assert tpx.tag == f"{TPX}TPX"
                        check_sequence(tpx, ["Speed?", "RunCadence?", "Watts?"], ns=TPX)
                        if (sp := tpx.findtext(f"{TPX}Speed")) is not None:
                            assert float(sp) >= 0
                        if (cad := tpx.findtext(f"{TPX}RunCadence")) is not None:
                            assert 0 <= int(cad) <= 254
            if (ext := lap.find(f"{TCX}Extensions")) is not None:
                (lx,) = list(ext)
                assert lx.tag == f"{TPX}LX"
                check_sequence(
                    lx,
                    [
                        "AvgSpeed?",
                        "MaxBikeCadence?",
                        "AvgRunCadence?",
                        "MaxRunCadence?",
                        "Steps?",
                        "AvgWatts?",
                        "MaxWatts?",
                    ],
                    ns=TPX,
                )
    return root


def test_tcx_is_structurally_valid_with_laps_and_trackpoints(store: SessionStore) -> None:
    plan = synthetic_plan(15)
    sid = record(store, plan, rate_hz=2, pause_at_s=100, pause_s=20)
    root = validate_tcx(export_tcx(store, sid))
    samples = activity_samples(store.samples(sid))
    (activity,) = root.iter(f"{TCX}Activity")
    assert activity.get("Sport") == "Other"  # walking: TCX has no walking sport
    laps = activity.findall(f"{TCX}Lap")
    assert len(laps) == len(plan.segments)
    assert [lap.findtext(f"{TCX}Notes") for lap in laps] == [s.name for s in plan.segments]
    points = list(activity.iter(f"{TCX}Trackpoint"))
    assert len(points) == len(samples)
    total = sum(float(lap.findtext(f"{TCX}DistanceMeters") or 0) for lap in laps)
    assert total == pytest.approx(samples[-1].distance_m, abs=0.1)
    assert tcx_time(points[0].findtext(f"{TCX}Time")) == datetime.fromtimestamp(samples[0].t, UTC)
    assert points[10].find(f"{TCX}HeartRateBpm") is not None
    assert points[10].find(f".//{TPX}RunCadence") is not None  # the synthetic belt counts steps


def test_tcx_validator_catches_a_misordered_lap() -> None:
    bad = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
        '<Activities><Activity Sport="Other"><Id>2026-01-01T00:00:00Z</Id>'
        '<Lap StartTime="2026-01-01T00:00:00Z"><DistanceMeters>1</DistanceMeters>'
        "<TotalTimeSeconds>1</TotalTimeSeconds><Calories>0</Calories><Intensity>Active</Intensity>"
        "<TriggerMethod>Manual</TriggerMethod></Lap></Activity></Activities></TrainingCenterDatabase>"
    )
    with pytest.raises(AssertionError):
        validate_tcx(bad)


def test_a_stop_mid_segment_ends_its_lap_not_an_empty_cool_down_lap() -> None:
    # x (or Ctrl+C) mid-segment: the final sample is outside the plan; it showed as a lap
    # "cool-down 0:00 0 m" in history, FIT and TCX
    from treadwalk.recording.laps import laps
    from treadwalk.recording.store import Sample

    plan = {"segments": [{"name": "Warm-up", "kind": "warmup", "duration_s": 90.0}]}
    samples = [Sample(t=float(i), elapsed_s=float(i), distance_m=i * 1.0, segment=0) for i in range(10)]
    samples.append(Sample(t=10.0, elapsed_s=9.5, distance_m=10.0, segment=None, phase="aborted"))
    out = laps(samples, plan)
    assert [lap.name for lap in out] == ["Warm-up"]
    assert out[0].totals.distance_m == 10.0
    # after a real cool-down, the final sample still ends the cool-down lap
    cooled = [*samples[:-1], Sample(t=10.0, elapsed_s=10.0, distance_m=10.0, phase="cooldown")]
    cooled.append(Sample(t=20.0, elapsed_s=20.0, distance_m=18.0, phase="finished"))
    assert [(lap.name, lap.totals.distance_m) for lap in laps(cooled, plan)] == [
        ("Warm-up", 10.0),
        ("cool-down", 8.0),
    ]


# -- CSV ------------------------------------------------------------------------------------------


def test_csv_has_a_header_and_a_row_per_sample(store: SessionStore) -> None:
    sid = record(store, synthetic_plan(5))
    rows = list(csv.DictReader(io.StringIO(export_csv(store, sid))))
    samples = store.samples(sid)
    assert len(rows) == len(samples)
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0]["phase"] == "countdown"
    assert rows[0]["segment"] == ""
    assert rows[1]["segment_name"] == "Warm-up"
    assert float(rows[-1]["distance_m"]) == pytest.approx(samples[-1].distance_m or 0)
    assert rows[5]["time_utc"].endswith("Z")


# -- the command ----------------------------------------------------------------------------------


def test_export_cli_writes_each_format(
    store: SessionStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sid = record(store, synthetic_plan(3))
    data_dir = str(store.path.parent)
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    for fmt in ("fit", "tcx", "csv"):
        assert main(["export", str(sid), "--format", fmt, "--data-dir", data_dir]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 3
    for name, ext in zip(names, ("csv", "fit", "tcx"), strict=True):
        assert re.fullmatch(rf"treadwalk-{sid}-\d{{8}}-\d{{4}}-synthetic-walk\.{ext}", name), name
    fit_file = next(out.glob("*.fit"))
    garmin_decode(fit_file.read_bytes())
    validate_tcx(next(out.glob("*.tcx")).read_text())
    capsys.readouterr()
    # an existing file is not overwritten without --force
    assert main(["export", str(sid), "--format", "fit", "--data-dir", data_dir]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["export", str(sid), "--format", "fit", "--data-dir", data_dir, "--force"]) == 0
    # -o PATH and -o -
    assert main(["export", str(sid), "-f", "tcx", "-o", str(tmp_path / "x.tcx"), "--data-dir", data_dir]) == 0
    validate_tcx((tmp_path / "x.tcx").read_text())
    capsys.readouterr()
    assert main(["export", str(sid), "--format", "csv", "-o", "-", "--data-dir", data_dir]) == 0
    assert capsys.readouterr().out.startswith(",".join(CSV_COLUMNS))


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["export", "99", "--format", "fit"], "no session 99"),
        (["export", "1", "--format", "gpx"], "unknown format 'gpx'"),
        (["export", "one", "--format", "fit"], "not a session id"),
    ],
)
def test_export_cli_bad_input_is_one_sentence_and_exit_2(
    store: SessionStore, argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    record(store, synthetic_plan(2))
    assert main([*argv, "--data-dir", str(store.path.parent)]) == 2
    err = capsys.readouterr().err
    assert says in err
    assert err.count("\n") == 1


def test_export_cli_of_a_session_that_never_moved(
    store: SessionStore, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = Recorder(store, synthetic_plan(2), device="Sim")
    rec.finish(StopReason.USER, {})
    assert main(["export", str(rec.session_id), "--format", "fit", "--data-dir", str(store.path.parent)]) == 2
    err = capsys.readouterr().err
    assert "nothing to export: it never started" in err
    assert "--format csv" not in err  # csv would be a header and nothing else
