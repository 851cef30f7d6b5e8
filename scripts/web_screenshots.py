"""The README's pictures of the second screen: `treadwalk demo --web` as a user runs it, the page
in Debian's headless Chromium at phone (390x844) and tablet (1180x820) size.

    .venv/bin/python scripts/web_screenshots.py      # writes docs/web-phone.png, docs/web-tablet.png

Runs the demo on loopback only, for at most a minute, and stops it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"phone": (390, 844), "tablet": (1180, 820)}


def main() -> int:
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "treadwalk",
            "demo",
            "--speedup",
            "4",
            "--yes",
            "--no-dashboard",
            "--web",
            "127.0.0.1:0",
            "--web-control",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    try:
        url = None
        deadline = time.monotonic() + 30
        assert demo.stdout is not None
        while url is None and time.monotonic() < deadline:
            line = demo.stdout.readline()
            if m := re.search(r"(http://\S+)", line):
                url = m.group(1)
        if url is None:
            print("the demo printed no address", file=sys.stderr)
            return 1
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            pages = {}
            for name, (w, h) in SIZES.items():
                page = browser.new_page(viewport={"width": w, "height": h})
                page.goto(url)
                pages[name] = page
            # in the "Brisk" segment, with its cue showing
            first = pages["phone"]
            until = time.monotonic() + 45
            ready = "() => !!(window.__tw.state && window.__tw.state.segment_index === 1 && window.__tw.state.cue)"
            while not first.evaluate(ready) and time.monotonic() < until:  # bounded
                time.sleep(0.2)
            time.sleep(1.0)
            for name, page in pages.items():
                out = ROOT / "docs" / f"web-{name}.png"
                page.screenshot(path=str(out))
                print(f"wrote {out.relative_to(ROOT)}")
            browser.close()
    finally:
        demo.terminate()
        try:
            demo.wait(10)
        except subprocess.TimeoutExpired:
            demo.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
