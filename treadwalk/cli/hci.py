"""Opening a Bumble HCI transport for the commands that take ``--hci SPEC`` (not a command)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
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
