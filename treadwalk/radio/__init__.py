"""The radio: a bleak backend on Bumble's central, on a virtual link or any HCI transport.

Owns everything between bleak's backend interface and a Bumble controller; nothing above
it knows Bumble is there (``FtmsTreadmill`` takes ``radio.client_backend`` as its one seam).

::

    async with VirtualRadio() as radio:
        peripheral = await radio.new_device("Treadmill")     # a bumble.device.Device
        ...                                                  # GATT server + advertising
        device = await BleakScanner.find_device_by_name("Treadmill", backend=radio.scanner_backend)
        async with BleakClient(device, backend=radio.client_backend) as client:
            ...

``HciRadio("tcp-client:127.0.0.1:9001")`` is the same on a Bumble transport, and
``open_hci_device(spec, name)`` the peripheral side of one.

May import bleak, Bumble, ``treadwalk.core``. Imported only by who needs a radio (the CLI,
``sim``, tests): ``import treadwalk`` does not import it.
"""

from ._central import RadioDeviceDetails
from .backend import BumbleClient, BumbleScanner, RadioConnectTimeout
from .radios import HciLink, HciRadio, VirtualRadio, open_hci_device, open_hci_link

__all__ = [
    "BumbleClient",
    "BumbleScanner",
    "HciLink",
    "HciRadio",
    "RadioConnectTimeout",
    "RadioDeviceDetails",
    "VirtualRadio",
    "open_hci_device",
    "open_hci_link",
]
