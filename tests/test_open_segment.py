"""Open segments: a watch's lap-button step, a .zwo FreeRide, ``duration = "open"``. It plays
until the walker presses n (skip), or a remote sends skip over MQTT; the dashboard says so."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from mqtt_broker import Listener, Mosquitto
from test_dashboard import RUNNING, big_number, text_of
from test_engine_core import new_run, plan, seg

from treadwalk.core.clock import LoopClock
from treadwalk.core.errors import ProfileError
from treadwalk.core.model import Command, CommandKind, CommandSource, Plan, PlanSegment, StopReason
from treadwalk.engine import Session, Settings
from treadwalk.engine.core import snapshot
from treadwalk.profile import (
    Segment,
    dump_profile,
    load_profile,
    parse_profile,
    read_zwo,
    write_qz_xml,
    write_zwo,
)
from treadwalk.profile.fitworkout import read_fit_workout, write_fit_workout
from treadwalk.radio import VirtualRadio
from treadwalk.sim import VirtualTreadmill
from treadwalk.telemetry import MqttTelemetry, parse_mqtt_url
from treadwalk.treadmill.ftms import FtmsTreadmill

FIXTURES = Path(__file__).parent / "fixtures" / "fit_workouts"
OPEN_TOML = """name = "Until ready"
[[segment]]
duration = "2m"
speed = 4.5
[[segment]]
name = "Jog until ready"
duration = "open"
speed = 8
incline = 1
cues = [{ at = "30s", text = "Press n when you are warm" }]
[[segment]]
duration = "3m"
speed = 4
"""


def test_toml_open_segments_load_dump_and_refuse_a_ramp() -> None:
    profile = parse_profile(OPEN_TOML, "open.toml")
    middle = profile.items[1]
    assert isinstance(middle, Segment)
    assert middle.open
    assert middle.duration_s is None
    assert middle.distance is None
    assert parse_profile(dump_profile(profile), "again.toml") == profile
    assert profile.to_plan().segments[1].open
    with pytest.raises(ProfileError, match="an open segment has no end to ramp to"):
        parse_profile('name = "x"\n[[segment]]\nduration = "open"\nspeed = 5\nend_speed = 6\n', "r.toml")


def test_an_open_segment_plays_until_skipped_and_mqtt_skip_ends_it_too() -> None:
    r = new_run(
        plan(seg("a", duration_s=10.0), seg("open", duration_s=None, open=True), seg("c", duration_s=10.0))
    )
    r.start()
    r.advance_to(r.now + 11.0)
    assert r.state.seg_index == 1
    r.advance_to(r.now + 6 * 3600.0)  # hours later: still there, the deadline never comes
    assert r.state.seg_index == 1
    shown = snapshot(r.state, r.now, 0.0, r.machine)
    assert shown.segment_remaining_s is None
    assert shown.segment_progress == 0.0
    r.step(commands=(Command(CommandKind.EXTEND, 15.0),))  # e cannot lengthen what has no end
    assert r.state.seg_index == 1
    r.step(commands=(Command(CommandKind.SKIP, source=CommandSource.MQTT),))
    assert r.state.seg_index == 2
    messages = [a.message for _, a in r.log if hasattr(a, "message")]
    assert "open: 5 km/h, 0 % until you press n." in messages


def test_the_dashboard_says_press_n_when_ready() -> None:
    p = Plan("open", (PlanSegment("Jog until ready", "work", 8.0, 1.0, open=True),))
    s = dataclasses.replace(
        RUNNING,
        plan=p,
        segment_index=0,
        segment_remaining_s=None,
        segment_elapsed_s=75.0,
        segment_progress=0.0,
    )
    lines = text_of(s, 80, 24)
    screen = "\n".join(lines)
    assert "press n when ready" in screen
    assert big_number(lines, "SEGMENT TIME", 28) == "1:15"


def test_a_zwo_freeride_plays_as_an_open_segment_at_the_speed_before() -> None:
    zwo = """<workout_file><name>Free</name><sportType>run</sportType><workout>
      <SteadyState Duration="300" Power="1.0" pace="2"/>
      <FreeRide Duration="600"><textevent timeoffset="0" message="Your pace, press n to go on"/></FreeRide>
    </workout></workout_file>"""
    profile = read_zwo(zwo, "free.zwo")
    first, free = profile.items
    assert isinstance(first, Segment)
    assert isinstance(free, Segment)
    assert free.open
    assert free.speed == first.speed
    assert [c.text for c in free.cues] == ["Your pace, press n to go on"]
    again = read_zwo(write_zwo(profile)[0], "again.zwo")  # out as a FreeRide, back as open
    assert again.items[1] == free
    with pytest.raises(ProfileError, match="no step before it"):
        read_zwo(zwo.replace('<SteadyState Duration="300" Power="1.0" pace="2"/>', ""), "bare.zwo")


def test_a_fit_lap_button_step_is_open_and_goes_back_out_as_one() -> None:
    profile = load_profile(FIXTURES / "lap-button-run.fit")
    assert profile.intent == "running"
    step = profile.items[1]
    assert isinstance(step, Segment)
    assert step.open
    assert step.name == "Run until ready"
    assert step.speed.kmh == pytest.approx(2.5 * 3.6, abs=0.01)
    toml = parse_profile(OPEN_TOML, "open.toml")
    data, _ = write_fit_workout(toml)
    assert read_fit_workout(data, "open.fit") == toml
    _, notes = write_qz_xml(toml)
    assert any("open" in n for n in notes)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path) as b:
        yield b


@pytest.mark.mqtt
@pytest.mark.slow
async def test_over_a_real_broker_skip_ends_an_open_segment(broker: Mosquitto) -> None:
    settings = replace(parse_mqtt_url(f"{broker.url}/gym"), reconnect_min_s=0.1)
    p = Plan(
        "open",
        (
            PlanSegment("until ready", "work", 4.0, 0.0, open=True),
            PlanSegment("after", "work", 4.5, 0.0, duration_s=600),
        ),
    )
    clock = LoopClock(20.0)
    async with Listener(broker.port, "gym/#") as listener, VirtualRadio() as radio:
        device = await radio.new_device("open-sim")
        async with VirtualTreadmill(device, clock, name="open-sim"):
            session = Session(
                FtmsTreadmill("open-sim", clock=clock, radio=radio),
                p,
                clock,
                settings=Settings(cooldown_s=0.0),
            )
            telemetry = MqttTelemetry(settings, "sim", name="open-sim", submit=session.submit, control=True)
            session.add_observer(telemetry)

            def state(key: str, value: object) -> object:
                return lambda m: m.topic == "gym/sim/state" and m.json()[key] == value

            async with telemetry:
                task = asyncio.create_task(session.run(), name="session")
                try:
                    await listener.wait_for(state("phase", "ready"), within_s=20)
                    session.submit(Command(CommandKind.START))  # the walker's key
                    await listener.wait_for(state("phase", "running"), within_s=20)
                    await asyncio.sleep(1.5)  # 30 s of session time: an open segment does not end
                    last = [m.json() for m in listener.on("gym/sim/state")][-1]
                    assert last["segment_index"] == 0
                    assert last["segment_remaining_s"] is None
                    await listener.client.publish("gym/sim/command", '{"command": "skip"}', qos=1)
                    await listener.wait_for(state("segment_index", 1), within_s=10)
                    session.submit(Command(CommandKind.STOP))
                    result = await asyncio.wait_for(task, 30)
                finally:
                    if not task.done():
                        task.cancel()
                        await asyncio.wait([task])
    assert result.stop_reason is StopReason.USER
