"""Another app holding the treadmill, for the BlueZ tier (run inside its VM; not a test module).

``python tests/bluez/hold.py NAME``: connects to NAME through bleak's BlueZ backend and acquires
its Treadmill Data notifications with AcquireNotify (as apps that keep the default of older bleak
releases do, e.g. Home Assistant's integrations), prints "holding", and holds them until killed.
"""

from __future__ import annotations

import asyncio
import sys

from bleak import BleakClient, BleakScanner

TREADMILL_DATA = "00002acd-0000-1000-8000-00805f9b34fb"


async def _main(name: str) -> None:
    device = await BleakScanner.find_device_by_name(name, timeout=30.0)
    if device is None:
        sys.exit(f"hold: {name} not found")
    async with BleakClient(device) as client:
        await client.start_notify(TREADMILL_DATA, lambda _c, _d: None, bluez={"use_start_notify": False})
        print("holding", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
