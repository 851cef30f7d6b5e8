"""Opening a Bumble HCI transport for the commands that take ``--hci SPEC`` (not a command)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from treadwalk.core.errors import TreadmillError


@contextlib.asynccontextmanager
async def open_radio(spec: str) -> AsyncIterator[Any]:
    """An ``HciRadio`` on ``spec``; a transport that does not open is one clear sentence."""
    from treadwalk.radio import HciRadio

    try:
        radio = HciRadio(spec)
        await radio.__aenter__()
    except TreadmillError:
        raise
    except (OSError, ValueError, RuntimeError, TimeoutError) as exc:
        raise TreadmillError(
            f"Cannot open the HCI transport '{spec}' ({type(exc).__name__}: {exc}); check the spec "
            "(e.g. usb:0, tcp-client:127.0.0.1:9001) and that the device or controller is there."
        ) from exc
    try:
        yield radio
    finally:
        await radio.__aexit__(None, None, None)


def transport_closed(spec: str, lost: asyncio.Future[None], then: str) -> TreadmillError:
    """The one sentence for a transport that closed under a command (its controller went away)."""
    why = "" if lost.cancelled() or lost.exception() is None else f" ({lost.exception()})"
    return TreadmillError(
        f"The HCI transport '{spec}' closed{why}: its controller went away; start the controller "
        f"again, then {then}."
    )


async def until_lost[T](radio: Any, work: Coroutine[Any, Any, T], then: str) -> T:
    """``work``, unless the radio's transport closes first: then it is cancelled and the
    command ends with ``transport_closed`` (instead of waiting on a dead link)."""
    task: asyncio.Task[T] = asyncio.create_task(work, name="hci-work")
    lost: asyncio.Future[None] = radio.lost
    waiting: set[asyncio.Future[Any]] = {task, lost}
    try:
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if not task.cancelled() and task.done() and (not lost.done() or task.exception() is None):
        return task.result()
    raise transport_closed(radio.spec, lost, then)
