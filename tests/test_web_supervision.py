"""The second screen is supervised in the session's TaskGroup, and it is not something the walk
depends on: a web server that fails mid-walk says so once and ends nothing else (the belt plays the
profile to its end); the page's buttons go through the engine, which never takes a start from it.

`treadwalk run --sim --no-dashboard --web 127.0.0.1:0` as the CLI builds it (``_Composition``:
the real engine, FtmsTreadmill, the Bumble radio, the virtual treadmill, the recorder, WebView),
in virtual time."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

import treadwalk.web.server
from treadwalk.cli.run import _Composition
from treadwalk.core.model import Command, CommandKind, CommandSource, Limits, Phase, Plan, PlanSegment
from treadwalk.engine import Settings
from treadwalk.recording import SessionStore
from treadwalk.web.settings import WebSettings

pytestmark = pytest.mark.virtual_time


def _composition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, yes: bool = True) -> _Composition:
    monkeypatch.setenv("TREADWALK_DATA_DIR", str(tmp_path / "data"))
    args = argparse.Namespace(
        sim=True, hci=None, no_dashboard=True, yes=yes, summary_json=None, mqtt_id=None, mqtt_control=False
    )
    plan = Plan(
        name="walk",
        segments=tuple(
            PlanSegment(name=f"s{i}", kind="work", speed_kmh=4.0 + i, duration_s=60.0) for i in range(2)
        ),
    )
    return _Composition(
        args=args,
        device="treadwalk-sim",
        plan=plan,
        limits=Limits(),
        settings=Settings(auto_start=yes, cooldown_s=10.0, countdown_s=3.0),
        speedup=1.0,
        reconnect_grace_s=30.0,
        quirks={},
        mqtt=None,
        web=WebSettings("127.0.0.1", 0, control=True),
    )


class BreaksMidWalk(treadwalk.web.server.WebView):
    """A real WebView whose push loop raises once the belt has been walked on for a while."""

    async def run(self) -> None:
        while True:
            snap = self._latest
            if snap is not None and snap.phase is Phase.RUNNING and snap.session_elapsed_s >= 20.0:
                raise RuntimeError("web exploded")
            await asyncio.sleep(0.25)


async def test_a_web_server_that_fails_ends_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: Any
) -> None:
    monkeypatch.setattr(treadwalk.web.server, "WebView", BreaksMidWalk)
    comp = _composition(tmp_path, monkeypatch)
    with caplog.at_level(logging.WARNING):
        code = await asyncio.wait_for(comp.main(), 600)
    assert code == 0  # the walk went on to its end
    assert (
        comp.web_error is not None and "web exploded" in comp.web_error and "walk goes on" in comp.web_error
    )
    said = [r for r in caplog.records if "The web page stopped" in r.getMessage()]
    assert len(said) == 1  # once
    assert "second screen (with its buttons) at http://127.0.0.1:" in capsys.readouterr().out
    with SessionStore(tmp_path / "data" / "sessions.db") as store:
        (row,) = store.list_sessions()
    assert row.stop_reason == "finished"
    assert comp.sim.stopped


async def test_a_start_from_the_page_never_moves_the_belt_and_a_pause_is_recorded_as_web(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the page's own path (WebView's request handling -> session.submit): a start is
    refused; later, with the walker's key started, a pause from the page pauses the belt and the
    record says the web page asked."""
    comp = _composition(tmp_path, monkeypatch, yes=False)
    main = asyncio.create_task(comp.main(), name="main")
    async with asyncio.timeout(120):
        while (
            comp.session is None
            or comp.session.snapshot is None
            or comp.session.snapshot.phase is not Phase.READY
        ):
            await asyncio.sleep(0.5)
    web = comp.web
    assert web is not None
    r = web._request('{"type": "command", "command": "start"}')
    assert r["ok"] is False
    await asyncio.sleep(10)
    assert comp.session.snapshot.phase is Phase.READY
    assert not any(h.startswith("07") for _, h in comp.sim.received)  # never a Start or Resume
    comp.session.submit(Command(CommandKind.START, source=CommandSource.KEYBOARD))  # the walker's key
    async with asyncio.timeout(60):
        while comp.session.snapshot.phase is not Phase.RUNNING or comp.sim.belt_speed_kmh < 3.5:
            await asyncio.sleep(0.5)
    assert web._request('{"type": "command", "command": "pause"}')["ok"] is True
    async with asyncio.timeout(30):
        while not (comp.session.snapshot.phase is Phase.PAUSED and comp.sim.belt_speed_kmh == 0):
            await asyncio.sleep(0.5)
    assert web._request('{"type": "command", "command": "stop"}')["ok"] is True
    code = await asyncio.wait_for(main, 120)
    assert code == 0
    assert comp.sim.stopped
    with SessionStore(tmp_path / "data" / "sessions.db") as store:
        (row,) = store.list_sessions()
        events = store.events(row.id)
    pauses = [e for e in events if e.kind == "pause"]
    assert pauses and pauses[0].data.get("source") == "web"
