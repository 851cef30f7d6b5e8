"""The virtual treadmill for your own tests, the way httpx ships ``MockTransport``: the real
treadwalk client over a real (in-process) Bumble radio to a virtual FTMS treadmill, so your code
meets real GATT traffic, belt lag, quirks of real machines and injected faults, without hardware.

::

    import treadwalk.testing

    async def test_my_coach_script_slows_down() -> None:
        async with treadwalk.testing.virtual_treadmill(quirks="urevo", faults=["drop@30s+5s"]) as tm:
            await tm.start()
            await tm.set_speed(5.0)
            ...
            assert tm.machine.belt_speed_kmh == pytest.approx(5.0)   # the virtual belt itself
            tm.machine.press_stop()                                 # the walker's own button

``tm`` is a connected ``Treadmill`` (a ``VirtualFtmsTreadmill``); ``tm.machine`` is
the virtual treadmill (``treadwalk.sim.VirtualTreadmill``: its state and console), ``tm.clock``
the clock both run on. Pass ``tm`` and ``tm.clock`` to ``treadwalk.Session(...,
enter_treadmill=False)`` to play a plan on it. Everything follows the event loop's clock, so a
virtual-time loop (e.g. ``looptime``) makes a 30-minute walk take a moment.

``virtual_rig`` is the machine on its radio without a client: what ``treadwalk.connect(virtual=True)``
and the test suite build on.

May import ``core``, ``radio``, ``sim`` and ``treadmill`` (so bleak and Bumble, through them);
``import treadwalk`` does not import this module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypedDict, Unpack

from treadwalk.core.clock import Clock, LoopClock
from treadwalk.core.model import Limits
from treadwalk.radio import VirtualRadio
from treadwalk.sim import Fault, VirtualTreadmill
from treadwalk.treadmill.ftms import FtmsTreadmill

__all__ = [
    "VIRTUAL_NAME",
    "MachineOptions",
    "VirtualFtmsTreadmill",
    "VirtualRig",
    "virtual_rig",
    "virtual_treadmill",
]

VIRTUAL_NAME = "treadwalk-sim"


class MachineOptions(TypedDict, total=False):
    """How the virtual treadmill is built (``treadwalk.sim.VirtualTreadmill``'s keywords)."""

    speed: tuple[float, float, float]  # min, max, step in km/h
    incline: tuple[float, float, float]  # min, max, step in %
    accel_kmh_per_s: float
    decel_kmh_per_s: float
    incline_pct_per_s: float
    notify_hz: float
    max_connections: int
    manufacturer: str
    model: str
    firmware: str
    serial: str


class VirtualFtmsTreadmill(FtmsTreadmill):
    """The real FTMS client, over the in-process Bumble radio, to a virtual treadmill.

    ``machine`` is the virtual treadmill itself: read its belt (``belt_speed_kmh``,
    ``incline_pct``, ``running``, ``stopped``, ``distance_m``, ``received`` control-point
    writes) and press its console (``press_stop()``, ``pull_safety_key()``,
    ``console_set_speed(...)``, ``drop_link(...)``). ``clock`` is the clock both run on.
    """

    def __init__(
        self,
        rig: VirtualRig,
        *,
        limits: Limits | None = None,
        reconnect_grace_s: float = 30.0,
        backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0),
    ) -> None:
        super().__init__(
            rig.machine.name,
            clock=rig.clock,
            radio=rig.radio,
            limits=limits,
            reconnect_grace_s=reconnect_grace_s,
            backoff_s=backoff_s,
        )
        self.machine = rig.machine
        self.clock = rig.clock


@dataclass(frozen=True, slots=True)
class VirtualRig:
    """A virtual treadmill advertising on an in-process radio (see ``virtual_rig``)."""

    radio: VirtualRadio
    machine: VirtualTreadmill
    clock: Clock

    def treadmill(
        self,
        *,
        limits: Limits | None = None,
        reconnect_grace_s: float = 30.0,
        backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0),
    ) -> VirtualFtmsTreadmill:
        """A client for this machine, not yet connected (``async with`` it, or give it to a
        ``Session``, which connects it)."""
        return VirtualFtmsTreadmill(
            self, limits=limits, reconnect_grace_s=reconnect_grace_s, backoff_s=backoff_s
        )


@asynccontextmanager
async def virtual_rig(
    clock: Clock | None = None,
    *,
    name: str = VIRTUAL_NAME,
    quirks: str | Iterable[str] = (),
    faults: Iterable[str | Fault] = (),
    **options: Unpack[MachineOptions],
) -> AsyncIterator[VirtualRig]:
    """A fresh in-process radio with the virtual treadmill on it, advertising as ``name``.

    ``quirks``: presets or single quirks of real machines (``"urevo"``, ``"kingsmith"``,
    ``"citysports"``; ``treadwalk.sim.QUIRKS`` lists them); ``faults``: specs such as
    ``"drop@30s+10s"`` (``treadwalk.sim.parse_fault``). Create it inside the running loop.

    Raises:
        UsageError: an unknown quirk or a fault spec that does not parse.
    """
    clock = clock or LoopClock()
    async with VirtualRadio() as radio:
        device = await radio.new_device(name)
        async with VirtualTreadmill(
            device, clock, name=name, quirks=quirks, faults=faults, **options
        ) as machine:
            yield VirtualRig(radio, machine, clock)


@asynccontextmanager
async def virtual_treadmill(
    *,
    quirks: str | Iterable[str] = (),
    faults: Iterable[str] = (),
    clock: Clock | None = None,
    limits: Limits | None = None,
    name: str = VIRTUAL_NAME,
    reconnect_grace_s: float = 10.0,
    **options: Unpack[MachineOptions],
) -> AsyncIterator[VirtualFtmsTreadmill]:
    """A virtual treadmill on a fresh in-process radio, and the real client connected to it.

    ``quirks``: ``"strict"`` behaviour by default, or presets of real machines (``"urevo"``,
    ``"kingsmith"``, ``"citysports"``) or single quirks (``treadwalk.sim.QUIRKS``). ``faults``:
    specs such as ``"drop@30s+10s"`` (the link drops at 30 s, back 10 s later),
    ``"refuse_control"``, ``"reject:speed"``, ``"no_answer:stop"`` (``treadwalk.sim.parse_fault``). ``options``
    shape the machine (``speed=(0.5, 12.0, 0.1)``, ``incline=...``, ``accel_kmh_per_s=...``).
    ``limits`` are the walker's caps the client clamps to. Create it inside the running loop;
    leaving stops a belt the client started, disconnects and shuts the radio down.

    Raises:
        UsageError: an unknown quirk or a fault spec that does not parse.
        TreadmillError: the client could not connect (only under a fault that prevents it).
    """
    async with (
        virtual_rig(clock, name=name, quirks=quirks, faults=faults, **options) as rig,
        rig.treadmill(limits=limits, reconnect_grace_s=reconnect_grace_s) as tm,
    ):
        yield tm
