"""Shared test hygiene.

- Every async test fails if it leaves a task running (aioesphomeapi's habit).
- Hypothesis runs without per-example deadlines (a busy machine is not a failing property).
- ``@pytest.mark.virtual_time`` runs a test in virtual time (looptime): the event loop's clock
  jumps over idle waits, so ``LoopClock``, the simulator's physics and every asyncio timeout
  are virtual, while the real code (bleak, Bumble, the engine) runs unchanged.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from pathlib import Path

import looptime
import pytest
from hypothesis import HealthCheck, settings

# Property tests check properties, not speed: a loaded machine (CI shares its cores) must not fail
# them by a per-example deadline or by slow data generation. Speed is measured in scripts/.
settings.register_profile("treadwalk", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("treadwalk")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def _async_hygiene(request: pytest.FixtureRequest) -> None:
    fn = getattr(request.node, "function", None)
    if fn is None or not inspect.iscoroutinefunction(fn):
        return
    if request.node.get_closest_marker("virtual_time"):
        request.getfixturevalue("_virtual_time")
    request.getfixturevalue("_no_leftover_tasks")


@pytest.fixture
async def _virtual_time() -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, asyncio.BaseEventLoop)
    patched = looptime.patch_event_loop(loop, start=0.0, _enabled=False)
    with looptime.enabled(strict=True):
        assert patched.looptime_on
        yield


@pytest.fixture
async def _no_leftover_tasks() -> AsyncIterator[None]:
    before = set(asyncio.all_tasks())
    yield
    current = asyncio.current_task()
    # Let cancelled tasks finish unwinding: a few loop turns, then (for tests over real sockets and
    # processes, where closing takes real I/O) up to 2 s more, in short bounded steps.
    for turn in range(220):
        left = {t for t in asyncio.all_tasks() if t not in before and t is not current and not t.done()}
        if not left:
            return
        await asyncio.sleep(0 if turn < 20 else 0.01)
    names = ", ".join(sorted(f"{t.get_name()} ({getattr(t.get_coro(), '__qualname__', '?')})" for t in left))
    for t in left:
        t.cancel()
    pytest.fail(f"the test left tasks running: {names}")
