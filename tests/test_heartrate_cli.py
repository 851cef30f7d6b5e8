"""The heart-rate source on the command line: --hr and config hr for run/demo (the virtual strap by
default with --sim, connected after the treadmill), `treadwalk scan` listing straps with a kind
column, and `treadwalk sim --hr-hci` serving the strap on its own transport. Real processes."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_sim_cli import _free_port

from treadwalk.cli import main
from treadwalk.cli.heart import SIM_STRAP_NAME, HrChoice, choose
from treadwalk.core.errors import UsageError
from treadwalk.core.heart import HrSourceKind

ROOT = Path(__file__).resolve().parent.parent


def test_choose() -> None:
    assert choose(None, None, sim=False) == HrChoice(HrSourceKind.MACHINE)
    assert choose(None, "Polar H10", sim=False) == HrChoice(HrSourceKind.STRAP, "Polar H10")
    assert choose("machine", "Polar H10", sim=False).kind is HrSourceKind.MACHINE
    assert choose("NONE", None, sim=False).kind is HrSourceKind.NONE
    assert choose(None, None, sim=True) == HrChoice(HrSourceKind.STRAP, SIM_STRAP_NAME, virtual=True)
    # the config's real strap is not on the virtual radio: --sim ignores it
    assert choose(None, "Polar H10", sim=True).virtual
    assert choose("none", None, sim=True).kind is HrSourceKind.NONE
    with pytest.raises(UsageError, match="only strap is the virtual one"):
        choose("Polar H10", None, sim=True)
    with pytest.raises(UsageError, match="--hr needs"):
        choose("  ", None, sim=False)


def _env(tmp_path: Path, config: str = "") -> dict[str, str]:
    cfg = tmp_path / "config.toml"
    cfg.write_text(config)
    return {
        **os.environ,
        "TREADWALK_CONFIG": str(cfg),
        "TREADWALK_DATA_DIR": str(tmp_path / "data"),
        "PYTHONUNBUFFERED": "1",
    }


def _treadwalk(
    tmp_path: Path, *args: str, config: str = "", timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "treadwalk", *args],
        capture_output=True,
        text=True,
        env=_env(tmp_path, config),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )


def test_bad_hr_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    out = _treadwalk(tmp_path, "run", "demo", "--sim", "--hr", "Polar H10")
    assert out.returncode == 2
    assert "only strap is the virtual one" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    bad = _treadwalk(tmp_path, "run", "demo", "--sim", config="hr = 3\n")
    assert bad.returncode == 2
    assert "hr must be" in bad.stderr


SESSION = (
    "--sim",
    "--yes",
    "--no-dashboard",
    "--speedup",
    "100",
    "--max-speed",
    "5.5",
    "--fit-to-caps",
    "--debug",
)


def test_sim_session_connects_the_virtual_strap_after_the_treadmill(tmp_path: Path) -> None:
    out = _treadwalk(tmp_path, "--debug", "run", "demo", *SESSION[:-1])
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stderr
    treadmill = log.find("treadwalk.sim: [t=")  # the virtual treadmill's log lines
    connected = re.search(r"treadwalk\.sim: \[t=[\d.]+\] connected", log)
    strap = log.find("strap: connected")
    assert treadmill >= 0 and connected is not None, log[-3000:]
    assert strap > connected.start(), "the strap must be connected after the treadmill"
    assert "heart rate from treadwalk-hr" in log


def test_hr_none_serves_no_strap(tmp_path: Path) -> None:
    out = _treadwalk(
        tmp_path, "--debug", "demo", "--speedup", "100", "--yes", "--no-dashboard", "--hr", "none"
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "strap: connected" not in out.stderr
    assert "finished" in out.stdout.strip().splitlines()[-1]


@pytest.mark.slow
async def test_sim_serves_a_strap_on_its_own_transport_and_scan_lists_both(tmp_path: Path) -> None:
    ports = [_free_port() for _ in range(3)]
    controllers = subprocess.Popen(  # noqa: ASYNC220  (started once, killed in finally)
        [sys.executable, str(ROOT / "tests" / "link_controllers.py"), *(f"tcp-server:_:{p}" for p in ports)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sim: asyncio.subprocess.Process | None = None
    try:
        env = _env(tmp_path)
        for _ in range(10):
            sim = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "treadwalk",
                "sim",
                "--hci",
                f"tcp-client:127.0.0.1:{ports[0]}",
                "--name",
                "tcp-sim",
                "--hr-hci",
                f"tcp-client:127.0.0.1:{ports[1]}",
                "--hr-walker",
                "fit",
                cwd=ROOT,
                env=env,
                stderr=asyncio.subprocess.PIPE,
            )
            assert sim.stderr is not None
            try:
                async with asyncio.timeout(15.0):
                    while line := (await sim.stderr.readline()).decode():
                        if "heart-rate strap" in line and "fit walker" in line:
                            break
                    else:
                        raise TimeoutError
                break
            except TimeoutError:
                sim.kill()
                await sim.wait()
                await asyncio.sleep(0.3)
                sim = None
        assert sim is not None, "treadwalk sim never served"
        out = await asyncio.to_thread(
            _treadwalk, tmp_path, "scan", "--hci", f"tcp-client:127.0.0.1:{ports[2]}", "--timeout", "3"
        )
        assert out.returncode == 0, out.stderr
        assert re.search(r"tcp-sim\s+\S+\s+-?\d+\s+treadmill\s+treadmill", out.stdout), out.stdout
        assert re.search(r"treadwalk-hr\s+\S+\s+-?\d+\s+heart rate\s+Heart Rate Service", out.stdout), (
            out.stdout
        )
        js = await asyncio.to_thread(
            _treadwalk,
            tmp_path,
            "scan",
            "--json",
            "--hci",
            f"tcp-client:127.0.0.1:{ports[2]}",
            "--timeout",
            "3",
        )
        kinds = {json.loads(line)["name"]: json.loads(line)["kind"] for line in js.stdout.splitlines()}
        assert kinds == {"tcp-sim": "treadmill", "treadwalk-hr": "heart_rate"}
    finally:
        if sim is not None and sim.returncode is None:
            sim.kill()
            await sim.wait()
        controllers.kill()
        controllers.wait(timeout=5)


def test_sim_strap_flags_need_hr_hci(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--hci", "tcp-client:127.0.0.1:1", "--hr-fault", "drop@10s"]) == 2
    assert "add --hr-hci" in capsys.readouterr().err
    assert main(["sim", "--hci", "tcp-client:127.0.0.1:1", "--hr-hci", "x", "--hr-fault", "melt@1s"]) == 2
    assert "bad strap fault 'melt@1s'" in capsys.readouterr().err
