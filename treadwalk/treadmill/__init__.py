"""The treadmill layer: the ``Treadmill`` port and its FTMS implementation over bleak.

Only ``treadwalk.treadmill.ftms`` and ``treadwalk.treadmill.discovery`` import bleak; importing
this package does not.
"""
