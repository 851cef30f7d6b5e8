"""Heart rate end to end, as `treadwalk run PROFILE --sim` builds it: the real engine, FtmsTreadmill
and the strap client over the Bumble radio to the virtual treadmill and the virtual strap (whose
heart follows the belt), the recorder and its FIT export, in virtual time. The segment holds
110-125 bpm by incline; the strap connects after the treadmill; what is recorded is real
readings only (no 0, no 255), and an independent FIT reader sees the same."""

from __future__ import annotations

import argparse
import asyncio
import io
from pathlib import Path
from typing import Any

import fitdecode
import pytest
from garmin_fit_sdk import Decoder, Stream

from treadwalk.cli.heart import choose
from treadwalk.cli.run import _Composition
from treadwalk.core.model import EventKind, Limits, SessionEvent, SessionSnapshot
from treadwalk.engine import Settings
from treadwalk.profile import load_profile
from treadwalk.recording import SessionStore
from treadwalk.recording.fit import export_fit

pytestmark = pytest.mark.virtual_time

PROFILE = """
name = "Held by incline"
intent = "walking"

[[segment]]
name = "Warm-up"
duration = "3m"
speed = 4.5

[[segment]]
name = "Zone"
duration = "20m"
speed = 5.0
incline = 2
hr = "110-125"
adjust = "incline"
min_incline = 0
max_incline = 12
"""


class Watch:
    def __init__(self) -> None:
        self.snaps: list[SessionSnapshot] = []
        self.events: list[SessionEvent] = []

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        self.snaps.append(snapshot)

    def on_event(self, event: SessionEvent) -> None:
        self.events.append(event)


async def test_a_zone_is_held_by_incline_on_the_virtual_strap_and_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREADWALK_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "zone.toml"
    path.write_text(PROFILE)
    plan = load_profile(path).to_plan()
    args = argparse.Namespace(
        sim=True, hci=None, no_dashboard=True, yes=True, summary_json=None, mqtt_id=None, mqtt_control=False
    )
    comp = _Composition(
        args=args,
        device="treadwalk-sim",
        plan=plan,
        limits=Limits(max_incline_pct=12.0),
        settings=Settings(auto_start=True, cooldown_s=0.0, countdown_s=3.0),
        speedup=1.0,
        reconnect_grace_s=30.0,
        quirks={},
        mqtt=None,
    )
    comp.hr_choice = choose(None, None, sim=True)  # the default with --sim: the virtual strap
    watch = Watch()
    real_display = _Composition._display

    def display(self: _Composition, session: Any, saved_to: str) -> Any:
        session.add_observer(watch)
        return real_display(self, session, saved_to)

    monkeypatch.setattr(_Composition, "_display", display)
    code = await asyncio.wait_for(comp.main(), 3600)
    assert code == 0

    # the second half of the zone segment: in 110-125 (a few bpm of noise either side allowed)
    zone = [s for s in watch.snaps if s.segment_index == 1 and s.segment_elapsed_s >= 600]
    bpms = [s.hr_bpm for s in zone if s.hr_bpm is not None]
    assert len(bpms) > 300
    inside = sum(108 <= b <= 127 for b in bpms) / len(bpms)
    assert inside >= 0.85, f"{inside:.0%} in zone"
    moves = [e for e in watch.events if e.kind is EventKind.HEART_RATE]
    assert moves and all(e.data.get("adjust") == "incline" for e in moves)
    assert max(s.target_incline_pct or 0 for s in watch.snaps) <= 12.0

    with SessionStore(tmp_path / "data" / "sessions.db") as store:
        (info,) = store.list_sessions()
        samples = store.samples(info.id)
        fit = export_fit(store, info.id)
    recorded = [s.heart_rate_bpm for s in samples if s.heart_rate_bpm is not None]
    assert len(recorded) > 0.8 * len(samples)
    assert all(30 <= b <= 230 for b in recorded)

    # the FIT activity, read by two independent readers: heart rate in the records, average and
    # max in the laps and the session, and never a 0 or a 255
    with fitdecode.FitReader(io.BytesIO(fit), check_crc=fitdecode.CrcCheck.ENABLED) as reader:
        frames = [f for f in reader if isinstance(f, fitdecode.FitDataMessage)]
    hr = [f.get_value("heart_rate") for f in frames if f.name == "record" and f.has_field("heart_rate")]
    hr = [v for v in hr if v is not None]
    assert len(hr) > 0.8 * len(samples)
    assert all(30 <= v <= 230 for v in hr)
    (session,) = [f for f in frames if f.name == "session"]
    assert 90 <= session.get_value("avg_heart_rate") <= session.get_value("max_heart_rate") <= 230
    messages, errors = Decoder(Stream.from_byte_array(bytearray(fit))).read()
    assert not errors
    sdk = [m["heart_rate"] for m in messages["record_mesgs"] if m.get("heart_rate") is not None]
    assert sdk == hr
    assert all(lap.get("max_heart_rate") not in (0, 255) for lap in messages["lap_mesgs"])

    # the strap's RR intervals are kept with the samples and exported as HRV messages
    rr = [v for s in samples for v in s.rr_ms]
    assert len(rr) > len(samples)  # a heart beats more than once a second
    assert all(260 <= v <= 2000 for v in rr)
    hrv = [f.get_value("time") for f in frames if f.name == "hrv"]
    flat = [v for t in hrv for v in (t if isinstance(t, tuple) else (t,)) if v is not None]
    assert flat == pytest.approx([v / 1000 for v in rr], abs=0.0011)
    sdk_times = [m["time"] for m in messages.get("hrv_mesgs", [])]
    sdk_hrv = [v for t in sdk_times for v in (t if isinstance(t, list | tuple) else [t]) if v is not None]
    assert sdk_hrv == pytest.approx(flat, abs=1e-6)
