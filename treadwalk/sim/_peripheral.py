"""What every treadwalk GATT peripheral shares: advertising (FTMS by default: service data with the
treadmill type and the name), serialised so a restart in flight never meets a stop (Bumble 0.0.236
raises a KeyError then), and an orderly shut-down. Used by ``VirtualTreadmill``,
``ReplayTreadmill`` and ``VirtualStrap``.

May import Bumble and ``treadwalk.ftms``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from bumble import hci
from bumble.core import AdvertisingData
from bumble.device import Device

from treadwalk.ftms import encode_advertisement

__all__ = ["Advertiser", "ftms_advertising_data", "shut_down", "spawn"]

FTMS_UUID16_LE = bytes.fromhex("2618")


def ftms_advertising_data(name: str) -> tuple[bytes, bytes]:
    """Advertising and scan-response data of an FTMS treadmill called ``name`` (REFERENCE.md §1.2):
    flags, the 0x1826 service UUID, its service data, and the name (moved to the scan response
    alone when it does not fit in 31 bytes)."""
    T = AdvertisingData.Type
    service_data = FTMS_UUID16_LE + encode_advertisement(available=True, types=("treadmill",))
    encoded = name.encode()
    base = [
        (T.FLAGS, bytes([0x06])),
        (T.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, FTMS_UUID16_LE),
        (T.SERVICE_DATA_16_BIT_UUID, service_data),
    ]
    adv = AdvertisingData([*base, (T.COMPLETE_LOCAL_NAME, encoded)])
    if len(bytes(adv)) > 31:
        adv = AdvertisingData(base)
    scan = AdvertisingData([(T.COMPLETE_LOCAL_NAME, encoded[:29])])
    return bytes(adv), bytes(scan)


class Advertiser:
    """Starts and stops a device's advertising (FTMS by default; ``data`` gives the advertising
    and scan-response bytes for a name), one operation at a time."""

    def __init__(
        self,
        device: Device,
        name: str,
        *,
        interval_ms: float = 100.0,
        data: Callable[[str], tuple[bytes, bytes]] = ftms_advertising_data,
    ) -> None:
        self.device = device
        self.name = name
        self.interval_ms = interval_ms
        self._data = data
        self._lock = asyncio.Lock()

    async def start(self, when: Callable[[], bool] = lambda: True) -> None:
        """Advertise if ``when()`` still holds once it is this call's turn."""
        async with self._lock:
            if not when():
                return
            adv, scan = self._data(self.name)
            await self.device.start_advertising(
                advertising_data=adv,
                scan_response_data=scan,
                advertising_interval_min=self.interval_ms,
                advertising_interval_max=self.interval_ms,
            )

    async def stop(self) -> None:
        async with self._lock:
            try:
                await self.device.stop_advertising()
            except KeyError:
                # Bumble 0.0.236: the set was already removed under the device's feet.
                self.device.legacy_advertising_set = None


async def shut_down(
    device: Device,
    tasks: set[asyncio.Task[Any]],
    advertiser: Advertiser,
    *,
    advertise_task: str,
    logger: logging.Logger,
    what: str,
) -> None:
    """Let advertising commands in flight finish (cut mid-way they leave Bumble's advertising set
    half removed), cancel every other task, stop advertising and drop the links — best effort,
    within 2 s: the radio closes anyway."""
    adv = [t for t in tasks if t.get_name() == advertise_task]
    if adv:
        await asyncio.wait(adv, timeout=2.0)
    pending = list(tasks)
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    try:
        async with asyncio.timeout(2.0):
            await advertiser.stop()
            for conn in list(device.connections.values()):
                await conn.disconnect()
    except (TimeoutError, hci.HCI_Error) as err:
        logger.debug("%s shut-down: %s", what, err)


def spawn(
    tasks: set[asyncio.Task[Any]], coro: Coroutine[Any, Any, Any], name: str, *, logger: logging.Logger
) -> None:
    """A named background task kept in ``tasks`` until it ends; a failure is logged, not lost."""
    task = asyncio.get_running_loop().create_task(coro, name=name)
    tasks.add(task)

    def done(t: asyncio.Task[Any]) -> None:
        tasks.discard(t)
        if not t.cancelled() and (exc := t.exception()) is not None:
            logger.warning("task %s failed: %r", t.get_name(), exc)

    task.add_done_callback(done)
