"""Bumble virtual controllers on one link for the BlueZ tier (run inside its VM; not a test module).

``python tests/bluez/link.py vhci tcp-server:_:9001 [tcp-server:_:9002]``: the first transport is
the kernel's side (``/dev/vhci`` becomes ``hci0``); the others carry ``treadwalk sim --hci``.

The kernel-facing controller does not offer LL privacy nor extended advertising: with Bumble's
defaults for those, BlueZ never sees a peripheral again after its first disconnect (the kernel's
resolving-list and extended-scan paths do not match what the emulated link delivers).
"""

from __future__ import annotations

import asyncio
import sys

from bumble import core, hci
from bumble.controller import Controller
from bumble.link import LocalLink
from bumble.transport import open_transport

_KERNEL_UNSUPPORTED = hci.LeFeatureMask.LL_PRIVACY | hci.LeFeatureMask.LE_EXTENDED_ADVERTISING


class _Link(LocalLink):
    """Bumble's LocalLink, except LE data is sent from the address the connection was made with:
    0.0.236 always uses the sender's random address, and the kernel connects from its public one,
    so the peripheral drops every ATT packet ("no connection for <random address>")."""

    def send_acl_data(
        self,
        sender_controller: Controller,
        destination_address: hci.Address,
        transport: core.PhysicalTransport,
        data: bytes,
    ) -> None:
        connection = sender_controller.le_connections.get(destination_address)
        destination = self.find_le_controller(destination_address)
        if transport == core.PhysicalTransport.LE and connection is not None and destination is not None:
            source = connection.self_address
            asyncio.get_running_loop().call_soon(
                lambda: destination.on_link_acl_data(source, transport, data)
            )
            return
        super().send_acl_data(sender_controller, destination_address, transport, data)


async def _main(specs: list[str]) -> None:
    link = _Link()  # type: ignore[no-untyped-call]
    transports = []
    for i, spec in enumerate(specs):
        transport = await open_transport(spec)
        transports.append(transport)
        controller = Controller(
            f"C{i}",
            host_source=transport.source,
            host_sink=transport.sink,
            link=link,
            # a public address each: the kernel's hci0 has none otherwise and bluetoothd skips it
            public_address=f"F0:F0:F0:F0:F0:{i:02X}",
        )
        if i == 0:
            controller.le_features = Controller.le_features & ~_KERNEL_UNSUPPORTED
    print("link ready", flush=True)
    await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: link.py KERNEL_SPEC PERIPHERAL_SPEC [PERIPHERAL_SPEC ...]")
    asyncio.run(_main(sys.argv[1:]))
