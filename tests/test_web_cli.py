"""``treadwalk demo --web`` as a user runs it: a process that prints the address with its token and
a QR code, serves the page while the walk goes on, and ends as usual; a port in use is one
sentence and exit 1 before anything moves. Real processes, loopback, bounded waits."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _demo(*extra: str, tmp_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "treadwalk", "demo", "--speedup", "10", "--yes", "--no-dashboard", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "TREADWALK_DATA_DIR": str(tmp_path),
            "TREADWALK_CONFIG": str(tmp_path / "none.toml"),
        },
    )


def test_demo_web_prints_the_address_and_a_qr_code_and_serves_the_page(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = _demo("--web", f"127.0.0.1:{port}", tmp_path=tmp_path)
    try:
        assert process.stdout is not None
        head: list[str] = []
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, "the demo ended before printing its address"
            head.append(line)
            if m := re.search(r"second screen \(read-only\) at (http://\S+)", line):
                url = m.group(1)
        assert url is not None and url.startswith(f"http://127.0.0.1:{port}/?t=")
        qr = [process.stdout.readline() for _ in range(8)]
        assert all(set(line.strip()) <= set("█▀▄ ") and line.strip() for line in qr), qr
        with urllib.request.urlopen(url, timeout=5) as r:
            assert r.status == 200 and b"treadwalk" in r.read()
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url.split("?")[0], timeout=5)
        assert err.value.code == 403
        err.value.close()
        # a second one on the same port: one sentence, exit 1, and its belt never moved
        second = _demo("--web", f"127.0.0.1:{port}", tmp_path=tmp_path / "b")
        out, errs = second.communicate(timeout=60)
        assert second.returncode == 1
        assert errs.count("\n") == 1 and "pick another port with --web PORT" in errs
        assert "Traceback" not in errs
        assert "running" not in out
        process.send_signal(signal.SIGINT)  # the first Ctrl+C stops the belt now
        _, errs = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, errs
    assert "Traceback" not in errs


def test_web_control_without_web_is_bad_usage(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "treadwalk", "run", "demo", "--sim", "--web-control"],
        capture_output=True,
        text=True,
        timeout=30,
        env={
            **os.environ,
            "TREADWALK_DATA_DIR": str(tmp_path),
            "TREADWALK_CONFIG": str(tmp_path / "none.toml"),
        },
    )
    assert out.returncode == 2
    assert out.stderr.strip().endswith("--web-control goes with --web: add --web (or --web PORT).")
