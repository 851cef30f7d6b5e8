"""MQTT telemetry against a real Mosquitto (started per test on a free port, killed after).

What a session's observer stream becomes on the broker (state, events, availability with a
last will, Home Assistant discovery); that a broker restart does not touch the producer and
publishing resumes; that remote control never starts a belt and drops bad payloads; TLS.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mqtt_broker import Listener, Mosquitto, event, snapshot

from treadwalk.core.model import BeltState, Command, CommandKind, Limits, Phase
from treadwalk.telemetry import MqttTelemetry, parse_mqtt_url
from treadwalk.telemetry.settings import MqttSettings

pytestmark = pytest.mark.mqtt

FAST = {"reconnect_min_s": 0.1, "reconnect_max_s": 0.5, "keepalive_s": 5}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path) as b:
        yield b


def settings_for(broker: Mosquitto, prefix: str = "treadwalk") -> MqttSettings:
    from dataclasses import replace

    return replace(parse_mqtt_url(f"{broker.url}/{prefix}"), **FAST)  # type: ignore[arg-type]


async def test_session_stream_publishes_state_events_availability_and_discovery(broker: Mosquitto) -> None:
    async with Listener(broker.port, "treadwalk/#", "homeassistant/#") as listener:
        telemetry = MqttTelemetry(settings_for(broker), "tm1", name="Hall treadmill")
        async with telemetry:
            await asyncio.wait_for(telemetry.connected.wait(), 5)
            telemetry.on_event(event(0.0, "phase", "running", phase="running"))
            for i in range(4):  # 0.0 .. 1.5 s at 2 Hz: 1 Hz state -> t=0 and t=1
                telemetry.on_snapshot(snapshot(i * 0.5))
            telemetry.on_event(event(1.6, "segment", "Brisk", index=1, name="Brisk"))
            telemetry.on_snapshot(snapshot(1.7, segment=1, target_speed=5.5))  # segment change: at once
            telemetry.on_event(event(1.8, "cue", "Short quick steps"))
            await listener.wait_for(lambda m: m.topic.endswith("/event") and m.json()["kind"] == "cue")

        await listener.wait_for(lambda m: m.topic.endswith("availability") and m.payload == b"offline")

    states = [m.json() for m in listener.on("treadwalk/tm1/state")]
    assert [s["elapsed_s"] for s in states] == [0.0, 1.0, 1.7]
    first = states[0]
    assert first["phase"] == "running"
    assert first["segment_index"] == 0
    assert first["segment_name"] == "Warm up"
    assert first["segment_count"] == 3
    assert first["target_speed_kmh"] == 4.0
    assert first["target_incline_pct"] == 1.0
    assert first["speed_kmh"] == 4.0
    assert first["incline_pct"] == 1.0
    assert first["heart_rate_bpm"] == 112
    assert first["pace_s_per_km"] == 900
    assert first["remaining_s"] == 1200.0
    assert first["name"] == "Hall treadmill"
    assert all(m.retain is False for m in listener.on("treadwalk/tm1/state"))  # live delivery
    assert states[2]["segment_name"] == "Brisk"
    assert states[2]["target_speed_kmh"] == 5.5

    events = [m.json() for m in listener.on("treadwalk/tm1/event")]
    assert [e["kind"] for e in events] == ["phase", "segment", "cue"]
    assert events[1]["data"] == {"index": 1, "name": "Brisk"}

    assert [m.payload for m in listener.on("treadwalk/tm1/availability")] == [b"online", b"offline"]

    configs = {m.topic: m for m in listener.messages if m.topic.startswith("homeassistant/")}
    sensors = {t.split("/")[3] for t in configs if t.startswith("homeassistant/sensor/treadwalk_tm1/")}
    assert sensors == {"speed", "incline", "distance", "elapsed", "pace", "heart_rate", "phase"}
    speed = configs["homeassistant/sensor/treadwalk_tm1/speed/config"].json()
    assert speed["availability_topic"] == "treadwalk/tm1/availability"
    assert speed["state_topic"] == "treadwalk/tm1/state"
    assert speed["unique_id"] == "treadwalk_tm1_speed"
    assert speed["device"]["identifiers"] == ["treadwalk_tm1"]
    assert speed["device"]["name"] == "Hall treadmill"
    # control is off: no numbers or buttons (their configs are cleared, not left behind)
    controls = [m for t, m in configs.items() if "/number/" in t or "/button/" in t]
    assert controls
    assert all(m.payload == b"" for m in controls)

    # a new subscriber gets the retained availability, state and discovery
    async with Listener(broker.port, "treadwalk/#", "homeassistant/sensor/#") as late:
        await late.wait_for(lambda m: m.topic == "treadwalk/tm1/availability" and m.retain)
        await late.wait_for(lambda m: m.topic == "treadwalk/tm1/state" and m.retain)
        await late.wait_for(lambda m: m.topic.endswith("/phase/config") and m.retain)
        assert late.on("treadwalk/tm1/availability")[0].payload == b"offline"


async def test_discovery_with_control_has_numbers_and_buttons_on_one_device(broker: Mosquitto) -> None:
    async with Listener(broker.port, "homeassistant/#") as listener:
        limits = Limits(max_speed_kmh=7.0, max_incline_pct=8.0)
        telemetry = MqttTelemetry(
            settings_for(broker), "tm2", submit=lambda c: None, control=True, limits=limits
        )
        async with telemetry:
            await asyncio.wait_for(telemetry.connected.wait(), 5)
            await listener.wait_for(lambda m: m.topic.endswith("/button/treadwalk_tm2/stop/config"))
    configs = {m.topic.split("/", 1)[1]: m.json() for m in listener.messages if m.payload}
    assert set(configs) >= {
        "number/treadwalk_tm2/target_speed/config",
        "number/treadwalk_tm2/target_incline/config",
        "button/treadwalk_tm2/pause/config",
        "button/treadwalk_tm2/stop/config",
    }
    assert "button/treadwalk_tm2/resume/config" not in configs  # published empty: no remote resume
    assert {json.dumps(c["device"], sort_keys=True) for c in configs.values()} == {
        json.dumps(configs["button/treadwalk_tm2/stop/config"]["device"], sort_keys=True)
    }
    speed = configs["number/treadwalk_tm2/target_speed/config"]
    assert speed["max"] == 7.0
    assert speed["command_topic"] == "treadwalk/tm2/command"
    assert json.loads(speed["command_template"].replace("{{ value }}", "5.5")) == {
        "command": "speed",
        "target_kmh": 5.5,
    }
    assert json.loads(configs["button/treadwalk_tm2/pause/config"]["payload_press"]) == {"command": "pause"}


LAST_WILL_CLIENT = textwrap.dedent(
    """
    import asyncio, sys
    from dataclasses import replace
    from treadwalk.telemetry import MqttTelemetry, parse_mqtt_url

    async def main():
        settings = replace(parse_mqtt_url(sys.argv[1]), discovery_prefix=None)
        async with MqttTelemetry(settings, "doomed") as telemetry:
            await telemetry.connected.wait()
            print("connected", flush=True)
            await asyncio.sleep(60)

    asyncio.run(main())
    """
)


async def test_killed_client_leaves_retained_offline_by_last_will(broker: Mosquitto) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LAST_WILL_CLIENT, broker.url, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 15)
        assert line.strip() == b"connected"
        async with Listener(broker.port, "treadwalk/doomed/availability") as listener:
            await listener.wait_for(lambda m: m.payload == b"online")
            process.kill()  # no clean disconnect: only the broker's last will can say offline
            await listener.wait_for(lambda m: m.payload == b"offline")
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
    async with Listener(broker.port, "treadwalk/doomed/availability") as late:
        offline = await late.wait_for(lambda m: True)
        assert offline.payload == b"offline"
        assert offline.retain


async def test_broker_restart_never_touches_the_producer_and_publishing_resumes(
    broker: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    telemetry = MqttTelemetry(settings_for(broker), "tm3", state_interval_s=0.0, queue_size=50)
    durations: list[float] = []
    t = 0.0

    def feed(n: int) -> None:
        nonlocal t
        for _ in range(n):
            t += 0.05
            t0 = time.perf_counter()
            telemetry.on_snapshot(snapshot(t))
            durations.append(time.perf_counter() - t0)

    async def produce(seconds: float) -> None:  # the session: 20 samples a second, undisturbed
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            feed(1)
            await asyncio.sleep(0.05)

    with caplog.at_level(logging.WARNING, logger="treadwalk.telemetry"):
        async with telemetry:
            await asyncio.wait_for(telemetry.connected.wait(), 5)
            async with Listener(broker.port, "treadwalk/tm3/state") as listener:
                await produce(0.5)
                await listener.wait_for(lambda m: True)
            broker.stop()
            fed_before = len(durations)
            await produce(1.0)  # broker down: ~20 samples (fewer on a busy machine), queue of 50
            feed(100)  # a long outage: the oldest are dropped, nothing blocks
            assert telemetry.stats.dropped >= len(durations) - fed_before - 50
            last_before = t
            broker.start()
            async with asyncio.timeout(10):
                while telemetry.stats.connections < 2:
                    await produce(0.1)
            async with Listener(broker.port, "treadwalk/tm3/state", "treadwalk/tm3/availability") as listener:
                await produce(0.5)
                # (the backlog kept through the outage may come first; then the new samples)
                await listener.wait_for(
                    lambda m: m.topic.endswith("state") and m.json()["elapsed_s"] > last_before
                )
                online = await listener.wait_for(lambda m: m.topic.endswith("availability"))
                assert online.payload == b"online"
                assert online.retain
    # never blocked: a blocked call would take a network timeout (seconds), not microseconds
    durations.sort()
    assert durations[len(durations) // 2] < 0.001, durations[-5:]
    assert durations[-1] < 0.05, durations[-5:]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert sum("dropping the oldest" in w for w in warnings) == 1, warnings  # warned once
    assert sum("unavailable" in w for w in warnings) == 1, warnings


async def test_unreachable_broker_does_not_block_or_raise(caplog: pytest.LogCaptureFixture) -> None:
    from mqtt_broker import free_port

    settings = MqttSettings("127.0.0.1", free_port(), reconnect_min_s=0.05, reconnect_max_s=0.2)
    telemetry = MqttTelemetry(settings, "alone", queue_size=10, state_interval_s=0.0)
    with caplog.at_level(logging.WARNING, logger="treadwalk.telemetry"):
        async with telemetry:
            for i in range(50):
                telemetry.on_snapshot(snapshot(i * 0.1))
                telemetry.on_event(event(i * 0.1, "cue", "x"))
                await asyncio.sleep(0.01)
    assert telemetry.stats.connections == 0
    assert telemetry.stats.dropped == 90
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2, warnings  # one "unavailable", one "dropping": not one per attempt


# ---------------------------------------------------------------------------------------------
# Remote control


class Control:
    """A telemetry with control on, its submitted commands, and a command publisher."""

    def __init__(self, broker: Mosquitto, limits: Limits | None = None) -> None:
        self.submitted: list[Command] = []
        self._arrived = asyncio.Event()
        self.telemetry = MqttTelemetry(
            settings_for(broker), "tmc", submit=self.submit, control=True, limits=limits
        )

    def submit(self, command: Command) -> None:
        self.submitted.append(command)
        self._arrived.set()

    async def until(self, predicate: Callable[[list[Command]], bool]) -> None:
        async with asyncio.timeout(5):
            while not predicate(self.submitted):
                self._arrived.clear()
                await self._arrived.wait()


async def _send(listener: Listener, payload: bytes | str, *, retain: bool = False) -> None:
    await listener.client.publish("treadwalk/tmc/command", payload, qos=1, retain=retain)


def _refusals(listener: Listener) -> list[dict[str, object]]:
    return [
        m.json()["data"] for m in listener.on("treadwalk/tmc/event") if m.json()["kind"] == "command_refused"
    ]


async def test_retained_start_and_commands_to_a_standing_belt_are_refused(broker: Mosquitto) -> None:
    async with Listener(broker.port, "treadwalk/tmc/event") as listener:
        # a retained "start" waits on the broker before the session connects
        await _send(listener, b'{"command": "start"}', retain=True)
        control = Control(broker)
        async with control.telemetry as telemetry:
            await asyncio.wait_for(telemetry.connected.wait(), 5)
            await listener.wait_for(lambda m: len(_refusals(listener)) >= 1)
            telemetry.on_snapshot(
                snapshot(0.0, phase=Phase.READY, segment=None, belt=BeltState.STOPPED, speed=0.0)
            )
            for payload in (
                '{"command": "start"}',
                '{"command": "resume"}',
                '{"command": "speed", "delta_kmh": 1}',
                '{"command": "skip"}',
            ):
                await _send(listener, payload)
            await listener.wait_for(lambda m: len(_refusals(listener)) >= 5)
            # paused by the treadmill itself (console or safety key): resume stays local too
            telemetry.on_snapshot(
                snapshot(1.0, phase=Phase.PAUSED, paused_by="machine", belt=BeltState.PAUSED)
            )
            await _send(listener, '{"command": "resume"}')
            await listener.wait_for(lambda m: len(_refusals(listener)) >= 6)
        await _send(listener, b"", retain=True)  # clear the retained ones
    refusals = _refusals(listener)
    assert [r["command"] for r in refusals] == ["start", "start", "resume", "speed", "skip", "resume"]
    assert "retained" in str(refusals[0]["reason"])
    assert "never starts" in str(refusals[1]["reason"])
    assert "ready" in str(refusals[2]["reason"])
    assert "stands" in str(refusals[3]["reason"])
    assert "resume at the treadmill" in str(refusals[5]["reason"])
    assert control.submitted == []
    assert control.telemetry.stats.refused == 6


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ('{"command": "speed", "delta_kmh": 1}', CommandKind.SPEED),
        ('{"command": "skip"}', CommandKind.SKIP),
        ('{"command": "stop"}', CommandKind.STOP),
        ('{"command": "pause"}', CommandKind.PAUSE),
    ],
)
async def test_a_retained_command_is_never_applied_to_a_running_belt(
    broker: Mosquitto, payload: str, kind: CommandKind
) -> None:
    """A command left retained on the broker (last week's, another app's) is old news: it is
    refused, and the same command sent live is taken, so it is the retain that was refused."""
    async with Listener(broker.port, "treadwalk/tmc/event") as listener:
        await _send(listener, payload, retain=True)
        control = Control(broker)
        control.telemetry.on_snapshot(snapshot(0.0))  # a belt walking at 5 km/h when it connects
        async with control.telemetry as telemetry:
            await asyncio.wait_for(telemetry.connected.wait(), 5)
            await listener.wait_for(lambda m: len(_refusals(listener)) >= 1)
            assert control.submitted == []
            await _send(listener, payload)
            await control.until(lambda c: len(c) >= 1)
        await _send(listener, b"", retain=True)
    (refusal,) = _refusals(listener)
    assert "retained" in str(refusal["reason"])
    assert [c.kind for c in control.submitted] == [kind]


async def test_accepted_commands_reach_the_session_clamped_and_rate_limited(broker: Mosquitto) -> None:
    control = Control(broker, Limits(max_speed_kmh=6.0, max_speed_step_kmh_per_s=1.0))
    async with Listener(broker.port, "treadwalk/tmc/event") as listener, control.telemetry as telemetry:
        await asyncio.wait_for(telemetry.connected.wait(), 5)
        telemetry.on_snapshot(snapshot(0.0, target_speed=5.5, speed=5.5))
        await _send(listener, '{"command": "speed", "target_kmh": 9}')  # over the cap: 6.0 -> +0.5
        await _send(listener, '{"command": "pause"}')
        await control.until(lambda c: len(c) >= 2)
        # paused by the remote: resuming is still a start from standstill, and stays local
        telemetry.on_snapshot(snapshot(1.0, phase=Phase.PAUSED, paused_by="remote", belt=BeltState.PAUSED))
        await _send(listener, '{"command": "resume"}')
        await listener.wait_for(lambda m: m.json()["data"].get("command") == "resume")
        telemetry.on_snapshot(snapshot(2.0, target_speed=5.0, speed=5.0))
        await _send(listener, '{"command": "speed", "delta_kmh": 3}')  # over the rate: +1.0 at most
        await asyncio.sleep(1.6)  # the command bucket is full again: 3
        for _ in range(5):  # a burst: the bucket runs dry
            await _send(listener, '{"command": "skip"}')
        await _send(listener, '{"command": "stop"}')  # stop is never rate-limited
        await control.until(lambda c: bool(c) and c[-1].kind is CommandKind.STOP)
        await listener.wait_for(lambda m: m.json()["kind"] == "command_refused")
    kinds = [(c.kind, c.value) for c in control.submitted]
    assert kinds[0] == (CommandKind.SPEED, 0.5)
    assert kinds[1] == (CommandKind.PAUSE, None)
    assert kinds[2][0] is CommandKind.SPEED
    assert 0.05 <= (kinds[2][1] or 0.0) <= 1.0
    assert (CommandKind.RESUME, None) not in kinds
    assert kinds[-1] == (CommandKind.STOP, None)
    assert 3 <= kinds.count((CommandKind.SKIP, None)) < 5
    assert all(c.source == "mqtt" for c in control.submitted)
    clamped = [m.json() for m in listener.on("treadwalk/tmc/event") if m.json()["kind"] == "command_clamped"]
    assert "maximum 6" in clamped[0]["data"]["reason"]
    assert any("rate limited" in str(r["reason"]) for r in _refusals(listener))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"pause", "not a JSON object"),
        (b'["pause"]', "not a JSON object"),
        (b"\xff\xfe", "not a JSON object"),
        (b'{"cmd": "pause"}', 'no "command"'),
        (b'{"command": "fly"}', "unknown command"),
        (b'{"command": "speed", "delta_kmh": "fast"}', "must be a number"),
        (b'{"command": "speed", "delta_kmh": 1, "target_kmh": 5}', "exactly one"),
        (b'{"command": "pause", "x": 1}', "unexpected field"),
        (b'{"command": "pause", "pad": "' + b"x" * 600 + b'"}', "over the 512-byte limit"),
    ],
)
async def test_malformed_and_oversized_payloads_are_dropped(
    broker: Mosquitto, payload: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    control = Control(broker)
    with caplog.at_level(logging.WARNING, logger="treadwalk.telemetry"):
        async with Listener(broker.port, "treadwalk/tmc/event") as listener, control.telemetry as telemetry:
            await asyncio.wait_for(telemetry.connected.wait(), 5)
            telemetry.on_snapshot(snapshot(0.0))
            await _send(listener, payload)
            refused = await listener.wait_for(lambda m: m.json()["kind"] == "command_refused")
    assert reason in refused.json()["data"]["reason"]
    assert control.submitted == []
    assert telemetry.stats.malformed == 1
    assert any(reason in r.getMessage() for r in caplog.records)  # logged


async def test_without_control_commands_are_not_even_heard(broker: Mosquitto) -> None:
    submitted: list[Command] = []
    telemetry = MqttTelemetry(settings_for(broker), "tmc", submit=submitted.append, control=False)
    async with Listener(broker.port, "treadwalk/tmc/event") as listener, telemetry:
        await asyncio.wait_for(telemetry.connected.wait(), 5)
        telemetry.on_snapshot(snapshot(0.0))
        await _send(listener, '{"command": "pause"}')
        telemetry.on_event(event(0.1, "marker", "after"))
        await listener.wait_for(lambda m: m.json()["kind"] == "marker")
        await asyncio.sleep(0.2)
    assert submitted == []
    assert telemetry.stats.refused == 0
    assert [m.json()["kind"] for m in listener.on("treadwalk/tmc/event")] == ["marker"]


# ---------------------------------------------------------------------------------------------
# TLS


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path, tls=True) as b:
        yield b


async def test_tls_with_a_test_ca_and_client_certificate(tls_broker: Mosquitto) -> None:
    pki = tls_broker.pki
    assert pki is not None
    from dataclasses import replace

    url = f"mqtts://localhost:{tls_broker.tls_port}/gym"
    settings = replace(
        parse_mqtt_url(url, ca=pki.ca, cert=pki.client_cert, key=pki.client_key),
        **FAST,  # type: ignore[arg-type]
    )
    assert settings.tls
    async with Listener(tls_broker.port, "gym/#") as listener:  # the plain listener of the same broker
        async with MqttTelemetry(settings, "secure") as telemetry:
            await asyncio.wait_for(telemetry.connected.wait(), 5)
            telemetry.on_snapshot(snapshot(3.0))
            state = await listener.wait_for(lambda m: m.topic == "gym/secure/state")
        assert state.json()["elapsed_s"] == 3.0


# paho leaks the SSLSocket of a failed TLS handshake (closed by the garbage collector, with a
# ResourceWarning): upstream, not ours; only this test tolerates it.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <ssl.SSLSocket:pytest.PytestUnraisableExceptionWarning"
)
async def test_tls_refuses_an_untrusted_broker_and_a_broker_refuses_no_client_cert(
    tls_broker: Mosquitto,
) -> None:
    pki = tls_broker.pki
    assert pki is not None
    from dataclasses import replace

    url = f"mqtts://localhost:{tls_broker.tls_port}/gym"
    settings = replace(
        parse_mqtt_url(url, ca=pki.ca, cert=pki.client_cert, key=pki.client_key),
        **FAST,  # type: ignore[arg-type]
    )
    # the wrong CA: the server is not trusted, nothing is published, nothing raises
    wrong = replace(settings, ca_file=pki.other_ca)
    async with Listener(tls_broker.port, "gym/#") as listener:
        async with MqttTelemetry(wrong, "secure2") as telemetry:
            telemetry.on_snapshot(snapshot(1.0))
            await asyncio.sleep(1.0)
            assert telemetry.stats.connections == 0
        # no client certificate: the broker requires one
        anonymous = replace(settings, cert_file=None, key_file=None)
        async with MqttTelemetry(anonymous, "secure3") as telemetry:
            telemetry.on_snapshot(snapshot(1.0))
            await asyncio.sleep(1.0)
            assert telemetry.stats.published == 0
    assert listener.messages == []


# ---------------------------------------------------------------------------------------------
# treadwalk watch


def _watch(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "treadwalk", "watch", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


async def test_watch_once_lists_every_treadmill_and_marks_offline(broker: Mosquitto) -> None:
    a = MqttTelemetry(settings_for(broker), "lane1", name="Lane 1")
    b = MqttTelemetry(settings_for(broker), "lane2", name="Lane 2")
    async with a, b:
        await asyncio.wait_for(asyncio.gather(a.connected.wait(), b.connected.wait()), 5)
        a.on_snapshot(snapshot(61.0, segment=1, speed=5.5, heart_rate=131))
        b.on_snapshot(snapshot(5.0, phase=Phase.PAUSED, paused_by="user", speed=0.0, heart_rate=None))
        await asyncio.sleep(0.3)
        await b.aclose()  # lane 2 leaves: offline
        out = await asyncio.to_thread(_watch, "--mqtt", broker.url, "--once", "--wait", "0.5")
        js = await asyncio.to_thread(_watch, "--mqtt", broker.url, "--once", "--wait", "0.5", "--json")
    assert out.returncode == 0, out.stderr
    lines = {line.split("│")[1].strip(): line for line in out.stdout.splitlines() if "│ Lane" in line}
    assert set(lines) == {"Lane 1 (lane1)", "Lane 2 (lane2)"}
    assert "online" in lines["Lane 1 (lane1)"]
    assert "running" in lines["Lane 1 (lane1)"]
    assert "2/3 Brisk" in lines["Lane 1 (lane1)"]
    assert "5.5" in lines["Lane 1 (lane1)"]
    assert "131" in lines["Lane 1 (lane1)"]
    assert "0.07" in lines["Lane 1 (lane1)"]
    assert "OFFLINE" in lines["Lane 2 (lane2)"]
    assert "paused" in lines["Lane 2 (lane2)"]
    rows = [json.loads(line) for line in js.stdout.splitlines()]
    assert [(r["treadmill_id"], r["status"]) for r in rows] == [("lane1", "online"), ("lane2", "offline")]


@pytest.mark.parametrize("mode", [["--once"], []], ids=["once", "live"])
def test_watch_without_a_broker_is_one_sentence_exit_1(tmp_path: Path, mode: list[str]) -> None:
    """A closed port: the live watch's TaskGroup wraps the broker task's error in an
    ExceptionGroup; the walker still gets the one sentence, not "unexpected error"."""
    from mqtt_broker import free_port

    out = _watch("--mqtt", f"mqtt://127.0.0.1:{free_port()}", *mode)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert "unexpected" not in out.stderr
    assert out.stderr.startswith("treadwalk: cannot reach the MQTT broker")
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [[], ["--mqtt", "http://x"], ["--mqtt", "mqtt://h:99999"], ["--mqtt", "mqtt://h", "--mqtt-ca", "ca.pem"]],
)
def test_watch_bad_usage_exits_2(args: list[str]) -> None:
    out = _watch(*args)
    assert out.returncode == 2, out
    assert "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1


@pytest.mark.slow
def test_watch_live_ends_cleanly_on_ctrl_c(broker: Mosquitto) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "treadwalk", "watch", "--mqtt", broker.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "120", "TERM": "dumb"},
    )
    try:
        time.sleep(2.0)  # importing and connecting
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err
    assert b"Treadmill" in out  # the table was drawn
