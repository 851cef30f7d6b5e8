#!/usr/bin/env bash
# Set up everything the tests need, then run the whole suite: lint, types, tests.
# Exits non-zero when anything fails (and when no test ran).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test

# System packages the tests use: tmux (dashboard test), mosquitto (MQTT tests, a real broker),
# espeak-ng and sox (the voice: real speech written to WAV files, measured), chromium (the web
# page tests: Playwright drives Debian's browser, it never downloads one).
need=()
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need+=(sox)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    echo "==> installing ${need[*]} (Debian packages)" >&2
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

echo "==> ruff" >&2
.venv/bin/ruff check treadwalk tests scripts
.venv/bin/ruff format --check treadwalk tests scripts
echo "==> mypy" >&2
.venv/bin/mypy
echo "==> pytest" >&2
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then echo "no tests ran: that is a failure" >&2; exit 1; fi
[ "$rc" = 0 ] || exit "$rc"
# The BlueZ tier (bleak's default backend, bluetoothd and the kernel, in a QEMU VM): only on a full
# run (no pytest arguments), and never skipped silently.
if [ "$#" -eq 0 ]; then
    if [ "${TREADWALK_SKIP_BLUEZ:-}" = 1 ]; then
        echo "==> BlueZ tier SKIPPED (TREADWALK_SKIP_BLUEZ=1)" >&2
    else
        echo "==> BlueZ tier" >&2
        scripts/test-bluez.sh
    fi
fi
