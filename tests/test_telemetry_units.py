"""The pure parts of MQTT telemetry: URL parsing, payloads, the command gate, the watch board
and table, and import hygiene. No broker needed."""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mqtt_broker import event, snapshot

from treadwalk.core.errors import UsageError
from treadwalk.core.model import BeltState, CommandKind, Limits, PausedBy, Phase
from treadwalk.telemetry import MqttSettings, parse_mqtt_url, treadmill_id_for
from treadwalk.telemetry.board import Board
from treadwalk.telemetry.control import CommandGate, Refused
from treadwalk.telemetry.payloads import (
    BadCommand,
    CommandProblem,
    RemoteRequest,
    parse_command,
    state_payload,
)

# ---------------------------------------------------------------------------------------------
# URL


def test_url_defaults_and_parts() -> None:
    s = parse_mqtt_url("mqtt://broker.lan")
    assert (s.host, s.port, s.prefix, s.tls, s.username, s.password) == (
        "broker.lan",
        1883,
        "treadwalk",
        False,
        None,
        None,
    )
    s = parse_mqtt_url("mqtts://coach:p%40ss%2Fw@10.0.0.2/gym/room-1/")
    assert (s.host, s.port, s.prefix, s.tls) == ("10.0.0.2", 8883, "gym/room-1", True)
    assert (s.username, s.password) == ("coach", "p@ss/w")
    assert "p@ss" not in repr(s)
    assert "p@ss" not in s.display
    assert parse_mqtt_url("MQTT://[::1]:1884").host == "::1"
    assert parse_mqtt_url("mqtt://h", discovery_prefix=None).discovery_prefix is None


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://broker", "mqtt:// or mqtts://"),
        ("broker:1883", "mqtt:// or mqtts://"),
        ("mqtt://", "no broker host"),
        ("mqtt://:1883", "no broker host"),
        ("mqtt://h:99999", "not a valid broker URL"),
        ("mqtt://h:0", "outside 1-65535"),
        ("mqtt://h:port", "not a valid broker URL"),
        ("mqtt://h/a/+/b", "prefix"),
        ("mqtt://h/a//b", "prefix"),
        ("mqtt://h/#", "'#'"),
        ("mqtt://h/x?retain=1", "'?'"),
    ],
)
def test_bad_urls_are_one_usage_sentence(url: str, says: str) -> None:
    with pytest.raises(UsageError, match=None) as caught:
        parse_mqtt_url(url)
    message = str(caught.value)
    assert says in message
    assert "\n" not in message
    assert caught.value.exit_code == 2


def test_tls_options(tmp_path: Path) -> None:
    ca, cert, key = (tmp_path / n for n in ("ca.pem", "c.pem", "c.key"))
    for f in (ca, cert, key):
        f.write_text("x")
    s = parse_mqtt_url("mqtts://h", ca=ca, cert=cert, key=key)
    assert (s.ca_file, s.cert_file, s.key_file) == (ca, cert, key)
    with pytest.raises(UsageError, match="mqtts://"):
        parse_mqtt_url("mqtt://h", ca=ca)
    with pytest.raises(UsageError, match="go together"):
        parse_mqtt_url("mqtts://h", cert=cert)
    with pytest.raises(UsageError, match="not a readable file"):
        parse_mqtt_url("mqtts://h", ca=tmp_path / "missing.pem")


def test_broken_tls_files_are_a_telemetry_error(tmp_path: Path) -> None:
    from treadwalk.core.errors import TelemetryError
    from treadwalk.telemetry.client import tls_context

    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(TelemetryError, match="--mqtt-ca"):
        tls_context(parse_mqtt_url("mqtts://h", ca=bad))


@pytest.mark.parametrize(
    ("name", "expected"),
    [("KS-ST A1 (AB:CD)", "ks-st_a1_ab_cd"), ("", "treadmill"), (None, "treadmill"), ("Ünïcode", "n_code")],
)
def test_treadmill_id_for(name: str | None, expected: str) -> None:
    assert treadmill_id_for(name) == expected


def test_treadmill_id_must_be_one_topic_level() -> None:
    from treadwalk.telemetry import MqttTelemetry

    with pytest.raises(UsageError):
        MqttTelemetry(MqttSettings("h"), "a/b")
    with pytest.raises(UsageError):
        MqttTelemetry(MqttSettings("h"), "#")


# ---------------------------------------------------------------------------------------------
# Payloads


def test_state_payload_says_null_for_what_the_machine_does_not_report() -> None:
    doc = state_payload(snapshot(5.0, speed=None, heart_rate=None, segment=None), "tm")
    assert doc["speed_kmh"] is None
    assert doc["pace_s_per_km"] is None
    assert doc["heart_rate_bpm"] is None
    assert doc["segment_index"] is None
    assert doc["segment_name"] is None
    standing = state_payload(snapshot(5.0, speed=0.0), "tm")
    assert standing["speed_kmh"] == 0.0
    assert standing["pace_s_per_km"] is None
    json.dumps(doc, allow_nan=False)


def test_observer_never_raises_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    from treadwalk.telemetry import MqttTelemetry

    telemetry = MqttTelemetry(MqttSettings("h"), "tm")
    with caplog.at_level(logging.ERROR, logger="treadwalk.telemetry"):
        for _ in range(3):
            telemetry.on_event(event(0.0, "warning", "odd", value=float("nan")))  # not JSON
    assert len([r for r in caplog.records if "session goes on" in r.getMessage()]) == 1
    telemetry.on_event(event(0.0, "cue", "fine", path=Path("/x")))  # str() of what JSON cannot write
    assert len(telemetry._queue) == 1


@given(st.binary(max_size=700))
def test_any_bytes_parse_or_are_refused(payload: bytes) -> None:
    try:
        request = parse_command(payload)
    except BadCommand as exc:
        reason = exc.reason
        assert reason
        return
    assert request.command in ("pause", "resume", "stop", "skip", "speed", "incline")


# generating these documents is slow on a loaded machine: that is not what the test is about
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.fixed_dictionaries(
        {"command": st.sampled_from(["pause", "speed", "incline", "start", "Stop"])},
        optional={
            "delta_kmh": st.one_of(st.floats(), st.integers(), st.text(), st.booleans()),
            "target_pct": st.one_of(st.floats(), st.none()),
        },
    )
)
def test_any_json_command_parses_or_is_refused(doc: dict[str, object]) -> None:
    with contextlib.suppress(BadCommand):
        request = parse_command(json.dumps(doc).encode())
        assert request.command in ("pause", "speed", "incline", "stop")


def test_start_is_never_parsed_into_a_request() -> None:
    for word in ("start", "START", " start "):
        with pytest.raises(BadCommand, match="never starts") as caught:
            parse_command(json.dumps({"command": word}).encode())
        assert caught.value.problem is CommandProblem.NEVER_ALLOWED  # typed, not read from the text
    with pytest.raises(BadCommand) as caught:
        parse_command(b'{"command": "speed"}')
    assert caught.value.problem is CommandProblem.MALFORMED


# ---------------------------------------------------------------------------------------------
# The command gate


def _decide(gate: CommandGate, request: RemoteRequest, **snap: object) -> CommandKind:
    return gate.decide(request, snapshot(0.0, **snap), now=100.0).command.kind  # type: ignore[arg-type]


STANDING = [
    {"phase": Phase.CONNECTING, "belt": BeltState.UNKNOWN},
    {"phase": Phase.READY, "belt": BeltState.STOPPED},
    {"phase": Phase.COUNTDOWN, "belt": BeltState.STOPPED},
    {"phase": Phase.FINISHED, "belt": BeltState.STOPPED},
    {"phase": Phase.ABORTED, "belt": BeltState.STOPPED},
    {"phase": Phase.PAUSED, "belt": BeltState.PAUSED, "paused_by": PausedBy.MACHINE},
    {"phase": Phase.PAUSED, "belt": BeltState.STOPPED, "paused_by": None},
]


@pytest.mark.parametrize("state", STANDING)
@pytest.mark.parametrize(
    "request_",
    [
        RemoteRequest("resume"),
        RemoteRequest("speed", delta=0.5),
        RemoteRequest("skip"),
        RemoteRequest("incline", delta=1),
    ],
)
def test_nothing_moves_a_standing_belt(state: dict[str, object], request_: RemoteRequest) -> None:
    with pytest.raises(Refused):
        _decide(CommandGate(now=100.0), request_, **state)


def test_no_snapshot_yet_refuses_everything() -> None:
    gate = CommandGate(now=0.0)
    for word in ("pause", "resume", "stop", "skip"):
        with pytest.raises(Refused, match="no session"):
            gate.decide(RemoteRequest(word), None, now=1.0)


def test_resume_is_never_remote_not_even_from_a_pause_the_keys_or_mqtt_made() -> None:
    for by in ("user", "remote"):
        with pytest.raises(Refused, match="never starts a belt from standstill"):
            _decide(CommandGate(now=100.0), RemoteRequest("resume"), phase=Phase.PAUSED, paused_by=by)


def test_speed_and_incline_while_running_and_refused_on_a_machine_that_reports_stopped() -> None:
    assert _decide(CommandGate(now=100.0), RemoteRequest("speed", delta=0.5)) is CommandKind.SPEED
    with pytest.raises(Refused, match="belt stopped"):
        _decide(CommandGate(now=100.0), RemoteRequest("speed", delta=0.5), belt=BeltState.STOPPED)
    assert _decide(CommandGate(now=100.0), RemoteRequest("skip"), phase=Phase.COOLDOWN) is CommandKind.SKIP


def test_stop_always_passes_and_is_never_rate_limited() -> None:
    gate = CommandGate(now=100.0)
    for phase in (Phase.READY, Phase.COUNTDOWN, Phase.RUNNING, Phase.PAUSED):
        for _ in range(10):
            assert _decide(gate, RemoteRequest("stop"), phase=phase) is CommandKind.STOP


def test_targets_are_clamped_to_the_caps_and_the_change_rate() -> None:
    limits = Limits(max_speed_kmh=6.0, max_incline_pct=5.0, max_speed_step_kmh_per_s=1.0)
    gate = CommandGate(limits, now=0.0)
    snap = snapshot(0.0, target_speed=5.8, target_incline=4.0)
    d = gate.decide(RemoteRequest("speed", target=12.0), snap, now=10.0)
    assert d.command.value == pytest.approx(0.2)
    assert "maximum 6" in str(d.clamped)
    # the budget is 1.0 km/h per second: 0.8 left now, then nothing until time passes
    d = gate.decide(RemoteRequest("speed", delta=-3.0), snap, now=10.0)
    assert d.command.value == pytest.approx(-0.8)
    with pytest.raises(Refused, match="rate limited"):
        gate.decide(RemoteRequest("speed", delta=-1.0), snap, now=10.0)
    assert gate.decide(RemoteRequest("speed", delta=-1.0), snap, now=10.5).command.value == pytest.approx(
        -0.5
    )
    with pytest.raises(Refused, match="maximum 5"):
        gate.decide(RemoteRequest("incline", delta=2.0), snapshot(0.0, target_incline=5.0), now=20.0)
    with pytest.raises(Refused, match="no speed target"):
        gate.decide(RemoteRequest("speed", target=5.0), snapshot(0.0, target_speed=None), now=30.0)


def test_a_burst_of_commands_is_rate_limited() -> None:
    gate = CommandGate(commands_per_s=2.0, burst=3, now=0.0)
    snap = snapshot(0.0)
    reasons: list[str] = []
    for _ in range(10):
        try:
            gate.decide(RemoteRequest("skip"), snap, now=0.0)
        except Refused as exc:
            reasons.append(exc.reason)
    assert len(reasons) == 7
    assert all("rate limited" in r for r in reasons)
    gate.decide(RemoteRequest("skip"), snap, now=0.5)  # one more token after half a second


def test_values_are_marked_as_from_mqtt() -> None:
    d = CommandGate(now=0.0).decide(RemoteRequest("pause"), snapshot(0.0), now=1.0)
    assert d.command.source == "mqtt"


# ---------------------------------------------------------------------------------------------
# The watch board and table


def _state(**fields: object) -> bytes:
    base = {
        "name": "Lane 1",
        "phase": "running",
        "segment_index": 1,
        "segment_count": 3,
        "segment_name": "Brisk",
    }
    return json.dumps({**base, **fields}).encode()


def test_board_follows_state_and_availability_and_ignores_garbage() -> None:
    board = Board("gym")
    assert board.feed("gym/l1/state", _state(speed_kmh=5.5, wall=900.0), retained=True, now=1000.0)
    row = board.rows()[0]
    assert (row.name, row.phase, row.segment, row.speed_kmh, row.last_seen) == (
        "Lane 1",
        "running",
        "2/3 Brisk",
        5.5,
        900.0,  # retained: as old as it says
    )
    assert row.status(1000.0) == "unknown"
    assert board.feed("gym/l1/availability", b"online", retained=False, now=1000.0)
    assert board.rows()[0].status(1000.0) == "stale"  # online, but the last state is 100 s old
    board.feed("gym/l1/state", _state(wall=1.0), retained=False, now=1001.0)
    assert board.rows()[0].last_seen == 1001.0  # live: as old as now
    assert board.rows()[0].status(1002.0) == "online"
    board.feed("gym/l1/availability", b"offline", retained=False, now=1003.0)
    assert board.rows()[0].status(1003.0) == "offline"
    for topic, payload in [
        ("gym/l2/state", b"{not json"),
        ("gym/l2/state", b"[1, 2]"),
        ("gym/l2/availability", b"maybe"),
        ("gym/l2/other", b"{}"),
        ("gym/a/b/state", b"{}"),
        ("other/l2/state", _state()),
    ]:
        assert not board.feed(topic, payload, retained=False, now=1.0)
    assert [r.treadmill_id for r in board.rows()] == ["l1"]
    board.feed("gym/l3/state", _state(speed_kmh="fast", heart_rate_bpm=True, name=7), retained=False, now=1.0)
    odd = board.rows()[1]
    assert (odd.name, odd.speed_kmh, odd.heart_rate_bpm) == ("l3", None, None)


def test_watch_table_renders_as_text() -> None:
    from treadwalk.dashboard.watch import format_ago, render_watch_text

    board = Board("t")
    board.feed("t/a/availability", b"online", retained=True, now=0.0)
    board.feed(
        "t/a/state",
        _state(speed_kmh=5.5, incline_pct=4.0, distance_m=1234.0, heart_rate_bpm=131),
        retained=False,
        now=100.0,
    )
    board.feed("t/b/availability", b"offline", retained=True, now=0.0)
    text = render_watch_text(board.rows(), 103.0, width=120)
    a_line = next(line for line in text.splitlines() if "Lane 1 (a)" in line)
    for cell in ("online", "running", "2/3 Brisk", "5.5", "4.0", "1.23", "131", "3 s ago"):
        assert cell in a_line
    b_line = next(line for line in text.splitlines() if "│ b " in line)
    assert "OFFLINE" in b_line
    assert "never" in b_line
    assert "no treadmill" in render_watch_text([], 0.0)
    assert [format_ago(t, 10_000.0) for t in (9_999.5, 9_950.0, 9_000.0, 1_000.0)] == [
        "now",
        "50 s ago",
        "17 min ago",
        "2.5 h ago",
    ]


# ---------------------------------------------------------------------------------------------
# Import hygiene


def test_telemetry_package_and_watch_help_do_not_import_aiomqtt_or_rich() -> None:
    code = (
        "import sys, treadwalk.telemetry, treadwalk.telemetry.board, treadwalk.cli.watch; "
        "from treadwalk.telemetry import parse_mqtt_url, settings_from_args; "
        "print(','.join(m for m in ('aiomqtt', 'paho', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "treadwalk", "watch", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--mqtt URL" in out.stdout
    assert "--once" in out.stdout
    assert "aiomqtt" not in out.stderr  # -X importtime lists every module imported


def test_lazy_exports_resolve() -> None:
    import treadwalk.telemetry as telemetry

    assert telemetry.MqttTelemetry.__name__ == "MqttTelemetry"
    assert callable(telemetry.watch_broker)
    with pytest.raises(AttributeError):
        _ = telemetry.nothing_here  # type: ignore[attr-defined]


def test_settings_from_args_needs_mqtt_for_its_options() -> None:
    import argparse

    from treadwalk.telemetry import add_mqtt_arguments, settings_from_args

    parser = argparse.ArgumentParser()
    add_mqtt_arguments(parser)
    assert settings_from_args(parser.parse_args([])) is None
    with pytest.raises(UsageError, match="--mqtt-control needs --mqtt"):
        settings_from_args(parser.parse_args(["--mqtt-control"]))
    s = settings_from_args(parser.parse_args(["--mqtt", "mqtt://h/p", "--no-mqtt-discovery"]))
    assert s is not None
    assert (s.prefix, s.discovery_prefix) == ("p", None)
    assert replace(s, port=1).port == 1
