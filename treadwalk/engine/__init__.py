"""The session engine: plays a Plan on a Treadmill, safely and on time.

Imports only the stdlib, ``treadwalk.core`` and ``treadwalk.treadmill.port``: it never sees bleak,
Bumble, rich, MQTT, the dashboard or the recorder (those are ``Observer``s).

- ``core``: the functional core, a pure ``step(state, now, machine, inputs) -> (state, actions)``.
- ``session``: the imperative shell, ``Session(treadmill, plan, clock, ...)`` and ``SessionResult``.
- ``caps``: a plan against the walker's caps, before the belt starts (refuse, or ``--fit-to-caps``).
"""

from .caps import CapsExceeded, check_caps, fit_to_caps, over_caps
from .core import EngineState, Inputs, Settings, initial_state, next_wakeup, snapshot, step
from .session import Session, SessionResult

__all__ = [
    "CapsExceeded",
    "EngineState",
    "Inputs",
    "Session",
    "SessionResult",
    "Settings",
    "check_caps",
    "fit_to_caps",
    "initial_state",
    "next_wakeup",
    "over_caps",
    "snapshot",
    "step",
]
