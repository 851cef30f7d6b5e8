"""treadwalk: play walking workouts on Bluetooth FTMS treadmills.

The library surface, for your own asyncio code (each name is imported on first use, PEP 562)::

    import treadwalk

    plan = treadwalk.load_profile("demo").to_plan()
    clock = treadwalk.LoopClock()
    async with treadwalk.connect("KS-ST A1", clock=clock) as treadmill:  # or virtual=True
        session = treadwalk.Session(treadmill, plan, clock, enter_treadmill=False)
        result = await session.run()    # session.submit(treadwalk.Command(...)) meanwhile

- connecting: ``connect``, the ``Treadmill`` port (and ``Applied``, what a target became),
  ``TreadmillState``, ``Capabilities``;
- playing: ``Session``, ``SessionResult``, ``Settings``, ``Limits`` (the walker's caps),
  ``LoopClock``/``Clock``, ``Command``/``CommandKind``, and what observers receive
  (``SessionSnapshot``, ``SessionEvent``, ``Phase``, ``StopReason``);
- profiles: ``load_profile`` (a built-in name, a saved name or a file), ``Profile``, ``Plan``,
  ``PlanSegment``;
- the error tree, rooted at ``TreadwalkError`` (see ``treadwalk.core.errors``).

``treadwalk.testing`` gives the virtual treadmill to your own tests.

Importing this package imports no third-party library (bleak, bumble, rich, aiomqtt stay in
their own modules and are imported only where used).
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (type checkers treat it so)

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    # connecting
    "connect": "treadwalk.api",
    "Treadmill": "treadwalk.treadmill.port",
    "Applied": "treadwalk.treadmill.port",
    "TreadmillState": "treadwalk.core.model",
    "Capabilities": "treadwalk.core.model",
    # playing
    "Session": "treadwalk.engine",
    "SessionResult": "treadwalk.engine",
    "Settings": "treadwalk.engine",
    "Limits": "treadwalk.core.model",
    "Clock": "treadwalk.core.clock",
    "LoopClock": "treadwalk.core.clock",
    "Command": "treadwalk.core.model",
    "CommandKind": "treadwalk.core.model",
    "SessionSnapshot": "treadwalk.core.model",
    "SessionEvent": "treadwalk.core.model",
    "Phase": "treadwalk.core.model",
    "StopReason": "treadwalk.core.model",
    # profiles
    "load_profile": "treadwalk.api",
    "Profile": "treadwalk.profile",
    "Plan": "treadwalk.core.model",
    "PlanSegment": "treadwalk.core.model",
    # errors
    "TreadwalkError": "treadwalk.core.errors",
    "UsageError": "treadwalk.core.errors",
    "ConfigError": "treadwalk.core.errors",
    "ProfileError": "treadwalk.core.errors",
    "ProfileProblem": "treadwalk.core.errors",
    "DecodeError": "treadwalk.core.errors",
    "TreadmillError": "treadwalk.core.errors",
    "DeviceNotFound": "treadwalk.core.errors",
    "ConnectionLost": "treadwalk.core.errors",
    "Timeout": "treadwalk.core.errors",
    "CommandRejected": "treadwalk.core.errors",
    "OutOfRange": "treadwalk.core.errors",
    "RecordingError": "treadwalk.core.errors",
    "TelemetryError": "treadwalk.core.errors",
}
_SUBMODULES = frozenset({"testing", "api"})  # reachable as attributes, not star-imported

__all__ = [
    "Applied",
    "Capabilities",
    "Clock",
    "Command",
    "CommandKind",
    "CommandRejected",
    "ConfigError",
    "ConnectionLost",
    "DecodeError",
    "DeviceNotFound",
    "Limits",
    "LoopClock",
    "OutOfRange",
    "Phase",
    "Plan",
    "PlanSegment",
    "Profile",
    "ProfileError",
    "ProfileProblem",
    "RecordingError",
    "Session",
    "SessionEvent",
    "SessionResult",
    "SessionSnapshot",
    "Settings",
    "StopReason",
    "TelemetryError",
    "Timeout",
    "Treadmill",
    "TreadmillError",
    "TreadmillState",
    "TreadwalkError",
    "UsageError",
    "connect",
    "load_profile",
]

if TYPE_CHECKING:
    from typing import Any

    # what type checkers and IDEs see; nothing of it is imported at run time
    from treadwalk.api import connect, load_profile
    from treadwalk.core.clock import Clock, LoopClock
    from treadwalk.core.errors import (
        CommandRejected,
        ConfigError,
        ConnectionLost,
        DecodeError,
        DeviceNotFound,
        OutOfRange,
        ProfileError,
        ProfileProblem,
        RecordingError,
        TelemetryError,
        Timeout,
        TreadmillError,
        TreadwalkError,
        UsageError,
    )
    from treadwalk.core.model import (
        Capabilities,
        Command,
        CommandKind,
        Limits,
        Phase,
        Plan,
        PlanSegment,
        SessionEvent,
        SessionSnapshot,
        StopReason,
        TreadmillState,
    )
    from treadwalk.engine import Session, SessionResult, Settings
    from treadwalk.profile import Profile
    from treadwalk.treadmill.port import Applied, Treadmill


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # once: later lookups do not come back here
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"treadwalk.{name}")
    raise AttributeError(f"module 'treadwalk' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, *_SUBMODULES})
