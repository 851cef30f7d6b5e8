"""What BlueZ's errors mean for a walker, in one place for the treadmill and the strap.

bleak's BlueZ backend raises ``BleakDBusError`` carrying BlueZ's D-Bus error name
(``org.bluez.Error.*``) and its text; ATT errors from the device come through the same way
("Insufficient Authentication"). ``problem(exc)`` reads only the exception's text and its
``dbus_error`` attribute, so this module imports no Bluetooth library (core is stdlib only), and
``advice(problem, ...)`` is the one sentence the walker gets.
"""

from __future__ import annotations

import enum

__all__ = ["BluezProblem", "advice", "problem"]


class BluezProblem(enum.Enum):
    NOTIFY_ACQUIRED = "notify_acquired"  # another app holds the characteristic (AcquireNotify)
    IN_PROGRESS = "in_progress"  # a connect already pending: another app, or a crashed run
    NEEDS_PAIRING = "needs_pairing"  # the device asks for pairing and no agent answered


_IN_PROGRESS = ("org.bluez.error.inprogress", "operation already in progress", "in progress")
_PAIRING = (
    "org.bluez.error.authenticationfailed",
    "org.bluez.error.authenticationrejected",
    "org.bluez.error.authenticationcanceled",
    "insufficient authentication",
    "insufficient encryption",
    "authentication failed",
    "no agent",
)


def problem(exc: BaseException) -> BluezProblem | None:
    """The BlueZ situation behind ``exc``, or None when it is not one of those we explain."""
    text = f"{getattr(exc, 'dbus_error', '') or ''} {exc}".lower()
    if "notify acquired" in text:
        return BluezProblem.NOTIFY_ACQUIRED
    if any(marker in text for marker in _IN_PROGRESS):
        return BluezProblem.IN_PROGRESS
    if any(marker in text for marker in _PAIRING):
        return BluezProblem.NEEDS_PAIRING
    return None


def advice(found: BluezProblem, name: str, address: str, *, what: str = "treadmill") -> str:
    """One sentence: what happened and what to do. ``what``: "treadmill" or "heart-rate strap"."""
    if found is BluezProblem.NOTIFY_ACQUIRED:
        apps = (
            "QDomyos-Zwift, Home Assistant's Bluetooth integration, the vendor's app or another treadwalk"
            if what == "treadmill"
            else "a fitness app, Home Assistant's Bluetooth integration or another treadwalk"
        )
        return (
            f"Another app on this computer holds the {what} {name}'s notifications (BlueZ: 'Notify "
            f"acquired'), likely {apps}; close it and try again."
        )
    if found is BluezProblem.IN_PROGRESS:
        return (
            f"BlueZ says a connection to the {what} {name} is already in progress (another app, or a "
            f"treadwalk that crashed); run 'bluetoothctl disconnect {address}' (or restart Bluetooth: "
            "'sudo systemctl restart bluetooth') and try again."
        )
    return (
        f"The {what} {name} asks to be paired and no Bluetooth agent answered: pair it once with "
        f"bluetoothctl ('scan on', 'pair {address}', 'trust {address}', 'disconnect {address}'), then "
        "run treadwalk again."
    )
