"""The virtual FTMS treadmill (a GATT server on Bumble, a belt with real lag, quirks and faults) and
the virtual heart-rate strap whose heart follows that belt.

::

    async with VirtualRadio() as radio:
        device = await radio.new_device("treadwalk-sim")
        async with VirtualTreadmill(device, LoopClock(), quirks="urevo", faults=["drop@30s+10s"]) as sim:
            ...                              # any bleak client (or pyftms) drives it over the radio
            sim.press_stop()                 # the console: the walker's own buttons

May import Bumble, ``treadwalk.ftms`` and ``treadwalk.core``. ``treadwalk.sim.options`` (quirk
and fault parsing), ``treadwalk.sim.belt`` (the physics), ``treadwalk.sim.physiology`` (the
walker's heart) and ``treadwalk.sim.strap_options`` are stdlib only; this package
imports Bumble, and ``import treadwalk`` does not import it.
"""

from .belt import Belt, BeltConfig
from .options import OP_NAMES, PRESETS, QUIRKS, Fault, parse_fault, parse_op, parse_quirks
from .physiology import WALKERS, Physiology, Walker
from .strap import VirtualStrap
from .strap_options import STRAP_QUIRKS, StrapFault, parse_strap_fault, parse_strap_quirks
from .treadmill import VirtualTreadmill

__all__ = [
    "OP_NAMES",
    "PRESETS",
    "QUIRKS",
    "STRAP_QUIRKS",
    "WALKERS",
    "Belt",
    "BeltConfig",
    "Fault",
    "Physiology",
    "StrapFault",
    "VirtualStrap",
    "VirtualTreadmill",
    "Walker",
    "parse_fault",
    "parse_op",
    "parse_quirks",
    "parse_strap_fault",
    "parse_strap_quirks",
]
