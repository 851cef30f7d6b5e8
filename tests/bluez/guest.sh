#!/bin/bash
# The BlueZ tier's cases, run inside its VM (chrooted into the host's read-only /, as root) by
# scripts/test-bluez.sh: never run this on a real machine. $1 is the project's root.
# Writes one "PASS name" / "FAIL name (why)" line per case to /tmp/results/cases.txt; when the
# harness itself cannot start, one sentence to /tmp/results/harness.txt.
set -u
ROOT="$1"
CASES="${2:-scan info run drop}"
want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }
R=/tmp/results
TW="$ROOT/.venv/bin/treadwalk"
PY="$ROOT/.venv/bin/python"
export HOME=/tmp/home XDG_CONFIG_HOME=/tmp/home/.config XDG_DATA_HOME=/tmp/home/.local/share
export XDG_CACHE_HOME=/tmp/home/.cache PYTHONDONTWRITEBYTECODE=1 TERM=dumb COLUMNS=120 NO_COLOR=1
export PATH="$ROOT/.venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
mkdir -p "$HOME"
cd "$ROOT" || exit 1
T0=$(date +%s)

say() { echo "bluez-vm [$(($(date +%s) - T0))s]: $*"; }
harness() { echo "$*" > "$R/harness.txt"; say "HARNESS $*"; exit 0; }
pass() { echo "PASS $1${2:+ ($2)}" >> "$R/cases.txt"; say "PASS $1${2:+ ($2)}"; }
fail() {
    local why
    why=$(printf '%s' "$2" | tr '\n' ' ')
    echo "FAIL $1 ($why)" >> "$R/cases.txt"
    say "FAIL $1 ($why)"
}

# wait_for SECONDS COMMAND...: run COMMAND every second until it succeeds; 1 when time runs out.
wait_for() {
    local limit=$1 t=0
    shift
    until "$@" >/dev/null 2>&1; do
        t=$((t + 1))
        [ "$t" -ge "$limit" ] && return 1
        sleep 1
    done
}

adapter_prop() {
    dbus-send --system --print-reply --dest=org.bluez /org/bluez/hci0 \
        org.freedesktop.DBus.Properties.Get string:org.bluez.Adapter1 "string:$1" 2>/dev/null
}
powered() { adapter_prop Powered | grep -q "boolean true"; }

# --- the stack: loopback, dbus, the kernel's vhci, the controller link, bluetoothd --------------
ip link set lo up 2>/dev/null || busybox ip link set lo up
modprobe hci_vhci || harness "modprobe hci_vhci failed in the VM (kernel $(uname -r) without Bluetooth?)."
mkdir -p /run/dbus
dbus-daemon --system --fork --nopidfile || harness "dbus-daemon did not start in the VM."
"$PY" "$ROOT/tests/bluez/link.py" vhci tcp-server:_:9001 tcp-server:_:9002 > "$R/link.log" 2>&1 &
wait_for 60 test -e /sys/class/bluetooth/hci0 || harness "no hci0 in the VM 60 s after opening /dev/vhci (link log: $(tail -n 1 "$R/link.log"))."
say "hci0 up"
btmon -w "$R/hci.btsnoop" > /dev/null 2>&1 &
/usr/libexec/bluetooth/bluetoothd -n -d > "$R/bluetoothd.log" 2>&1 &
/usr/libexec/bluetooth/bluetoothd --version > "$R/bluez-version.txt" 2>&1
sed -i 's/^/BlueZ /' "$R/bluez-version.txt"
wait_for 60 adapter_prop Address || harness "bluetoothd did not show hci0 on D-Bus within 60 s."
if ! powered; then
    dbus-send --system --print-reply --dest=org.bluez /org/bluez/hci0 org.freedesktop.DBus.Properties.Set \
        string:org.bluez.Adapter1 string:Powered variant:boolean:true >/dev/null 2>&1
fi
wait_for 30 powered || harness "bluetoothd did not power hci0 within 30 s."
say "bluetoothd ready ($(cat "$R/bluez-version.txt"))"

SIM_PID=""
start_sim() {  # start_sim LOGNAME [sim options...]
    local name=$1
    shift
    stop_sim
    "$TW" sim --hci tcp-client:127.0.0.1:9001 "$@" > "$R/$name-sim.log" 2>&1 &
    SIM_PID=$!
    if ! wait_for 60 grep -q "serving" "$R/$name-sim.log"; then
        return 1
    fi
}
stop_sim() {
    if [ -n "$SIM_PID" ]; then
        kill -INT "$SIM_PID" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$SIM_PID" 2>/dev/null || break; sleep 1; done
        kill -9 "$SIM_PID" 2>/dev/null
        wait "$SIM_PID" 2>/dev/null
        SIM_PID=""
    fi
}

# summary_ok FILE: the run finished its profile and the belt is stopped.
summary_ok() {
    "$PY" - "$1" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
ok = s.get("stop_reason") == "finished" and s.get("belt_stopped") is True
print(f"stop_reason={s.get('stop_reason')} belt_stopped={s.get('belt_stopped')}")
sys.exit(0 if ok else 1)
EOF
}

# --- cases --------------------------------------------------------------------------------------
if ! start_sim basic; then
    harness "treadwalk sim did not start serving within 60 s: $(tail -n 1 "$R/basic-sim.log")"
fi
say "sim serving"

export BLEAK_LOGGING=1
# scan: the treadmill is found through bleak's BlueZ backend
if ! want scan; then :
elif timeout 90 "$TW" scan --timeout 10 > "$R/scan.log" 2>&1 && grep -q "treadwalk-sim" "$R/scan.log"; then
    pass scan
else
    fail scan "treadwalk-sim not listed: $(tail -n 1 "$R/scan.log")"
fi

# info: read by name
if ! want info; then :
elif timeout 120 "$TW" info --device treadwalk-sim --timeout 20 > "$R/info.log" 2>&1 && grep -qi "speed" "$R/info.log"; then
    pass info
else
    fail info "exit or no speed range: $(tail -n 1 "$R/info.log")"
fi

# run: a short profile to its end; the belt is stopped
rm -f "$R/run.json"
if ! want run; then :
elif timeout 240 "$TW" run "$ROOT/tests/bluez/walk-25s.toml" --device treadwalk-sim --yes --no-dashboard \
    --cooldown 0 --summary-json "$R/run.json" > "$R/run.log" 2>&1 && why=$(summary_ok "$R/run.json"); then
    pass run "$why"
else
    fail run "$(summary_ok "$R/run.json" 2>/dev/null || tail -n 1 "$R/run.log")"
fi

# drop: the link drops mid-walk (the sim cuts it at 45 s and is back 8 s later); the walk goes on
if ! want drop; then :
elif start_sim drop --fault drop@45s+8s; then
    rm -f "$R/drop.json"
    if timeout 300 "$TW" run "$ROOT/tests/bluez/walk-75s.toml" --device treadwalk-sim --yes --no-dashboard \
        --cooldown 0 --summary-json "$R/drop.json" > "$R/drop.log" 2>&1 && why=$(summary_ok "$R/drop.json"); then
        if ! grep -q "fault drop" "$R/drop-sim.log"; then
            fail drop "the sim's drop did not happen during the walk"
        elif [ "$(grep -cE "\] connected:" "$R/drop-sim.log")" -lt 2 ]; then
            fail drop "no reconnection in the sim's log"
        else
            pass drop "$why"
        fi
    else
        fail drop "$(summary_ok "$R/drop.json" 2>/dev/null || tail -n 1 "$R/drop.log")"
    fi
else
    fail drop "the sim did not start: $(tail -n 1 "$R/drop-sim.log")"
fi

# ==== bench (opt-in: TREADWALK_BLUEZ_CASES=bench; not in the default list) ====================
# scripts/bench_bluez.py starts its own sims on the same link (one plain, one with drop faults), so
# the basic sim goes first; bleak's debug logging is off so it does not weigh on the figures.
if want bench; then
    stop_sim
    if timeout 700 env -u BLEAK_LOGGING "$PY" "$ROOT/scripts/bench_bluez.py" --hci tcp-client:127.0.0.1:9001 \
        --out "$R" > "$R/bench.log" 2>&1 && [ -s "$R/bench-bluez.md" ]; then
        pass bench "$(grep -m1 '^one connection, in turns' "$R/bench-bluez.md" | cut -c1-110)"
    else
        fail bench "$(tail -n 1 "$R/bench.log")"
    fi
fi
# ==== end bench ==================================================================================

stop_sim
say "cases done"
