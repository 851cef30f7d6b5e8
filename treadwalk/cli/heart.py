"""Choosing and opening the heart-rate source for ``run`` and ``demo`` (not a command).

``--hr NAME|ADDR|machine|none`` (config ``hr = "..."``). Default: with ``--sim`` the virtual
strap (its heart follows the virtual belt); otherwise the treadmill's own reading (which reads
"no source" on a machine that reports none). ``choose`` validates before anything connects;
``open_source`` builds the source (and the virtual strap); ``hold`` connects a strap only once
the treadmill is connected (real stacks refuse concurrent connects) and keeps it open, a strap
that cannot be reached said once and retried in the background: heart rate never stops a walk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass
from typing import Any

from treadwalk.core.errors import HeartRateError, UsageError
from treadwalk.core.heart import HrSourceKind

__all__ = ["SIM_STRAP_NAME", "HrChoice", "choose", "hold", "open_source"]

SIM_STRAP_NAME = "treadwalk-hr"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HrChoice:
    kind: HrSourceKind
    target: str | None = None  # a strap's name or address (kind STRAP)
    virtual: bool = False  # the virtual strap of --sim


def choose(flag: str | None, config_hr: str | None, *, sim: bool) -> HrChoice:
    """The heart-rate source asked for. Raises ``UsageError`` for an impossible one."""
    value = flag if flag is not None else config_hr if not sim else None
    if value is not None:
        value = value.strip()
        if not value:
            raise UsageError('--hr needs a strap\'s name or address, "machine" or "none".')
    if value is None:
        return (
            HrChoice(HrSourceKind.STRAP, SIM_STRAP_NAME, virtual=True)
            if sim
            else HrChoice(HrSourceKind.MACHINE)
        )
    low = value.lower()
    if low == "none":
        return HrChoice(HrSourceKind.NONE)
    if low == "machine":
        return HrChoice(HrSourceKind.MACHINE)
    if sim:
        if value != SIM_STRAP_NAME:
            raise UsageError(
                f"with --sim the only strap is the virtual one: use --hr {SIM_STRAP_NAME} (the default), "
                "--hr machine or --hr none."
            )
        return HrChoice(HrSourceKind.STRAP, SIM_STRAP_NAME, virtual=True)
    return HrChoice(HrSourceKind.STRAP, value)


async def open_source(
    stack: contextlib.AsyncExitStack,
    choice: HrChoice,
    *,
    clock: Any,
    treadmill: Any,
    radio: Any = None,
    belt: Any = None,
) -> Any:
    """The ``HeartRate`` source for ``choice`` (a strap is not connected yet: see ``hold``).

    With ``choice.virtual`` the virtual strap is served on ``radio`` (a ``VirtualRadio``),
    following ``belt`` (the ``VirtualTreadmill``), until ``stack`` closes.
    """
    from treadwalk.heartrate import MachineHeartRate, NoHeartRate

    if choice.kind is HrSourceKind.NONE:
        return NoHeartRate()
    if choice.kind is HrSourceKind.MACHINE:
        return MachineHeartRate(treadmill, clock)
    from treadwalk.heartrate.strap import BleHeartRate

    assert choice.target is not None
    if choice.virtual:
        from treadwalk.sim import VirtualStrap

        device = await radio.new_device(SIM_STRAP_NAME)
        await stack.enter_async_context(VirtualStrap(device, clock, belt=belt, name=SIM_STRAP_NAME))
    return BleHeartRate(choice.target, clock=clock, radio=radio)


async def hold(source: Any, treadmill: Any, *, retry_s: float = 10.0) -> None:
    """Connect ``source`` once ``treadmill`` is connected, and keep it open until cancelled.

    A strap that cannot be reached is said once on stderr and tried again every ``retry_s``
    (real) seconds; once connected it reconnects by itself. Run it as a task of the session.
    """
    from treadwalk.core.model import ConnectionState

    # The Treadmill port has no "connected" waiter; its first link is brief to wait for.
    while treadmill.connection is not ConnectionState.CONNECTED:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    told = False
    while True:
        try:
            async with source:
                log.info("heart rate from %s", source.name)
                await asyncio.Event().wait()
        except HeartRateError as exc:
            if not told:
                print(f"treadwalk: {exc} Going on without heart rate for now.", file=sys.stderr, flush=True)
                told = True
            await asyncio.sleep(retry_s)
