"""A real session over MQTT: Session -> FtmsTreadmill -> the Bumble radio -> the virtual
treadmill, observed by MqttTelemetry on a real Mosquitto, with remote control on. Real time,
the clock 20x faster (a broker is a real process: no virtual time here)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from mqtt_broker import Listener, Mosquitto

from treadwalk.core.clock import LoopClock
from treadwalk.core.model import Command, CommandKind, Limits, Plan, PlanSegment, StopReason
from treadwalk.engine import Session, Settings
from treadwalk.radio import VirtualRadio
from treadwalk.sim import VirtualTreadmill
from treadwalk.telemetry import MqttTelemetry, parse_mqtt_url
from treadwalk.treadmill.ftms import FtmsTreadmill

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

NAME = "treadwalk-sim"
SPEEDUP = 20.0


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path) as b:
        yield b


async def test_a_real_session_is_published_and_mqtt_never_starts_its_belt(broker: Mosquitto) -> None:
    settings = replace(parse_mqtt_url(f"{broker.url}/gym"), reconnect_min_s=0.1)
    plan = Plan(
        "mqtt",
        (
            PlanSegment("one", "work", 4.0, 1.0, duration_s=120),
            PlanSegment("two", "work", 5.0, 2.0, duration_s=600),
        ),
    )
    clock = LoopClock(SPEEDUP)
    limits = Limits(max_speed_kmh=6.0)
    async with (
        Listener(broker.port, "gym/#") as listener,
        VirtualRadio() as radio,
    ):
        device = await radio.new_device(NAME)
        async with VirtualTreadmill(device, clock, name=NAME) as sim:
            treadmill = FtmsTreadmill(NAME, clock=clock, radio=radio)
            session = Session(treadmill, plan, clock, limits=limits, settings=Settings(cooldown_s=20.0))
            telemetry = MqttTelemetry(
                settings, "sim", name=NAME, submit=session.submit, control=True, limits=limits
            )
            session.add_observer(telemetry)

            def states() -> list[dict[str, object]]:
                return [m.json() for m in listener.on("gym/sim/state")]

            async def send(payload: str) -> None:
                await listener.client.publish("gym/sim/command", payload, qos=1)

            def refused(command: str) -> int:
                return sum(
                    1
                    for m in listener.on("gym/sim/event")
                    if m.json()["kind"] == "command_refused" and m.json()["data"]["command"] == command
                )

            async with telemetry:
                task = asyncio.create_task(session.run(), name="session")
                try:
                    await listener.wait_for(
                        lambda m: m.topic == "gym/sim/state" and m.json()["phase"] == "ready", within_s=20
                    )
                    # the belt stands: a remote cannot start it, nor nudge it
                    for payload in ('{"command": "start"}', '{"command": "resume"}', '{"command": "skip"}'):
                        await send(payload)
                    await listener.wait_for(lambda m: refused("skip") == 1)
                    await asyncio.sleep(0.5)  # 10 s of session time: still standing
                    assert "07" not in [h[:2] for _, h in sim.received]  # no Start/Resume ever written
                    assert sim.stopped

                    session.submit(Command(CommandKind.START))  # the walker's key
                    await listener.wait_for(
                        lambda m: m.topic == "gym/sim/state" and (m.json()["speed_kmh"] or 0) >= 3.9,
                        within_s=20,
                    )
                    await send('{"command": "speed", "target_kmh": 9}')  # capped at 6.0
                    await listener.wait_for(
                        lambda m: m.topic == "gym/sim/state" and m.json()["target_speed_kmh"] == 6.0,
                        within_s=10,
                    )
                    await send('{"command": "pause"}')
                    await listener.wait_for(
                        lambda m: m.topic == "gym/sim/state" and m.json()["phase"] == "paused", within_s=10
                    )
                    await send('{"command": "resume"}')  # a paused belt stands too
                    await listener.wait_for(lambda m: refused("resume") == 2)
                    await asyncio.sleep(0.5)
                    assert states()[-1]["phase"] == "paused"
                    assert states()[-1]["paused_by"] == "remote"

                    session.submit(Command(CommandKind.RESUME))  # the walker again
                    await listener.wait_for(
                        lambda m: m.topic == "gym/sim/state" and m.json()["phase"] == "running"
                    )
                    await send('{"command": "stop"}')
                    result = await asyncio.wait_for(task, 30)
                finally:
                    if not task.done():
                        task.cancel()
                        await asyncio.wait([task])
            await listener.wait_for(lambda m: m.topic == "gym/sim/availability" and m.payload == b"offline")

    assert result.stop_reason is StopReason.USER
    assert states()[-1]["phase"] == "finished"
    assert states()[-1]["stop_reason"] == "user"
    kinds = [m.json()["kind"] for m in listener.on("gym/sim/event")]
    assert "phase" in kinds or "segment" in kinds
    assert kinds.count("command_refused") == 4  # start, resume, skip while ready; resume while paused
    assert "command_clamped" in kinds
    # the session itself recorded the remote commands it took, with who asked
    engine = {(m.json()["kind"], str(m.json()["data"])) for m in listener.on("gym/sim/event")}
    assert ("pause", "{'by': 'remote', 'source': 'mqtt'}") in engine
    assert ("override", "{'speed_kmh': 6.0, 'override_kmh': 2.0, 'source': 'mqtt'}") in engine
    assert len(states()) >= 5
    assert [m.payload for m in listener.on("gym/sim/availability")][:1] == [b"online"]
