#!/usr/bin/env bash
# Create (or refresh) .venv with Python >= 3.12 and install treadwalk into it.
#   scripts/bootstrap.sh          the app
#   scripts/bootstrap.sh test     the app and what the tests need
#   scripts/bootstrap.sh png      the app and PNG export (CairoSVG)
# For test and png, the system's cairo library (Debian/Ubuntu: libcairo2) is installed if missing:
# CairoSVG loads it at run time.
# Idempotent: a second run only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"

find_python() {
    local c v
    # 3.12 first: what the project is developed and benchmarked on; then newer ones.
    for c in "${TREADWALK_PYTHON:-}" python3.12 python3.13 python3; do
        [ -n "$c" ] || continue
        if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            command -v "$c"; return 0
        fi
    done
    # pyenv installs that are not active in this shell
    if command -v pyenv >/dev/null 2>&1; then
        for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.|$)' | sort -rV) \
                 $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[3-9])(\.|$)' | sort -V); do
            c="$(pyenv root)/versions/$v/bin/python3"
            if [ -x "$c" ]; then echo "$c"; return 0; fi
        done
    fi
    for c in "$HOME"/.pyenv/versions/3.12*/bin/python3 "$HOME"/.pyenv/versions/3.1[3-9]*/bin/python3; do
        if [ -x "$c" ]; then echo "$c"; return 0; fi
    done
    return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    if ! py="$(find_python)"; then
        echo "treadwalk needs Python 3.12 or newer and none was found (tried python3.13, python3.12, python3 and pyenv)." >&2
        echo "Install one (e.g. 'pyenv install 3.12') or set TREADWALK_PYTHON=/path/to/python3.12, then run this again." >&2
        exit 1
    fi
    echo "==> creating .venv with $py ($("$py" --version))" >&2
    rm -rf .venv
    "$py" -m venv .venv
fi

stamp=".venv/.installed-${extra:-app}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "==> installing treadwalk${extra:+ [$extra]} into .venv" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
    target="."
    [ -n "$extra" ] && target=".[$extra]"
    # pip's and setuptools' chatter goes to a log; it is shown only when the install fails.
    if ! .venv/bin/python -m pip install --quiet -e "$target" > .venv/install.log 2>&1; then
        grep -v "^WARNING: Location" .venv/install.log | tail -n 40 >&2
        echo "installing treadwalk failed (full log: .venv/install.log); check the network to PyPI, then run this again." >&2
        exit 1
    fi
    .venv/bin/python -c 'import treadwalk' || { echo "installing treadwalk failed; see the messages above." >&2; exit 1; }
    touch "$stamp"
fi

# CairoSVG (PNG export; the png and test extras) needs the system's cairo library.
has_cairo() {
    ldconfig -p 2>/dev/null | grep -q 'libcairo\.so\.2' && return 0
    .venv/bin/python -c 'import cairosvg' >/dev/null 2>&1
}
case "$extra" in
    *test*|*png*)
        sys_need=()
        has_cairo || sys_need+=(libcairo2)
        # a monospace font keeps the picture's columns in line
        fc-list :spacing=mono 2>/dev/null | grep -q . || sys_need+=(fonts-dejavu-core)
        if [ "${#sys_need[@]}" -gt 0 ]; then
            if command -v apt-get >/dev/null 2>&1; then
                if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
                echo "==> installing ${sys_need[*]} (Debian packages, for PNG export)" >&2
                $SUDO apt-get update -qq >/dev/null
                DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${sys_need[@]}" >/dev/null
            else
                echo "PNG export needs the cairo library and a monospace font: install them with your package manager (e.g. 'brew install cairo')." >&2
            fi
        fi
        ;;
esac
