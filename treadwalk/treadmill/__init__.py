"""The treadmill layer: the ``Treadmill`` port and its FTMS implementation over bleak.

``ftms`` is the connection shell of ``FtmsTreadmill``; ``tracker`` the pure machine tracker
(notifications -> state and events); ``control`` the control-point protocol. Only ``ftms``,
``control`` and ``discovery`` import bleak; importing this package does not.
"""
