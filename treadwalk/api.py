"""The library's entry points: connect to a treadmill and load a profile from your own asyncio
code, as the CLI does.

::

    async with treadwalk.connect("KS-ST A1") as treadmill:          # by name or address
        ...
    async with treadwalk.connect(virtual=True, clock=clock) as treadmill:   # the virtual one
        result = await treadwalk.Session(treadmill, plan, clock, enter_treadmill=False).run()

``connect`` yields a connected ``Treadmill`` (the port the engine drives; ``FtmsTreadmill``
underneath). The virtual one is ``treadwalk.testing``'s rig.

Light at import (stdlib, ``core``, ``profile``, the ``treadmill`` port): bleak and Bumble are
imported inside ``connect``, so ``treadwalk.connect`` costs nothing until it is called. May
import ``core``, ``profile``, ``treadmill`` and ``testing``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from treadwalk.core.clock import Clock, LoopClock
from treadwalk.core.errors import UsageError
from treadwalk.core.model import Limits
from treadwalk.profile import Profile, find_profile
from treadwalk.profile import load_profile as _load_profile_file
from treadwalk.treadmill.port import Treadmill

__all__ = ["connect", "load_profile"]


def load_profile(name_or_path: str | os.PathLike[str]) -> Profile:
    """A profile by built-in name (``"demo"``), by name in the user's profile folder, or from a
    .toml/.zwo/.xml file. ``.to_plan()`` gives the ``Plan`` a ``Session`` plays.

    Raises:
        UsageError: no profile of that name and no such file.
        ProfileError: the file does not load (``.problems`` has every problem, with its line).
    """
    return _load_profile_file(find_profile(name_or_path))


@asynccontextmanager
async def connect(
    device: str | None = None,
    *,
    virtual: bool = False,
    clock: Clock | None = None,
    limits: Limits | None = None,
    quirks: Mapping[str, object] | None = None,
    reconnect_grace_s: float = 30.0,
    scan_timeout_s: float = 10.0,
) -> AsyncIterator[Treadmill]:
    """A connected treadmill: ``device`` by name or address over the OS Bluetooth stack, or
    ``virtual=True`` for the virtual treadmill on an in-process radio (no hardware).

    ``clock`` must be the one the ``Session`` runs on (default ``LoopClock()``; a
    ``LoopClock(speedup=N)`` runs the virtual treadmill N times faster). ``limits`` are the
    walker's caps, every target is clamped to them (give the ``Session`` the same). ``quirks``
    overrides the client's per-model leniency for a real machine (the config's ``[quirks]``).
    Connecting does not request control or move the belt; leaving stops a belt this side
    started, then disconnects. Hand the treadmill to ``Session(..., enter_treadmill=False)``.

    Raises:
        UsageError: neither or both of ``device`` and ``virtual``.
        DeviceNotFound: nothing answered under that name or address, or no Bluetooth adapter.
        ConnectionLost: found, but the link did not hold while setting up.
        TreadmillError: the device is not an FTMS treadmill.
    """
    if (device is None) == (not virtual):
        raise UsageError(
            "connect() needs a treadmill: pass its name or address, or virtual=True for the virtual one."
        )
    clock = clock or LoopClock()
    if virtual:
        from treadwalk.testing import virtual_rig

        async with (
            virtual_rig(clock) as rig,
            rig.treadmill(limits=limits, reconnect_grace_s=reconnect_grace_s) as treadmill,
        ):
            yield treadmill
        return
    assert device is not None
    from treadwalk.treadmill.ftms import FtmsTreadmill

    real = FtmsTreadmill(
        device,
        clock=clock,
        limits=limits,
        quirks=quirks,
        reconnect_grace_s=reconnect_grace_s,
        scan_timeout_s=scan_timeout_s,
    )
    async with real:
        yield real
