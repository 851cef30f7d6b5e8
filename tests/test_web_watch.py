"""``treadwalk watch --mqtt URL --web``: the fleet board in a real browser (Debian's Chromium via
Playwright), read-only, fed by a real Mosquitto and two real publishers (MqttTelemetry). The
watch runs as a user runs it, a process; every wait is bounded."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mqtt_broker import Mosquitto, free_port, snapshot

from treadwalk.core.model import Phase
from treadwalk.telemetry import MqttTelemetry, parse_mqtt_url

pytestmark = [pytest.mark.slow, pytest.mark.mqtt]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path) as b:
        yield b


async def _address(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    async with asyncio.timeout(20):
        while True:
            line = await asyncio.to_thread(process.stdout.readline)
            assert line, "watch ended before printing its address"
            if m := re.search(r"(http://\S+)", line):
                return m.group(1)


async def test_watch_web_shows_every_treadmill_read_only(broker: Mosquitto) -> None:
    from playwright.async_api import async_playwright

    port = free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 (started once, read from a thread)
        [sys.executable, "-m", "treadwalk", "watch", "--mqtt", broker.url, "--web", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "120", "TERM": "dumb"},
    )
    a = MqttTelemetry(parse_mqtt_url(broker.url), "lane1", name="Lane 1")
    b = MqttTelemetry(parse_mqtt_url(broker.url), "lane2", name="Lane 2")
    try:
        url = await _address(process)
        assert url.startswith(f"http://127.0.0.1:{port}/?t=")
        async with a, b, async_playwright() as p:
            await asyncio.wait_for(asyncio.gather(a.connected.wait(), b.connected.wait()), 10)
            a.on_snapshot(snapshot(61.0, segment=1, speed=5.5, heart_rate=131))
            b.on_snapshot(snapshot(5.0, phase=Phase.PAUSED, paused_by="user", speed=0.0, heart_rate=None))
            browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            try:
                page = await browser.new_page(viewport={"width": 1180, "height": 820})
                refused = await page.goto(url.split("?")[0])
                assert refused is not None and refused.status == 403
                await page.goto(url)
                lane1 = page.locator("tr[data-id=lane1]")
                await lane1.wait_for(timeout=15_000)
                async with asyncio.timeout(15):
                    while "5.5 km/h" not in (await lane1.text_content() or ""):
                        await asyncio.sleep(0.1)
                row = await lane1.text_content() or ""
                assert "Lane 1" in row and "online" in row and "2/3 Brisk" in row and "131 bpm" in row
                assert "paused" in (await page.locator("tr[data-id=lane2]").text_content() or "")
                assert "connected" in (await page.text_content("#broker") or "")
                # lane 2 leaves: the page says offline without a reload
                await b.aclose()
                lane2 = page.locator("tr[data-id=lane2] .st")
                async with asyncio.timeout(15):
                    while (await lane2.text_content()) != "offline":
                        await asyncio.sleep(0.1)
                # read-only: a command over the page's socket is refused, nothing else happens
                assert await page.evaluate("typeof window.__tw.send") == "undefined"
            finally:
                await browser.close()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, err = await asyncio.to_thread(process.communicate, timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err
