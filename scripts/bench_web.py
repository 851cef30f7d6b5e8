#!/usr/bin/env python
"""The second screen's cost: how long from a snapshot to its value painted in a real browser, and
the CPU the web observer takes with 0, 1 and 10 connected clients, next to no web observer at all.

1. Latency. ``WebView`` on loopback, the page in Debian's headless Chromium (Playwright). A
   snapshot with a new speed is handed to ``on_snapshot`` at a wall time; the page records when
   it painted that speed (a requestAnimationFrame after the DOM update, ``performance.timeOrigin
   + now()``: the same machine clock). Two feeds: one snapshot every 300 ms (longer than the
   4 Hz rate limit: the pipeline alone) and one every 250 ms (the engine's own 4 Hz, in step with
   the limit), and the same two with the limit off (``rate_hz=1000``) side by side.
2. CPU. Fresh processes each: a feed of 4 Hz snapshots whose values change every time, for
   ``--span`` seconds; either a do-nothing observer, or ``WebView`` with 0, 1 or 10 WebSocket
   clients (aiohttp, in another process so their CPU is not counted). Process CPU time (user +
   system) over the span, divided by the span, is the share of one core.

    .venv/bin/python scripts/bench_web.py [--samples 120] [--span 20]

Goals (issue 15): median snapshot-to-paint under 50 ms on loopback; under 2 % of a core with 10
browsers. Loopback only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

PLAN_NAME = "hill-pyramid"


def _snapshot(i: int, at: float) -> Any:
    from treadwalk.core.model import ConnectionState, Phase, SessionSnapshot, TreadmillState
    from treadwalk.profile import builtin_profile

    plan = _snapshot.plan if hasattr(_snapshot, "plan") else builtin_profile(PLAN_NAME).to_plan()  # type: ignore[attr-defined]
    _snapshot.plan = plan  # type: ignore[attr-defined]
    speed = 3.0 + (i % 50) * 0.1
    return SessionSnapshot(
        at=at,
        wall=time.time(),
        plan=plan,
        phase=Phase.RUNNING,
        connection=ConnectionState.CONNECTED,
        segment_index=(i // 40) % len(plan.segments),
        segment_remaining_s=300.0 - (i % 300),
        segment_progress=(i % 300) / 300,
        session_elapsed_s=float(i),
        session_remaining_s=3000.0 - i,
        target_speed_kmh=speed,
        target_incline_pct=2.0,
        machine=TreadmillState(at=at, speed_kmh=speed, incline_pct=2.0),
        distance_m=i * 1.2,
        ascent_m=i * 0.02,
    )


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def latency(samples: int, period_s: float, rate_hz: float) -> dict[str, float]:
    from playwright.async_api import async_playwright

    from treadwalk.web.server import WebView
    from treadwalk.web.settings import WebSettings

    async with WebView(WebSettings("127.0.0.1", 0), rate_hz=rate_hz) as web, async_playwright() as p:
        pusher = asyncio.create_task(web.run(), name="web")
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            web.on_snapshot(_snapshot(0, 0.0))
            await page.goto(web.url("127.0.0.1"))
            async with asyncio.timeout(20):
                while not await page.evaluate("() => !!window.__tw.state"):
                    await asyncio.sleep(0.05)
            sent: dict[float, float] = {}
            for i in range(1, samples + 1):
                # a speed the page has not shown yet, so its paint is unambiguous
                snap = _snapshot(i, float(i))
                speed = round(snap.machine.speed_kmh + 100 + i, 1)
                from dataclasses import replace

                snap = replace(snap, machine=replace(snap.machine, speed_kmh=speed))
                sent[speed] = time.time() * 1000
                web.on_snapshot(snap)
                await asyncio.sleep(period_s)
            await asyncio.sleep(0.5)
            paints = await page.evaluate("() => window.__tw.paints")
        finally:
            await browser.close()
            pusher.cancel()
            await asyncio.gather(pusher, return_exceptions=True)
    first: dict[float, float] = {}
    for paint in paints:
        if paint["speed"] in sent and paint["speed"] not in first:
            first[paint["speed"]] = paint["at"]
    lat = [first[s] - sent[s] for s in first]
    return {
        "painted": len(lat),
        "sent": len(sent),
        "median_ms": statistics.median(lat),
        "p99_ms": _pct(lat, 0.99),
        "max_ms": max(lat),
    }


# ---------------------------------------------------------------------------------------------
# CPU


def cpu_run(mode: str, clients: int, span: float) -> dict[str, float]:
    """One fresh process: a 4 Hz feed for ``span`` s; the CPU this process used."""

    async def main() -> dict[str, float]:
        from treadwalk.web.server import WebView
        from treadwalk.web.settings import WebSettings

        class Nothing:
            def on_snapshot(self, snapshot: Any) -> None:
                pass

            def on_event(self, event: Any) -> None:
                pass

        observer: Any = Nothing()
        web: WebView | None = None
        proc: subprocess.Popen[str] | None = None
        if mode == "web":
            web = WebView(WebSettings("127.0.0.1", 0))
            await web.start()
            observer = web
            if clients:
                proc = subprocess.Popen(  # noqa: ASYNC220 (once, before the measured span)
                    [sys.executable, __file__, "--clients-for", web.url("127.0.0.1"), "--n", str(clients)],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                async with asyncio.timeout(20):
                    while web.stats.clients < clients:
                        await asyncio.sleep(0.05)
        pusher = asyncio.create_task(web.run(), name="web") if web else None
        snaps = [_snapshot(i, float(i)) for i in range(int(span * 4) + 8)]
        await asyncio.sleep(1.0)  # settle: connections made, first messages sent
        loop = asyncio.get_running_loop()
        c0, t0 = time.process_time(), loop.time()
        for i, snap in enumerate(snaps[: int(span * 4)]):
            observer.on_snapshot(snap)
            await asyncio.sleep(max(0.0, t0 + (i + 1) * 0.25 - loop.time()))
        cpu, wall = time.process_time() - c0, loop.time() - t0
        received = 0
        if pusher is not None:
            pusher.cancel()
            await asyncio.gather(pusher, return_exceptions=True)
        if proc is not None:
            proc.terminate()
            out, _ = proc.communicate(timeout=10)
            received = int(out.strip() or 0)
        if web is not None:
            await web.close()
        return {
            "core_pct": 100 * cpu / wall,
            "broadcasts": web.stats.broadcasts if web else 0,
            "received": received,
        }

    return asyncio.run(main())


def clients_for(url: str, n: int) -> None:
    """The other process: ``n`` WebSocket clients reading everything; prints how many messages."""
    import signal

    import aiohttp

    count = 0

    async def one(http: aiohttp.ClientSession) -> None:
        nonlocal count
        origin = url.split("/?")[0]
        ws_url = url.replace("/?t=", "/ws?t=")
        async with http.ws_connect(ws_url, headers={"Origin": origin}) as ws:
            async for _ in ws:
                count += 1

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with aiohttp.ClientSession() as http:
            tasks = [asyncio.create_task(one(http), name=f"client-{i}") for i in range(n)]
            try:
                async with asyncio.timeout(600):
                    await stop.wait()
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        print(count, flush=True)

    asyncio.run(main())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=120)
    ap.add_argument("--span", type=float, default=20.0)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--cpu-run", nargs=2, metavar=("MODE", "CLIENTS"), help=argparse.SUPPRESS)
    ap.add_argument("--clients-for", metavar="URL", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.clients_for:
        clients_for(args.clients_for, args.n)
        return 0
    if args.cpu_run:
        print(json.dumps(cpu_run(args.cpu_run[0], int(args.cpu_run[1]), args.span)))
        return 0

    print(f"# {platform.processor() or platform.machine()}, nproc {os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}")  # fmt: skip
    print("\n## snapshot -> painted in Chromium")
    print("| feed | rate limit | painted/sent | median ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for period in (0.3, 0.25):
        for rate, label in ((4.0, "4 Hz (treadwalk)"), (1000.0, "none")):
            r = asyncio.run(latency(args.samples, period, rate))
            print(f"| one per {period * 1000:.0f} ms | {label} | {r['painted']}/{r['sent']} | "
                  f"{r['median_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.1f} |", flush=True)  # fmt: skip

    print(f"\n## CPU of the process feeding 4 Hz snapshots for {args.span:g} s (% of one core)")
    print("| observer | clients | runs | median % | each run % | messages sent to clients |")
    print("|---|---|---|---|---|---|")
    for mode, clients in (("none", 0), ("web", 0), ("web", 1), ("web", 10)):
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, __file__, "--cpu-run", mode, str(clients), "--span", str(args.span)],
                capture_output=True,
                text=True,
                check=True,
                timeout=args.span + 60,
            )
            runs.append(json.loads(out.stdout))
        pcts = [r["core_pct"] for r in runs]
        label = "do-nothing observer" if mode == "none" else "WebView"
        each = ", ".join(f"{p:.2f}" for p in pcts)
        print(f"| {label} | {clients} | {len(runs)} | {statistics.median(pcts):.2f} | {each} | "
              f"{runs[-1]['received']} |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
