"""Bumble's Host and Controller, without formatting every HCI packet for a disabled log.

Bumble 0.0.236 writes ``logger.debug(f"... {packet}")`` for each HCI packet in both
directions, in the host and in the virtual controller: the f-string (field formatting plus
terminal colours) is built even when debug logging is off, and that is about half the CPU
time of a connect over the virtual link. These subclasses dispatch exactly as Bumble does,
and hand over to Bumble's own method (with its log line) whenever its logger is at DEBUG.

``QuietController`` also behaves like a real controller in two places where Bumble 0.0.236's
virtual one does not (``VirtualRadio`` uses it on both sides of its link):

- LE Create Connection Cancel cancels (Core spec Vol 4 Part E 7.8.13): the pending attempt
  ends with an LE Connection Complete event, status Unknown Connection Identifier; with no
  attempt pending the command is disallowed. Bumble answers success and keeps the attempt
  (``honours_cancel = False`` keeps that, to test the radio against it in virtual time).
- Packets still in flight on a link this controller has just closed are dropped at DEBUG.
  Bumble's controller drops the connection the moment it sends or receives LL_TERMINATE_IND,
  so a notification the peer sent a moment before, or an ACL packet its host sent before it
  saw the Disconnection Complete, arrives for "no connection" and is logged as a WARNING (an
  ERROR for LL control PDUs crossing a terminate). That race is normal at every disconnect
  while the peer notifies (``treadwalk run --sim`` ends that way); a real controller discards
  such packets silently. Packets for a link never known still warn, as in Bumble.

Imports Bumble only. Bumble is pinned exactly; ``tests/test_radio.py`` checks these overrides
still match what they replace.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bumble import controller as bumble_controller
from bumble import hci, ll
from bumble import host as bumble_host
from bumble.controller import Controller
from bumble.core import PhysicalTransport
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
    honours_cancel = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Links this controller closed: peer address -> handle (a new link to that peer, or a
        # reused handle, is found first: these only answer for packets of a link now gone).
        self._closed_links: dict[hci.Address, int] = {}

    # ---- LE Create Connection Cancel, as the spec has it -------------------------------------

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        if not self.honours_cancel:
            return super().on_hci_le_create_connection_cancel_command(command)
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        # After the Command Complete of the cancel (the dispatcher sends it on return).
        asyncio.get_running_loop().call_soon(self._connection_cancelled, pending)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def _connection_cancelled(
        self, pending: hci.HCI_LE_Create_Connection_Command | hci.HCI_LE_Extended_Create_Connection_Command
    ) -> None:
        self.send_hci_packet(
            hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0,
                role=hci.Role.CENTRAL,
                peer_address_type=pending.peer_address.address_type,
                peer_address=pending.peer_address,
                connection_interval=0,
                peripheral_latency=0,
                supervision_timeout=0,
                central_clock_accuracy=0,
            )
        )

    # ---- packets in flight on a link just closed ---------------------------------------------

    def on_le_disconnected(self, connection: bumble_controller.Connection, reason: int) -> None:
        super().on_le_disconnected(connection, reason)
        self._closed_links[connection.peer_address] = connection.handle

    def on_hci_acl_data_packet(self, packet: hci.HCI_AclDataPacket) -> None:
        handle = packet.connection_handle
        if self.find_connection_by_handle(handle) is None and handle in self._closed_links.values():
            _controller_log.debug("[%s] dropped ACL data for closed handle 0x%04X", self.name, handle)
            return
        super().on_hci_acl_data_packet(packet)

    def on_link_acl_data(
        self, sender_address: hci.Address, transport: PhysicalTransport, data: bytes
    ) -> None:
        if (
            transport == PhysicalTransport.LE
            and sender_address not in self.le_connections
            and sender_address in self._closed_links
        ):
            _controller_log.debug("[%s] dropped ACL data from %s: link closed", self.name, sender_address)
            return
        super().on_link_acl_data(sender_address, transport, data)

    def on_ll_control_pdu(self, sender_address: hci.Address, packet: ll.ControlPdu) -> None:
        if sender_address not in self.le_connections and sender_address in self._closed_links:
            _controller_log.debug("[%s] dropped %s from %s: link closed", self.name, packet, sender_address)
            return
        super().on_ll_control_pdu(sender_address, packet)

    # ---- dispatch without formatting -------------------------------------------------------

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
