"""``treadwalk.treadmill.bluez``: BlueZ's view of connected devices. Where there is no BlueZ (this
machine has no system bus; macOS, Windows) it finds nothing and raises nothing; the BlueZ tier
(scripts/test-bluez.sh, case ``acquired``) uses it for real, against bluetoothd in the VM."""

from __future__ import annotations

import os

import pytest

from treadwalk.treadmill import bluez


async def test_no_system_bus_finds_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]
) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path}/no-such-socket")
    assert await bluez.connected_device("treadwalk-sim", timeout_s=2.0) is None


async def test_not_linux_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bluez.sys, "platform", "darwin")
    assert await bluez.connected_device("AA:BB:CC:DD:EE:FF") is None


def test_matches_by_address_name_or_alias_ignoring_case() -> None:
    props = {"Address": "D0:7D:00:00:00:01", "Name": "treadwalk-sim", "Alias": "My belt"}
    assert bluez._matches(props, "d0:7d:00:00:00:01")
    assert bluez._matches(props, "TREADWALK-SIM")
    assert bluez._matches(props, "my belt")
    assert not bluez._matches(props, "treadwalk-hr")
