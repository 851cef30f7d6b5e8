"""The second screen in a real browser: Debian's headless Chromium driven by Playwright (no browser
download: ``executable_path``), against the real stack: Session -> FtmsTreadmill -> bleak -> the
Bumble radio -> the virtual treadmill, with ``WebView`` as one more observer. Real time (a real
browser and real sockets), the treadmill's clock sped up; every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from treadwalk.core.clock import LoopClock
from treadwalk.core.model import Limits, Phase, Plan, PlanSegment, StopReason
from treadwalk.engine import Session, Settings
from treadwalk.radio import VirtualRadio
from treadwalk.sim import VirtualTreadmill
from treadwalk.treadmill.ftms import FtmsTreadmill
from treadwalk.web.server import WebView
from treadwalk.web.settings import WebSettings

CHROMIUM = "/usr/bin/chromium"
NAME = "treadwalk-sim"

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _chromium() -> None:
    # not a skip: the page is a feature; scripts/test.sh installs Debian's chromium
    assert shutil.which(CHROMIUM), "no /usr/bin/chromium: apt-get install chromium (scripts/test.sh does)"


@dataclass
class Stack:
    sim: VirtualTreadmill
    session: Session
    web: WebView
    task: asyncio.Task[Any] | None = None

    def ops(self) -> list[str]:
        return [h[:2] for _, h in self.sim.received]

    async def until(self, predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
        async with asyncio.timeout(timeout_s):
            while not predicate():
                await asyncio.sleep(0.05)


def _plan() -> Plan:
    return Plan(
        name="browser walk",
        segments=(
            PlanSegment("Warm-up", "warmup", speed_kmh=4.0, incline_pct=1.0, duration_s=60.0),
            PlanSegment("Brisk", "work", speed_kmh=5.5, incline_pct=3.0, duration_s=60.0),
        ),
    )


@contextlib.asynccontextmanager
async def stack(*, auto_start: bool = True, speedup: float = 6.0, port: int = 0) -> AsyncIterator[Stack]:
    clock = LoopClock(speedup)
    async with VirtualRadio() as radio:
        device = await radio.new_device(NAME)
        async with VirtualTreadmill(device, clock, name=NAME) as vt:
            tm = FtmsTreadmill(NAME, clock=clock, radio=radio, reconnect_grace_s=10.0)
            session = Session(
                tm,
                _plan(),
                clock,
                limits=Limits(),
                settings=Settings(auto_start=auto_start, cooldown_s=10.0, countdown_s=1.0),
            )
            async with WebView(WebSettings("127.0.0.1", port, control=True), submit=session.submit) as web:
                session.add_observer(web)
                s = Stack(vt, session, web)
                async with asyncio.TaskGroup() as tg:
                    s.task = tg.create_task(session.run(), name="session")
                    pusher = tg.create_task(web.run(), name="web")
                    try:
                        yield s
                    finally:
                        if not s.task.done():
                            from treadwalk.core.model import Command, CommandKind

                            session.submit(Command(CommandKind.EMERGENCY_STOP))
                        pusher.cancel()


@contextlib.asynccontextmanager
async def browser(width: int = 390, height: int = 844) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await b.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            yield page
            assert errors == [], errors
        finally:
            await b.close()


async def text(page: Any, selector: str) -> str:
    return str(await page.text_content(selector))


async def wait_text(
    page: Any, selector: str, predicate: Callable[[str], bool], timeout_s: float = 20.0
) -> str:
    async with asyncio.timeout(timeout_s):
        while True:
            value = await text(page, selector)
            if predicate(value):
                return value
            await asyncio.sleep(0.1)


async def follows(
    page: Any, selector: str, value: Callable[[], float | None], timeout_s: float = 5.0
) -> None:
    """The page shows what the session has now (within 0.15), within a bounded wait: a page that
    froze, or shows something else, fails."""
    last: tuple[str, float | None] = ("", None)
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                shown, now = await text(page, selector), value()
                last = (shown, now)
                if now is not None and shown not in ("–", "") and abs(float(shown) - now) <= 0.15:
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"{selector} shows {last[0]!r}, the session has {last[1]}") from None


async def test_the_page_loads_with_the_token_and_is_refused_without() -> None:
    async with stack(auto_start=False) as s, browser() as page:
        url = s.web.url("127.0.0.1")
        refused = await page.goto(url.split("?")[0])
        assert refused is not None and refused.status == 403
        assert "token" in await page.content()
        refused = await page.goto(url + "nope")
        assert refused is not None and refused.status == 403
        ok = await page.goto(url)
        assert ok is not None and ok.status == 200
        assert await wait_text(page, "#phase", lambda t: t == "ready")
        assert await text(page, "#conn") == "connected"
        assert await page.is_visible("#controls")
        assert "browser walk" in await text(page, "#profile")


async def test_the_numbers_follow_the_session() -> None:
    async with stack() as s, browser() as page:
        await page.goto(s.web.url("127.0.0.1"))
        await wait_text(page, "#phase", lambda t: t == "running")
        await wait_text(page, "#seg-title", lambda t: t == "Warm-up")
        # the page's speed follows the machine's own reading (to 0.1 km/h, within a few updates)
        await s.until(lambda: s.sim.belt_speed_kmh > 3.9)
        for _ in range(3):
            await follows(page, "#speed", lambda: s.session.snapshot.machine.speed_kmh)  # type: ignore[union-attr]
            await asyncio.sleep(0.5)
        assert await text(page, "#speed-target") == "4.0 km/h"
        assert await text(page, "#incline-target") == "1.0 %"
        assert await text(page, "#next") != ""
        # the segment changes on the page when it changes in the engine
        await wait_text(page, "#seg-title", lambda t: t == "Brisk", timeout_s=30)
        assert await wait_text(page, "#speed-target", lambda t: t == "5.5 km/h")
        await s.until(lambda: s.sim.belt_speed_kmh > 5.4)
        await follows(page, "#speed", lambda: s.session.snapshot.machine.speed_kmh)  # type: ignore[union-attr]
        await follows(page, "#incline", lambda: s.session.snapshot.machine.incline_pct)  # type: ignore[union-attr]
        assert await text(page, "#seg-count") == "2/2"
        left = await text(page, "#seg-left")
        assert ":" in left
        # units switch on the page: mph, then pace
        await page.click("#units")
        assert await wait_text(page, "#speed-target", lambda t: t.endswith("mph"))
        await page.click("#units")
        assert await wait_text(page, "#speed-target", lambda t: t.endswith("/km"))
        # the chart's "you are here" moved into the second segment (past the middle)
        x = float(await page.get_attribute("#here", "x1") or 0)
        assert 500 <= x <= 1000


async def test_pause_and_stop_from_the_page_pause_and_stop_the_belt() -> None:
    async with stack() as s, browser() as page:
        await page.goto(s.web.url("127.0.0.1"))
        await wait_text(page, "#phase", lambda t: t == "running")
        await s.until(lambda: s.sim.belt_speed_kmh > 3.5)
        await page.click("#pause")
        await s.until(lambda: s.sim.belt_speed_kmh == 0.0 and s.session.snapshot.phase is Phase.PAUSED)  # type: ignore[union-attr]
        assert await wait_text(page, "#phase", lambda t: t == "paused")
        assert await page.is_disabled("#pause")  # a resume stays the walker's key
        await page.click("#stop")
        assert s.task is not None
        result = await asyncio.wait_for(asyncio.shield(s.task), 20)
        assert result.stop_reason is StopReason.USER
        assert s.sim.stopped and s.ops()[-1] == "08"
        assert await wait_text(page, "#phase", lambda t: t == "finished")


async def test_a_start_from_the_page_is_refused() -> None:
    async with stack(auto_start=False) as s, browser() as page:
        await page.goto(s.web.url("127.0.0.1"))
        await wait_text(page, "#phase", lambda t: t == "ready")
        for word in ("start", "resume", "toggle_pause"):
            await page.evaluate(f"window.__tw.send(JSON.stringify({{type: 'command', command: '{word}'}}))")
            assert "refused" in await wait_text(page, "#toast", lambda t: "refused" in t)
        await asyncio.sleep(2.0)  # 12 s of treadmill time
        assert s.session.snapshot is not None and s.session.snapshot.phase is Phase.READY
        assert "07" not in s.ops()
        assert s.sim.stopped


async def test_the_page_survives_the_server_restarting() -> None:
    async with stack(auto_start=False) as s, browser() as page:
        await page.goto(s.web.url("127.0.0.1"))
        await wait_text(page, "#phase", lambda t: t == "ready")
        port, token = s.web.port, s.web.token
        await s.web.close()
        assert await wait_text(page, "#conn", lambda t: t == "reconnecting", timeout_s=10)
        assert await page.evaluate("document.body.classList.contains('stale')")
        again = WebView(
            WebSettings("127.0.0.1", port or 0, control=True), submit=s.session.submit, token=token
        )
        async with again:
            s.session.add_observer(again)
            pusher = asyncio.create_task(again.run(), name="web-again")
            try:
                assert await wait_text(page, "#conn", lambda t: t == "connected", timeout_s=15)
                assert not await page.evaluate("document.body.classList.contains('stale')")
                assert await text(page, "#phase") == "ready"
            finally:
                pusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pusher


async def test_speed_up_and_stop_now_from_the_page() -> None:
    """A + from the page goes through the engine's rules (0.5 km/h onto the grid), is recorded
    with its source, and STOP NOW stops the belt at once, without a cool-down."""
    events: list[Any] = []

    class Events:
        def on_snapshot(self, snapshot: Any) -> None:
            pass

        def on_event(self, event: Any) -> None:
            events.append(event)

    async with stack() as s, browser() as page:
        s.session.add_observer(Events())
        await page.goto(s.web.url("127.0.0.1"))
        await wait_text(page, "#phase", lambda t: t == "running")
        await s.until(lambda: s.sim.belt_speed_kmh > 3.9)
        await page.click("text=speed +")
        await s.until(lambda: s.sim.target_speed_kmh == pytest.approx(4.5))
        assert await wait_text(page, "#speed-target", lambda t: t == "4.5 km/h")
        (override,) = [e for e in events if e.kind == "override"]
        assert override.data["source"] == "web"
        await page.click("#estop")
        assert s.task is not None
        result = await asyncio.wait_for(asyncio.shield(s.task), 20)
        assert result.stop_reason is StopReason.USER
        assert s.sim.stopped
        phases = [e.data.get("phase") for e in events if e.kind == "phase"]
        assert "cooldown" not in phases


async def test_the_machines_own_pause_control_lost_and_a_dropped_link_are_always_on_the_page() -> None:
    async with stack() as s, browser(1180, 820) as page:
        await page.goto(s.web.url("127.0.0.1"))
        await wait_text(page, "#phase", lambda t: t == "running")
        await s.until(lambda: s.sim.belt_speed_kmh > 3.5)
        s.sim.press_pause()  # the treadmill's own button
        assert await wait_text(page, "#phase", lambda t: t == "paused by the treadmill")
        assert "paused by the treadmill" in await wait_text(page, "#banner", lambda t: t != "")
        s.sim.press_start()  # the walker goes on at the console
        await wait_text(page, "#phase", lambda t: t == "running")
        s.sim.revoke_control()  # another app took over: FTMS status 0xFF
        # the engine asks once and gets it back at once, so the state may never show it for a
        # whole update: the event does, at once, and the banner holds it for a few seconds
        assert "CONTROL LOST" in await wait_text(page, "#banner", lambda t: "CONTROL LOST" in t)
        assert await page.evaluate("() => window.__tw.events.some((e) => e.kind === 'control_lost')")
        await wait_text(page, "#conn", lambda t: t == "connected", timeout_s=30)
        # then the link drops and comes back
        s.sim.drop_link(come_back_after_s=5.0)
        assert "reconnecting" in await wait_text(page, "#banner", lambda t: "reconnecting" in t)
        await wait_text(page, "#conn", lambda t: t == "connected", timeout_s=30)
