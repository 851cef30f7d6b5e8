"""BlueZ's errors, said as one sentence (``treadwalk.core.bluez``), for the treadmill and the strap.

The classification is checked with bleak's real ``BleakDBusError`` built with BlueZ's real error
names. The paths are checked through the real client code over the Bumble radio to the virtual
treadmill and strap, with one thing faked below bleak's API: the Bumble radio cannot produce
BlueZ's D-Bus errors, so a subclass of the radio's client backend raises them where BlueZ would
(the BlueZ tier's ``acquired`` case shows the real "Notify acquired" from bluetoothd)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakDBusError, BleakError

from treadwalk.core import bluez
from treadwalk.core.clock import LoopClock
from treadwalk.core.errors import HeartRateError, TreadmillError
from treadwalk.heartrate.strap import BleHeartRate
from treadwalk.radio import VirtualRadio
from treadwalk.sim import VirtualStrap, VirtualTreadmill
from treadwalk.treadmill.ftms import FtmsTreadmill

pytestmark = pytest.mark.virtual_time

NOTIFY_ACQUIRED = BleakDBusError("org.bluez.Error.NotPermitted", ["Notify acquired"])
IN_PROGRESS = BleakDBusError("org.bluez.Error.InProgress", ["Operation already in progress"])
AUTH = BleakDBusError("org.bluez.Error.AuthenticationFailed", ["Authentication Failed"])


def test_bluez_errors_are_classified() -> None:
    assert bluez.problem(NOTIFY_ACQUIRED) is bluez.BluezProblem.NOTIFY_ACQUIRED
    assert bluez.problem(IN_PROGRESS) is bluez.BluezProblem.IN_PROGRESS
    assert bluez.problem(AUTH) is bluez.BluezProblem.NEEDS_PAIRING
    att = BleakDBusError("org.bluez.Error.Failed", ["Operation failed with ATT error: 0x05"])
    assert "Insufficient Authentication" in str(att)  # bleak names the ATT error
    assert bluez.problem(att) is bluez.BluezProblem.NEEDS_PAIRING
    assert bluez.problem(BleakDBusError("org.bluez.Error.Failed", ["le-connection-abort-by-local"])) is None
    assert bluez.problem(BleakError("Device disconnected")) is None


def test_the_sentences_name_what_to_do() -> None:
    acquired = bluez.advice(bluez.BluezProblem.NOTIFY_ACQUIRED, "Belt", "AA:BB:CC:DD:EE:FF")
    assert "QDomyos-Zwift" in acquired and "Home Assistant" in acquired and acquired.endswith("try again.")
    busy = bluez.advice(bluez.BluezProblem.IN_PROGRESS, "Belt", "AA:BB:CC:DD:EE:FF")
    assert "bluetoothctl disconnect AA:BB:CC:DD:EE:FF" in busy
    pair = bluez.advice(bluez.BluezProblem.NEEDS_PAIRING, "H10", "11:22:33:44:55:66", what="heart-rate strap")
    assert "'pair 11:22:33:44:55:66'" in pair and "'trust 11:22:33:44:55:66'" in pair
    for sentence in (acquired, busy, pair):
        assert sentence.count(". ") == 0 and sentence.endswith(".")


@dataclass
class _Raising:
    """The radio's backends, with a client that raises BlueZ's error at one step."""

    radio: VirtualRadio
    on: str  # "connect" or "notify"
    error: BaseException
    times: int = 1_000

    @property
    def scanner_backend(self) -> type[BaseBleakScanner]:
        return self.radio.scanner_backend

    @property
    def client_backend(self) -> type[BaseBleakClient]:
        base: Any = self.radio.client_backend
        outer = self

        class Client(base):  # type: ignore[misc, valid-type]
            async def connect(self, *args: Any, **kwargs: Any) -> Any:
                if outer.on == "connect" and outer.times > 0:
                    outer.times -= 1
                    raise outer.error
                return await super().connect(*args, **kwargs)

            async def start_notify(self, *args: Any, **kwargs: Any) -> Any:
                if outer.on == "notify":
                    raise outer.error
                return await super().start_notify(*args, **kwargs)

        return Client


@contextlib.asynccontextmanager
async def _rig() -> AsyncIterator[tuple[VirtualRadio, VirtualTreadmill, LoopClock]]:
    clock = LoopClock()
    async with VirtualRadio() as radio:
        sim = VirtualTreadmill(await radio.new_device("treadwalk-sim"), clock, name="treadwalk-sim")
        strap = VirtualStrap(await radio.new_device("treadwalk-hr"), clock, belt=sim, name="treadwalk-hr")
        async with sim, strap:
            yield radio, sim, clock


async def test_notify_acquired_is_one_sentence_naming_the_culprits() -> None:
    async with _rig() as (radio, sim, clock):
        tm = FtmsTreadmill("treadwalk-sim", clock=clock, radio=_Raising(radio, "notify", NOTIFY_ACQUIRED))
        with pytest.raises(
            TreadmillError, match=r"^Another app on this computer holds the treadmill"
        ) as info:
            async with tm:
                pass
        assert "QDomyos-Zwift" in str(info.value)
        assert not sim.running
        hr = BleHeartRate("treadwalk-hr", clock=clock, radio=_Raising(radio, "notify", NOTIFY_ACQUIRED))
        with pytest.raises(HeartRateError, match=r"heart-rate strap .*--hr none\.$"):
            async with hr:
                pass


async def test_in_progress_is_waited_out_then_advised() -> None:
    async with _rig() as (radio, _sim, clock):
        twice = _Raising(radio, "connect", IN_PROGRESS, times=2)  # a stale connect that clears
        async with FtmsTreadmill("treadwalk-sim", clock=clock, radio=twice, connect_attempts=1) as tm:
            assert tm.capabilities.speed.maximum > 0
        assert twice.times == 0
        stuck = _Raising(radio, "connect", IN_PROGRESS)
        with pytest.raises(
            TreadmillError, match=r"bluetoothctl disconnect .*sudo systemctl restart bluetooth"
        ):
            async with FtmsTreadmill("treadwalk-sim", clock=clock, radio=stuck, connect_attempts=1):
                pass


async def test_pairing_without_an_agent_gives_the_bluetoothctl_steps() -> None:
    async with _rig() as (radio, _sim, clock):
        tm = FtmsTreadmill("treadwalk-sim", clock=clock, radio=_Raising(radio, "notify", AUTH))
        with pytest.raises(TreadmillError, match=r"asks to be paired .*'pair [0-9A-F:]+'"):
            async with tm:
                pass
