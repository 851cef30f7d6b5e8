"""treadwalk: play walking workouts on Bluetooth FTMS treadmills.

Importing this package imports no third-party library (bleak, bumble, rich, aiomqtt stay in
their own modules and are imported only where used).
"""

__version__ = "0.1.0"
