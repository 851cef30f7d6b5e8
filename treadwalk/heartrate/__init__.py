"""Heart-rate sources: the ``HeartRate`` port, a BLE strap (bleak, Heart Rate Service 0x180D) and
the treadmill's own reading.

- ``port``: ``HeartRate``, all the engine knows of a heart-rate source (no third-party imports);
- ``machine``: ``MachineHeartRate`` (the treadmill's FTMS heart-rate field) and ``NoHeartRate``
  (``--hr none``), both stdlib only;
- ``strap``: ``BleHeartRate`` over bleak's public API with any backend (imports bleak: import
  it as ``treadwalk.heartrate.strap``);
- ``discovery``: straps in range (imports bleak).

Every source applies ``treadwalk.core.heart``'s one rule (no contact, 0, 255, outside 30-230,
stale -> no reading with its reason). May import treadwalk.core and treadwalk.ftms (and bleak,
bleak-retry-connector in ``strap``/``discovery``).
"""

from .machine import MachineHeartRate, NoHeartRate
from .port import HeartRate

__all__ = ["HeartRate", "MachineHeartRate", "NoHeartRate"]
