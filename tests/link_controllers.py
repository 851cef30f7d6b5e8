"""N Bumble virtual controllers on one link, each behind an HCI transport (not a test module).

``python tests/link_controllers.py tcp-server:_:P1 tcp-server:_:P2 tcp-server:_:P3``: what
``bumble.apps.controllers`` does, for any number of transports (0.0.236's takes exactly two).
"""

from __future__ import annotations

import asyncio
import sys

from bumble.controller import Controller
from bumble.link import LocalLink
from bumble.transport import open_transport


async def _main(specs: list[str]) -> None:
    link = LocalLink()  # type: ignore[no-untyped-call]
    transports = []
    for i, spec in enumerate(specs):
        transport = await open_transport(spec)
        transports.append(transport)
        Controller(f"C{i}", host_source=transport.source, host_sink=transport.sink, link=link)
    await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1:]))
