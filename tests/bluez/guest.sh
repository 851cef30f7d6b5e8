#!/bin/bash
# The BlueZ tier's cases, run inside its VM (chrooted into the host's read-only /, as root) by
# scripts/test-bluez.sh: never run this on a real machine. $1 is the project's root.
# Writes one "PASS name" / "FAIL name (why)" line per case to /tmp/results/cases.txt; when the
# harness itself cannot start, one sentence to /tmp/results/harness.txt.
set -u
ROOT="$1"
CASES="${2:-scan info run drop refused lost strap acquired crash}"
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
# BlueZ forgets a device it is not connected to after TemporaryTimeout (default 30 s); 3 s here, so
# a reconnect that does not scan again fails in the drop case rather than only on a long drop
printf '[General]\nTemporaryTimeout = 3\n' > /tmp/bluetoothd-main.conf
/usr/libexec/bluetooth/bluetoothd -n -d -f /tmp/bluetoothd-main.conf > "$R/bluetoothd.log" 2>&1 &
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

# summary_ok FILE [STOP_REASON]: the run ended as expected (default: it finished its profile) and
# the belt is stopped.
summary_ok() {
    "$PY" - "$1" "${2:-finished}" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
ok = s.get("stop_reason") == sys.argv[2] and s.get("belt_stopped") is True
print(f"stop_reason={s.get('stop_reason')} belt_stopped={s.get('belt_stopped')}")
sys.exit(0 if ok else 1)
EOF
}

# one_sentence LOG: exactly one "treadwalk:" line and no traceback
one_sentence() {
    [ "$(grep -c '^treadwalk:' "$1")" = 1 ] && ! grep -q "Traceback" "$1"
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

# run: a short profile to its end; the belt is stopped. D-Bus is watched meanwhile: notifications
# are subscribed with StartNotify, never AcquireNotify (which drops what arrives before it is set up)
rm -f "$R/run.json"
if ! want run; then :
else
    dbus-monitor --system "type='method_call',interface='org.bluez.GattCharacteristic1'" > "$R/run-dbus.log" 2>&1 &
    MON_PID=$!
    sleep 1
    timeout 240 "$TW" run "$ROOT/tests/bluez/walk-25s.toml" --device treadwalk-sim --yes --no-dashboard \
        --cooldown 0 --summary-json "$R/run.json" > "$R/run.log" 2>&1
    rc=$?
    kill "$MON_PID" 2>/dev/null; wait "$MON_PID" 2>/dev/null
    starts=$(grep -c "member=StartNotify" "$R/run-dbus.log")
    if [ "$rc" != 0 ] || ! why=$(summary_ok "$R/run.json"); then
        fail run "exit $rc; $(summary_ok "$R/run.json" 2>/dev/null || tail -n 1 "$R/run.log")"
    elif grep -q "member=AcquireNotify" "$R/run-dbus.log"; then
        fail run "notifications were acquired (AcquireNotify), not started"
    elif [ "$starts" -lt 3 ]; then
        fail run "only $starts StartNotify calls seen on D-Bus (the monitor: $(tail -n 1 "$R/run-dbus.log"))"
    else
        pass run "$why; $starts StartNotify, no AcquireNotify"
    fi
fi

# drop: the link drops mid-walk (the sim cuts it at 30 s and is back 6 s later); the walk goes on
if ! want drop; then :
elif start_sim drop --fault drop@30s+6s; then
    rm -f "$R/drop.json"
    if timeout 300 "$TW" run "$ROOT/tests/bluez/walk-50s.toml" --device treadwalk-sim --yes --no-dashboard \
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

# refused: another app holds control (the sim refuses Request Control): one sentence, exit 1, and
# no false "press its stop button" over a belt that never moved
if ! want refused; then :
elif start_sim refused --fault refuse_control; then
    timeout 180 "$TW" run "$ROOT/tests/bluez/walk-25s.toml" --device treadwalk-sim --yes --no-dashboard \
        --cooldown 0 > "$R/refused.log" 2>&1
    rc=$?
    if [ "$rc" != 1 ]; then
        fail refused "exit $rc, not 1: $(tail -n 1 "$R/refused.log")"
    elif ! one_sentence "$R/refused.log" || ! grep -q "^treadwalk:.*refused control" "$R/refused.log"; then
        fail refused "not one sentence saying control was refused: $(grep '^treadwalk:' "$R/refused.log" | head -n 2)"
    elif grep -q "did not confirm the stop" "$R/refused.log"; then
        fail refused "a false alarm about the stop over a belt that never moved"
    else
        pass refused "$(grep '^treadwalk:' "$R/refused.log" | cut -c1-90)"
    fi
else
    fail refused "the sim did not start: $(tail -n 1 "$R/refused-sim.log")"
fi

# lost: control is taken away mid-walk (status 0xFF) and asked back; later the walker presses
# Stop on the console: both are shown, the console's stop is followed (stop_reason machine), the
# belt is not commanded again, and the run exits 0
if ! want lost; then :
elif start_sim lost --fault control_lost@30s --fault console_stop@42s; then
    rm -f "$R/lost.json"
    timeout 300 "$TW" run "$ROOT/tests/bluez/walk-50s.toml" --device treadwalk-sim --yes --no-dashboard \
        --cooldown 0 --summary-json "$R/lost.json" > "$R/lost.log" 2>&1
    rc=$?
    if ! grep -q "fault console_stop" "$R/lost-sim.log"; then
        fail lost "the walk ended before the console's stop (exit $rc): $(tail -n 1 "$R/lost.log")"
    elif ! grep -q "took control" "$R/lost.log"; then
        fail lost "control lost was not shown"
    elif ! grep -q "Control regained" "$R/lost.log"; then
        fail lost "control was not regained"
    elif ! why=$(summary_ok "$R/lost.json" machine); then
        fail lost "$why"
    elif [ "$rc" != 0 ]; then
        fail lost "exit $rc after a stop on the console: $(tail -n 1 "$R/lost.log")"
    elif sed -n '/fault console_stop/,$p' "$R/lost-sim.log" | grep -qE "control point <- (07|02)"; then
        fail lost "the belt was commanded again after the console's stop"
    else
        pass lost "$why"
    fi
else
    fail lost "the sim did not start: $(tail -n 1 "$R/lost-sim.log")"
fi

# strap: the virtual strap (its heart follows the belt) on the link's third controller and the
# treadmill, both through BlueZ; the walk records heart rate
if ! want strap; then :
elif start_sim strap --hr-hci tcp-client:127.0.0.1:9002; then
    rm -f "$R/strap.json"
    if timeout 240 "$TW" run "$ROOT/tests/bluez/walk-25s.toml" --device treadwalk-sim --hr treadwalk-hr \
        --yes --no-dashboard --cooldown 0 --summary-json "$R/strap.json" > "$R/strap.log" 2>&1 \
        && why=$(summary_ok "$R/strap.json"); then
        sid=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["session_id"])' "$R/strap.json")
        "$TW" export "$sid" --format csv -o "$R/strap.csv" > /dev/null 2>&1
        beats=$("$PY" -c 'import csv,sys; print(sum(1 for r in csv.DictReader(open(sys.argv[1])) if r.get("heart_rate_bpm")))' "$R/strap.csv" 2>/dev/null)
        if [ "${beats:-0}" -lt 10 ]; then
            fail strap "only ${beats:-0} samples with heart rate"
        else
            pass strap "$why; $beats samples with heart rate"
        fi
    else
        fail strap "$(summary_ok "$R/strap.json" 2>/dev/null || tail -n 1 "$R/strap.log")"
    fi
else
    fail strap "the sim did not start: $(tail -n 1 "$R/strap-sim.log")"
fi

# acquired: another app holds the treadmill's notifications (AcquireNotify): one sentence naming
# the likely culprits, exit 1, and the belt never started
if ! want acquired; then :
elif start_sim acquired; then
    "$PY" "$ROOT/tests/bluez/hold.py" treadwalk-sim > "$R/acquired-hold.log" 2>&1 &
    HOLD_PID=$!
    if ! wait_for 90 grep -q holding "$R/acquired-hold.log"; then
        fail acquired "the holding app did not connect: $(tail -n 1 "$R/acquired-hold.log")"
    else
        timeout 180 "$TW" run "$ROOT/tests/bluez/walk-25s.toml" --device treadwalk-sim --yes --no-dashboard \
            --cooldown 0 > "$R/acquired.log" 2>&1
        rc=$?
        if [ "$rc" != 1 ]; then
            fail acquired "exit $rc, not 1: $(tail -n 1 "$R/acquired.log")"
        elif ! one_sentence "$R/acquired.log" || ! grep -qi "^treadwalk:.*another app" "$R/acquired.log"; then
            fail acquired "not one sentence about another app: $(grep -m 2 -v '^$' "$R/acquired.log" | tr '\n' ' ' | cut -c1-200)"
        elif grep -q "control point <- 07" "$R/acquired-sim.log"; then
            fail acquired "the belt was started"
        else
            pass acquired "$(grep '^treadwalk:' "$R/acquired.log" | cut -c1-90)"
        fi
    fi
    kill "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null
else
    fail acquired "the sim did not start: $(tail -n 1 "$R/acquired-sim.log")"
fi

# crash: a treadwalk killed mid-walk (SIGKILL: no stop, no disconnect) leaves BlueZ holding the
# link, so the treadmill no longer advertises; the next run finds it through BlueZ, plays to the
# end and the belt is stopped
if ! want crash; then :
elif start_sim crash; then
    "$TW" run "$ROOT/tests/bluez/walk-50s.toml" --device treadwalk-sim --yes --no-dashboard --cooldown 0 \
        > "$R/crash-first.log" 2>&1 &
    FIRST_PID=$!
    if ! wait_for 120 grep -q "control point <- 02" "$R/crash-sim.log"; then
        fail crash "the first run never set a speed: $(tail -n 1 "$R/crash-first.log")"
        kill -9 "$FIRST_PID" 2>/dev/null
    else
        kill -9 "$FIRST_PID" 2>/dev/null; wait "$FIRST_PID" 2>/dev/null
        rm -f "$R/crash.json"
        if timeout 240 "$TW" run "$ROOT/tests/bluez/walk-25s.toml" --device treadwalk-sim --yes --no-dashboard \
            --cooldown 0 --summary-json "$R/crash.json" > "$R/crash.log" 2>&1 && why=$(summary_ok "$R/crash.json"); then
            if [ "$(grep -cE "\] connected:" "$R/crash-sim.log")" -ne 1 ]; then
                fail crash "the link was not the one BlueZ kept (the sim saw a new connection)"
            else
                pass crash "$why; through the link BlueZ kept"
            fi
        else
            fail crash "$(summary_ok "$R/crash.json" 2>/dev/null || tail -n 1 "$R/crash.log")"
        fi
    fi
else
    fail crash "the sim did not start: $(tail -n 1 "$R/crash-sim.log")"
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
