"""The connect gate (``treadwalk.core.radio_gate``): one scan-or-connect at a time per event loop,
the treadmill first, a strap's turn cut short for it; and through the Bumble radio, a strap whose
connect is under way never delays the treadmill's."""

from __future__ import annotations

import asyncio

import pytest

from treadwalk.core.radio_gate import RadioGate, Turn, gate


async def test_waiters_are_served_by_priority_then_arrival() -> None:
    g = RadioGate()
    order: list[str] = []
    release = asyncio.Event()

    async def hold(who: Turn, name: str) -> None:
        async with g.turn(who):
            order.append(name)
            if name == "first":
                await release.wait()

    first = asyncio.create_task(hold(Turn.TREADMILL, "first"))
    await asyncio.sleep(0)
    tasks = [
        asyncio.create_task(hold(Turn.STRAP, "strap-1")),
        asyncio.create_task(hold(Turn.SCAN, "scan")),
        asyncio.create_task(hold(Turn.STRAP, "strap-2")),
        asyncio.create_task(hold(Turn.TREADMILL, "treadmill")),
    ]
    await asyncio.sleep(0.01)
    assert order == ["first"] and g.busy
    release.set()
    await asyncio.gather(first, *tasks)
    assert order == ["first", "treadmill", "strap-1", "strap-2", "scan"]
    assert not g.busy


async def test_the_treadmill_cuts_a_strap_turn_short() -> None:
    g = RadioGate()
    strap_entered = asyncio.Event()

    async def strap() -> str:
        try:
            async with g.turn(Turn.STRAP):
                strap_entered.set()
                await asyncio.sleep(3600)  # a dead strap's connect that would take forever
        except TimeoutError:
            return "cut short"
        return "finished"

    strap_task = asyncio.create_task(strap())
    await strap_entered.wait()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    async with g.turn(Turn.TREADMILL):
        waited = loop.time() - t0
    assert await strap_task == "cut short"
    assert waited < 1.0 and g.preempted == 1


async def test_a_treadmill_turn_is_never_cut_short_and_strap_waits() -> None:
    g = RadioGate()
    async with g.turn(Turn.TREADMILL):
        strap = asyncio.create_task(g.turn(Turn.STRAP).__aenter__())
        await asyncio.sleep(0.05)
        assert not strap.done()
        await asyncio.sleep(0.05)  # nothing raises inside the treadmill's turn
    await asyncio.wait_for(strap, 1.0)
    assert g.preempted == 0


async def test_a_cancelled_waiter_never_keeps_the_gate() -> None:
    g = RadioGate()
    async with g.turn(Turn.TREADMILL):
        waiter = asyncio.create_task(g.turn(Turn.STRAP).__aenter__())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    assert not g.busy
    async with asyncio.timeout(1.0), g.turn(Turn.STRAP):
        pass


def test_one_gate_per_event_loop() -> None:
    async def mine() -> RadioGate:
        async with gate().turn(Turn.TREADMILL):
            return gate()

    first = asyncio.run(mine())
    second = asyncio.run(mine())  # a new loop: a new gate, not one bound to a closed loop
    assert first is not second and not second.busy
