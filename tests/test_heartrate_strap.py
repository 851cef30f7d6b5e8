"""BleHeartRate through the real bleak API over the Bumble radio to the virtual strap, with the
virtual treadmill on the same radio: the two connected one after the other, heart rate following
the belt, quirks (8/16-bit, no contact feature) and faults (contact lost, 0, 255, frozen, a drop
mid-walk that reconnects and never touches the belt), all in virtual time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from treadwalk.core.clock import LoopClock
from treadwalk.core.errors import HeartRateError
from treadwalk.core.heart import HrReason, HrSourceKind
from treadwalk.core.model import ConnectionState
from treadwalk.heartrate.discovery import scan_straps
from treadwalk.heartrate.strap import BleHeartRate
from treadwalk.radio import VirtualRadio
from treadwalk.sim import VirtualStrap, VirtualTreadmill
from treadwalk.treadmill.discovery import scan
from treadwalk.treadmill.ftms import FtmsTreadmill

pytestmark = pytest.mark.virtual_time

TM = "treadwalk-sim"
HR = "treadwalk-hr"


@dataclass
class Rig:
    radio: VirtualRadio
    sim: VirtualTreadmill
    strap: VirtualStrap
    clock: LoopClock

    def hr(self, **kwargs: object) -> BleHeartRate:
        return BleHeartRate(HR, clock=self.clock, radio=self.radio, **kwargs)  # type: ignore[arg-type]

    def treadmill(self) -> FtmsTreadmill:
        return FtmsTreadmill(TM, clock=self.clock, radio=self.radio, reconnect_grace_s=20.0)


@contextlib.asynccontextmanager
async def rig(**strap_kwargs: object) -> AsyncIterator[Rig]:
    clock = LoopClock()
    async with VirtualRadio() as radio:
        sim = VirtualTreadmill(await radio.new_device(TM), clock, name=TM)
        strap = VirtualStrap(await radio.new_device(HR), clock, belt=sim, name=HR, **strap_kwargs)  # type: ignore[arg-type]
        async with sim, strap:
            yield Rig(radio, sim, strap, clock)


async def until(predicate: Callable[[], bool], timeout_s: float = 60.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.25)


async def test_strap_and_treadmill_one_after_the_other_and_hr_follows_the_belt() -> None:
    # the strap is connected after the treadmill, not at the same time
    async with rig(walker="average", seed=3) as r, r.treadmill() as tm, r.hr() as hr:
        assert tm.connection is ConnectionState.CONNECTED
        assert hr.connection is ConnectionState.CONNECTED
        assert hr.location == "chest"
        await until(lambda: hr.status().reading is not None)
        assert hr.battery_pct == 100
        standing = hr.status()
        assert standing.kind is HrSourceKind.STRAP
        assert standing.bpm is not None and standing.bpm < 80
        assert standing.reading is not None and standing.reading.rr_ms
        await tm.start()
        await tm.set_speed(5.0)
        await tm.set_incline(10.0)
        await asyncio.sleep(240)  # four minutes uphill: several time constants
        climbing = hr.status().bpm
        assert climbing is not None and 125 <= climbing <= 160, climbing
        r.strap.set_battery(14)
        await until(lambda: hr.battery_pct == 14)
        await tm.stop()


async def test_16_bit_values_are_read_in_full() -> None:
    async with rig(quirks="uint16", walker="fit") as r, r.hr() as hr:
        await until(lambda: hr.status().reading is not None)
        assert r.strap.sent[-1][1].startswith("17")  # flags: uint16, contact, RR
        assert abs(hr.status().bpm - r.strap.bpm) <= 2  # type: ignore[operator]


@pytest.mark.parametrize(
    ("fault", "quirks", "reason"),
    [
        ("contact_lost@20s+20s", "", HrReason.NO_CONTACT),
        ("contact_lost@20s+20s", "no_contact_feature", HrReason.ZERO),
        ("zero@20s+20s", "", HrReason.ZERO),
        ("255@20s+20s", "", HrReason.INVALID),
        ("frozen@20s+60s", "", HrReason.STALE),
    ],
)
async def test_missing_values_end_to_end(fault: str, quirks: str, reason: HrReason) -> None:
    async with rig(faults=[fault], quirks=quirks) as r, r.hr() as hr:
        await until(lambda: hr.status().reading is not None)
        at = r.strap.sim_time()
        assert at < 20
        seen: set[HrReason | None] = set()
        while r.strap.sim_time() < 80:
            status = hr.status()
            seen.add(status.reason)
            if status.reading is not None:
                assert 30 <= status.reading.bpm <= 230
            await asyncio.sleep(0.5)
        assert reason in seen
        await until(lambda: hr.status().reading is not None)  # and back after the fault


async def test_a_strap_that_drops_mid_walk_reconnects_and_never_touches_the_belt() -> None:
    async with rig(faults=["drop@60s+30s"]) as r, r.treadmill() as tm, r.hr(backoff_s=(1.0, 2.0)) as hr:
        await tm.start()
        await tm.set_speed(4.5)
        await until(lambda: r.sim.running and hr.status().reading is not None)
        received = len(r.sim.received)
        await until(lambda: hr.connection is ConnectionState.RECONNECTING, 90)
        assert hr.status().reason is HrReason.NO_SOURCE
        assert r.sim.running and tm.connection is ConnectionState.CONNECTED
        await until(
            lambda: hr.connection is ConnectionState.CONNECTED and hr.status().reading is not None, 90
        )
        assert hr.reconnects == 1
        # nothing went to the treadmill while the strap was away and back
        assert len(r.sim.received) == received
        assert r.sim.running and r.sim.stop_count == 0
        assert abs(r.sim.belt_speed_kmh - 4.5) < 0.05
        await tm.stop()


async def test_a_strap_that_is_not_there_is_one_sentence() -> None:
    async with rig() as r:
        with pytest.raises(HeartRateError, match="--hr none"):
            async with BleHeartRate("no-such-strap", clock=r.clock, radio=r.radio, scan_timeout_s=2.0):
                pass


async def test_scan_tells_straps_from_treadmills() -> None:
    async with rig() as r:
        straps, machines = await asyncio.gather(
            scan_straps(3.0, backend=r.radio.scanner_backend), scan(3.0, backend=r.radio.scanner_backend)
        )
        assert [s.name for s in straps] == [HR]
        assert [m.name for m in machines] == [TM]


async def test_scan_command_listens_once_as_bluez_requires() -> None:
    # BlueZ answers a second discovery from the same process, while one runs, with "Operation
    # already in progress": this backend does the same, and `treadwalk scan` still lists both kinds.
    from bleak.exc import BleakError

    from treadwalk.cli.scan import _both

    async with rig() as r:
        base = r.radio.scanner_backend
        running = [0]

        class OneDiscoveryAtATime(base):  # type: ignore[valid-type,misc]
            async def start(self) -> None:
                if running[0]:
                    raise BleakError("[org.bluez.Error.InProgress] Operation already in progress")
                running[0] += 1
                await super().start()

            async def stop(self) -> None:
                running[0] -= 1
                await super().stop()

        machines, straps = await _both(3.0, OneDiscoveryAtATime)
        assert [m.name for m in machines] == [TM]
        assert [s.name for s in straps] == [HR]


async def test_strap_and_treadmill_connecting_at_once_take_turns_the_treadmill_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stacks refuse two connects at once (BlueZ: "operation already in progress"): started
    together, the strap's and the treadmill's connects never overlap, and the strap's turn,
    already under way, yields to the treadmill (its connect is cut short and tried again)."""
    import treadwalk.heartrate.strap as strap_module
    import treadwalk.treadmill.ftms as ftms_module
    from treadwalk.core.radio_gate import gate

    real = ftms_module.establish_connection
    inside = 0
    most = 0
    order: list[str] = []

    async def counted(client_class: object, device: object, name: str, **kwargs: object) -> object:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        try:
            result = await real(client_class, device, name, **kwargs)  # type: ignore[arg-type]
            order.append(name)
            return result
        finally:
            inside -= 1

    monkeypatch.setattr(ftms_module, "establish_connection", counted)
    monkeypatch.setattr(strap_module, "establish_connection", counted)
    async with rig() as r:
        hr, tm = r.hr(), r.treadmill()
        strap_task = asyncio.create_task(hr.__aenter__())
        await asyncio.sleep(0)  # the strap asks first
        async with tm:
            await strap_task
            try:
                assert tm.connection is ConnectionState.CONNECTED
                assert hr.connection is ConnectionState.CONNECTED
                assert most == 1
                assert order[0] == TM
                assert gate().preempted >= 1
            finally:
                await hr.__aexit__(None, None, None)
