"""Bumble's Host and Controller, without formatting every HCI packet for a disabled log.

Bumble 0.0.236 writes ``logger.debug(f"... {packet}")`` for each HCI packet in both
directions, in the host and in the virtual controller: the f-string (field formatting plus
terminal colours) is built even when debug logging is off, and that is about half the CPU
time of a connect over the virtual link. These subclasses dispatch exactly as Bumble does,
and hand over to Bumble's own method (with its log line) whenever its logger is at DEBUG.

Imports Bumble only. Bumble is pinned exactly; ``tests/test_radio.py`` checks these overrides
still match what they replace.
"""

from __future__ import annotations

import asyncio
import logging

from bumble import controller as bumble_controller
from bumble import hci
from bumble import host as bumble_host
from bumble.controller import Controller
from bumble.host import Host
from bumble.snoop import Snooper

__all__ = ["QuietController", "QuietHost"]

_host_log = logging.getLogger(bumble_host.__name__)
_controller_log = logging.getLogger(bumble_controller.__name__)


class QuietHost(Host):
    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _host_log.isEnabledFor(logging.DEBUG):
            super().send_hci_packet(packet)
            return
        if self.snooper:
            self.snooper.snoop(bytes(packet), Snooper.Direction.HOST_TO_CONTROLLER)
        if self.hci_sink:
            self.hci_sink.on_packet(bytes(packet))

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _host_log.isEnabledFor(logging.DEBUG):
            super().on_hci_packet(packet)
            return
        if self.snooper:
            self.snooper.snoop(bytes(packet), Snooper.Direction.CONTROLLER_TO_HOST)
        match packet:
            case hci.HCI_Command():
                self.on_hci_command_packet(packet)
            case hci.HCI_Event():
                self.on_hci_event_packet(packet)
            case hci.HCI_AclDataPacket():
                self.on_hci_acl_data_packet(packet)
            case hci.HCI_SynchronousDataPacket():
                self.on_hci_sco_data_packet(packet)
            case hci.HCI_IsoDataPacket():
                self.on_hci_iso_data_packet(packet)
            case _:
                _host_log.warning("!!! unknown packet type %s", packet.hci_packet_type)


class QuietController(Controller):
    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _controller_log.isEnabledFor(logging.DEBUG):
            super().on_hci_packet(packet)
            return
        match packet:
            case hci.HCI_Command():
                self.on_hci_command_packet(packet)
            case hci.HCI_AclDataPacket():
                self.on_hci_acl_data_packet(packet)
            case hci.HCI_Event():
                self.on_hci_event_packet(packet)
            case _:
                _controller_log.warning("!!! unknown packet type %s", packet.hci_packet_type)

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _controller_log.isEnabledFor(logging.DEBUG):
            super().send_hci_packet(packet)
            return
        if self.host:
            asyncio.get_running_loop().call_soon(self.host.on_packet, bytes(packet))
