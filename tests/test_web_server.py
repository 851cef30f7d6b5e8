"""The second screen's server without a browser: the token, the Origin, the requests read back,
the update rate, and a client that never reads. A real aiohttp server on loopback, a real aiohttp
client; the snapshots are the engine's own type. Real time, bounded waits (a real socket)."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import segno

from treadwalk.core.errors import ConfigError, UsageError, WebError
from treadwalk.core.model import (
    Command,
    CommandKind,
    CommandSource,
    Phase,
    Plan,
    PlanSegment,
    SessionSnapshot,
    TreadmillState,
)
from treadwalk.web.payload import BadRequest, parse_request, state_payload
from treadwalk.web.qr import qr_text
from treadwalk.web.server import WebView
from treadwalk.web.settings import DEFAULT_PORT, WebSettings, parse_listen, settings_from_args

PLAN = Plan(
    name="two",
    segments=(
        PlanSegment("warm", "warmup", speed_kmh=4.0, duration_s=60.0),
        PlanSegment("brisk", "work", speed_kmh=5.5, incline_pct=2.0, duration_s=120.0),
    ),
)


def snap(speed: float = 4.0, phase: Phase = Phase.RUNNING, at: float = 0.0) -> SessionSnapshot:
    return SessionSnapshot(
        at=at,
        wall=at,
        plan=PLAN,
        phase=phase,
        segment_index=0,
        segment_remaining_s=30.0,
        machine=TreadmillState(at=at, speed_kmh=speed, incline_pct=0.0),
    )


@pytest.fixture
async def served() -> AsyncIterator[tuple[WebView, list[Command]]]:
    got: list[Command] = []
    async with WebView(WebSettings("127.0.0.1", 0, control=True), submit=got.append) as web:
        yield web, got


def base(web: WebView) -> str:
    return f"http://127.0.0.1:{web.port}"


async def hello(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive_json(), 5)
    assert msg["type"] == "hello"
    return msg


async def reply(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            msg = await ws.receive_json()
            if msg["type"] == "reply":
                return msg


async def test_without_the_token_everything_is_403(served: tuple[WebView, list[Command]]) -> None:
    web, _ = served
    async with aiohttp.ClientSession() as http:
        for path in ("/", "/?t=wrong", "/static/app.js", "/ws", f"/ws?t={web.token}x"):
            async with http.get(base(web) + path) as r:
                assert r.status == 403, path
                assert "token" in await r.text()
        async with http.get(f"{base(web)}/?t={web.token}") as r:
            assert r.status == 200
            page = await r.text()
            assert f"app.js?t={web.token}" in page
            assert r.headers["Cache-Control"] == "no-store"
        for name in ("app.js", "style.css"):
            async with http.get(f"{base(web)}/static/{name}?t={web.token}") as r:
                assert r.status == 200


async def test_a_websocket_from_another_site_is_refused(served: tuple[WebView, list[Command]]) -> None:
    web, _ = served
    url = f"{base(web)}/ws?t={web.token}"
    async with aiohttp.ClientSession() as http:
        for origin in ("http://evil.example", f"http://127.0.0.1:{web.port + 1}", None):
            headers = {"Origin": origin} if origin else {}
            with pytest.raises(aiohttp.WSServerHandshakeError) as err:
                await http.ws_connect(url, headers=headers)
            assert err.value.status == 403
        async with http.ws_connect(url, headers={"Origin": base(web)}) as ws:
            assert (await hello(ws))["control"] is True


async def test_bad_requests_get_one_reason_and_nothing_is_applied(
    served: tuple[WebView, list[Command]],
) -> None:
    web, got = served
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{base(web)}/ws?t={web.token}", headers={"Origin": base(web)}) as ws,
    ):
        await hello(ws)
        cases = {
            "{not json": "not JSON",
            '{"type": "command", "command": "fly"}': "unknown command 'fly'",
            '{"type": "command", "command": "start"}': "only from the keys",
            '{"type": "command", "command": "resume"}': "only from the keys",
            '{"command": "pause"}': "not a command",
            "[1, 2]": "not a command",
            '{"type": "command", "command": "pause", "pad": "' + "x" * 600 + '"}': "too long",
        }
        for raw, why in cases.items():
            await ws.send_str(raw)
            r = await reply(ws)
            assert r["ok"] is False and why in r["reason"], (raw, r)
        await ws.send_bytes(b"\x00")
        assert (await reply(ws))["ok"] is False
        assert got == []
        await ws.send_str('{"type": "command", "command": "pause"}')
        assert (await reply(ws))["ok"] is True
        await ws.send_str('{"type": "command", "command": "speed_up"}')
        assert (await reply(ws))["ok"] is True
    assert got == [
        Command(CommandKind.PAUSE, None, CommandSource.WEB),
        Command(CommandKind.SPEED, 0.5, CommandSource.WEB),
    ]
    assert web.stats.refused == 8 and web.stats.accepted == 2


async def test_a_read_only_page_refuses_every_command() -> None:
    got: list[Command] = []
    async with (
        WebView(WebSettings("127.0.0.1", 0, control=False), submit=got.append) as web,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{base(web)}/ws?t={web.token}", headers={"Origin": base(web)}) as ws,
    ):
        assert (await hello(ws))["control"] is False
        await ws.send_str('{"type": "command", "command": "emergency_stop"}')
        r = await reply(ws)
        assert r["ok"] is False and "--web-control" in r["reason"]
    assert got == []


async def test_updates_at_most_4_a_second_and_only_on_change(served: tuple[WebView, list[Command]]) -> None:
    web, _ = served
    runner = asyncio.create_task(web.run(), name="web-run")
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"{base(web)}/ws?t={web.token}", headers={"Origin": base(web)}) as ws,
        ):
            await hello(ws)
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            states: list[dict[str, Any]] = []

            async def read() -> None:
                while True:
                    msg = await ws.receive_json()
                    if msg["type"] == "state":
                        states.append(msg)

            reader = asyncio.create_task(read(), name="reader")
            # 2 s of snapshots at 50 Hz whose speed changes every time: at most ~4/s get through
            for i in range(100):
                web.on_snapshot(snap(speed=4.0 + i * 0.1, at=loop.time() - t0))
                await asyncio.sleep(0.02)
            sent_while_changing = len(states)
            # then 1.5 s of snapshots that change nothing the page shows (only the clock)
            for i in range(75):
                web.on_snapshot(snap(speed=99.0, at=100.0 + i))
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        assert 4 <= sent_while_changing <= 10  # 2 s at <= 4/s (+1 for the first at once)
        assert [s["speed_kmh"] for s in states].count(99.0) == 1  # unchanged: sent once
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_a_client_that_never_reads_holds_nothing_up(served: tuple[WebView, list[Command]]) -> None:
    """A browser gone to sleep: its queue stays bounded (oldest dropped), the observer returns at
    once, and a second browser still gets every update."""
    web, _ = served
    runner = asyncio.create_task(web.run(), name="web-run")
    try:
        async with aiohttp.ClientSession() as http:
            asleep = await http.ws_connect(
                f"{base(web)}/ws?t={web.token}", headers={"Origin": base(web)}, max_msg_size=0
            )
            async with http.ws_connect(f"{base(web)}/ws?t={web.token}", headers={"Origin": base(web)}) as ws:
                await hello(ws)
                loop = asyncio.get_running_loop()
                big = "x" * 60_000  # large messages fill the socket buffers quickly
                worst = 0.0
                for i in range(200):
                    t = loop.time()
                    web.on_event(_event(big + str(i)))
                    web.on_snapshot(snap(speed=4.0 + i * 0.1))
                    worst = max(worst, loop.time() - t)
                    await asyncio.sleep(0)
                last: str | None = None
                async with asyncio.timeout(10):
                    while last is None or not last.endswith("199"):
                        msg = await ws.receive_json()
                        if msg["type"] == "event":
                            last = msg["message"]
                assert worst < 0.05
                assert web.stats.dropped > 0  # the sleeping one's queue dropped its oldest
                assert max(len(c.queue) for c in web._clients) <= 16
            await asyncio.wait_for(asyncio.shield(asleep.close()), 2)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


def _event(message: str) -> Any:
    from treadwalk.core.model import EventKind, SessionEvent

    return SessionEvent(at=0.0, wall=0.0, kind=EventKind.WARNING, message=message)


async def test_a_port_in_use_is_one_sentence() -> None:
    async with WebView(WebSettings("127.0.0.1", 0)) as first:
        with pytest.raises(WebError, match=r"pick another port with --web PORT"):
            async with WebView(WebSettings("127.0.0.1", first.port or 0)):
                pass


def test_the_address_forms() -> None:
    assert parse_listen(None) == (None, DEFAULT_PORT)
    assert parse_listen("") == (None, DEFAULT_PORT)
    assert parse_listen("9000") == (None, 9000)
    assert parse_listen("127.0.0.1:9000") == ("127.0.0.1", 9000)
    assert parse_listen(":9000") == (None, 9000)
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    for bad in ("abc", "1.2.3.4:x", "70000", "[::1]9000"):
        with pytest.raises(UsageError, match="--web"):
            parse_listen(bad)


def test_web_settings_from_flags_and_config() -> None:
    ns = argparse.Namespace
    assert settings_from_args(ns(web=None, web_control=None), {"control": True}) is None
    assert settings_from_args(ns(web="", web_control=None), {}) == WebSettings(None, DEFAULT_PORT, False)
    assert settings_from_args(
        ns(web="", web_control=None), {"listen": "127.0.0.1:9001", "control": True}
    ) == (WebSettings("127.0.0.1", 9001, True))
    assert settings_from_args(ns(web="9002", web_control=True), {"listen": "1.2.3.4:1"}).port == 9002  # type: ignore[union-attr]
    with pytest.raises(UsageError, match="--web-control goes with --web"):
        settings_from_args(ns(web=None, web_control=True), {})
    with pytest.raises(ConfigError, match=r"\[web\] listen"):
        settings_from_args(ns(web="", web_control=None), {"listen": "nope"})


def test_requests_map_onto_the_same_commands_as_the_keys() -> None:
    assert parse_request('{"type":"command","command":"incline_down"}') == Command(
        CommandKind.INCLINE, -0.5, CommandSource.WEB
    )
    assert parse_request('{"type":"command","command":"extend"}') == Command(
        CommandKind.EXTEND, None, CommandSource.WEB
    )
    with pytest.raises(BadRequest):
        parse_request('{"type":"command","command":"toggle_pause"}')  # could resume a paused belt


def test_the_state_rounds_to_what_the_page_shows() -> None:
    a, b = state_payload(snap(speed=4.04, at=1.0)), state_payload(snap(speed=4.01, at=1.2))
    assert a == b and a["speed_kmh"] == 4.0
    assert json.dumps(a)  # plain JSON


def test_the_qr_code_in_text_blocks_is_the_address() -> None:
    url = "http://192.168.1.20:8765/?t=abcdefghijklmnopqrstuv"
    text = qr_text(url, border=2)
    lines = text.splitlines()
    matrix = [list(row) for row in segno.make(url, error="m", boost_error=False).matrix_iter(border=2)]
    # two rows of modules per line: upper and lower half blocks, drawn where the module is light
    top = {"█": (True, True), "▀": (True, False), "▄": (False, True), " ": (False, False)}
    for y, line in enumerate(lines):
        for x, ch in enumerate(line):
            light_top, light_bottom = top[ch]
            assert light_top == (not matrix[2 * y][x])
            if 2 * y + 1 < len(matrix):
                assert light_bottom == (not matrix[2 * y + 1][x])


def test_demo_and_run_take_web_and_web_control() -> None:
    from treadwalk.cli import build_parser
    from treadwalk.cli.demo import run_argv

    parser = build_parser()
    assert run_argv(parser.parse_args(["demo", "--web"]))[-1] == "--web"
    assert run_argv(parser.parse_args(["demo", "--web", "9000", "--web-control"]))[-3:] == [
        "--web",
        "9000",
        "--web-control",
    ]
    args = parser.parse_args(["run", "demo", "--sim", "--web"])
    assert args.web == "" and args.web_control is None
    assert parser.parse_args(["run", "demo", "--sim", "--web", "127.0.0.1:9"]).web == "127.0.0.1:9"
    assert parser.parse_args(["run", "demo", "--sim"]).web is None


def test_config_web_table(tmp_path: Any) -> None:
    from treadwalk.core.config import load_config

    good = tmp_path / "good.toml"
    good.write_text('[web]\nlisten = "127.0.0.1:9000"\ncontrol = true\n')
    assert load_config(good).web == {"listen": "127.0.0.1:9000", "control": True}
    for body, why in (
        ("[web]\nport = 1\n", "unknown setting 'port' in [web]"),
        ("[web]\ncontrol = 'yes'\n", "control must be true or false"),
        ("[web]\nlisten = 9000\n", "listen must be"),
    ):
        bad = tmp_path / "bad.toml"
        bad.write_text(body)
        with pytest.raises(ConfigError, match=re.escape(why)):
            load_config(bad)


async def test_a_page_there_before_the_first_snapshot_still_gets_the_plan(
    served: tuple[WebView, list[Command]],
) -> None:
    web, _ = served
    runner = asyncio.create_task(web.run(), name="web-run")
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"{base(web)}/ws?t={web.token}", headers={"Origin": base(web)}) as ws,
        ):
            assert "plan" not in await hello(ws)
            web.on_snapshot(snap())
            plan = await asyncio.wait_for(ws.receive_json(), 5)
            assert plan["type"] == "plan"
            assert [s["name"] for s in plan["plan"]["segments"]] == ["warm", "brisk"]
            assert plan["plan"]["segments"][1]["start_s"] == 60.0
            state = await asyncio.wait_for(ws.receive_json(), 5)
            assert state["type"] == "state" and state["speed_kmh"] == 4.0
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


def test_heart_rate_on_the_page_is_a_fresh_real_reading_only() -> None:
    from dataclasses import replace

    base_snap = snap()
    with_strap = replace(base_snap, hr_bpm=118.4, hr_zone=2, hr_low_bpm=110.0, hr_high_bpm=125.0)
    doc = state_payload(with_strap)
    assert (doc["heart_rate_bpm"], doc["hr_zone"], doc["hr_low_bpm"], doc["hr_high_bpm"]) == (
        118,
        2,
        110.0,
        125.0,
    )
    no_contact = replace(
        base_snap, hr_reason="no_contact", machine=replace(base_snap.machine, heart_rate_bpm=97)
    )
    doc = state_payload(no_contact)
    assert doc["heart_rate_bpm"] is None and doc["hr_reason"] == "no_contact"  # never the stale number
    console_zero = replace(base_snap, machine=replace(base_snap.machine, heart_rate_bpm=0))
    assert state_payload(console_zero)["heart_rate_bpm"] is None  # the treadmill's 0 is no reading
