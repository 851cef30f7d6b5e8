#!/usr/bin/env bash
# The BlueZ tier: treadwalk through bleak's default backend, a real bluetoothd, D-Bus and the Linux
# kernel's HCI layer, inside a throwaway QEMU VM (TCG; no KVM needed).
#
#   scripts/test-bluez.sh            run every case; one PASS/FAIL line each; exit 1 when one fails
#
# The VM boots Debian's linux-image-amd64 kernel (the cloud kernel has no Bluetooth) with a small
# initramfs built here from busybox-static and the 9p/virtio modules; it mounts this machine's / read-
# only over 9p (plus one writable folder for results) and chroots into it, so the project's own .venv,
# bluetoothd and dbus-daemon run inside. There, Bumble virtual controllers on one link (tests/bluez/
# link.py): one is the kernel's hci0 through /dev/vhci, another carries `treadwalk sim --hci`. The
# cases themselves are tests/bluez/guest.sh.
#
# When the harness itself cannot start (no qemu, no kernel, the VM did not boot, bluetoothd not ready)
# it says why and exits 2: never a silent pass. Every wait is bounded; qemu is killed on every exit.
# Environment: TREADWALK_BLUEZ_TIMEOUT (whole VM run, default 900 s), TREADWALK_BLUEZ_KEEP=1 keeps the
# work folder (console log, per-case logs); TREADWALK_BLUEZ_CASES="scan info" runs only those.
# TREADWALK_BLUEZ_CASES=bench runs only scripts/bench_bluez.py (opt-in, not in the default list): its
# table is printed here and kept as results/bench-bluez.md and .json in the kept work folder.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd -P)"
VM_TIMEOUT="${TREADWALK_BLUEZ_TIMEOUT:-900}"

harness_fail() { echo "bluez tier: cannot run: $*" >&2; exit 2; }

# --- what the tier needs, from Debian's packages -------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx insmod || need+=(busybox-static)
[ -x /usr/libexec/bluetooth/bluetoothd ] || need+=(bluez)
command -v dbus-daemon >/dev/null 2>&1 || need+=(dbus)
ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 || need+=(linux-image-amd64)
if [ "${#need[@]}" -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 || harness_fail "it needs ${need[*]} (Debian packages) and this machine has no apt-get."
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    echo "==> installing ${need[*]} (Debian packages, for the BlueZ tier)" >&2
    $SUDO apt-get update -qq >/dev/null || harness_fail "apt-get update failed; check the network."
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
        || harness_fail "installing ${need[*]} failed."
fi
command -v qemu-system-x86_64 >/dev/null 2>&1 || harness_fail "qemu-system-x86_64 is missing after the install."
[ -x .venv/bin/treadwalk ] || harness_fail "no .venv here; run scripts/bootstrap.sh test first."
# The VM chroots into this machine's /: it must be able to run as root there (modprobe, bluetoothd).
[ "$(id -u)" = 0 ] || harness_fail "it must run as root (the VM runs this machine's bluetoothd and modprobe as root)."

KERNEL="$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -n 1)"
[ -n "$KERNEL" ] || harness_fail "no Debian kernel (/boot/vmlinuz-*-amd64) after installing linux-image-amd64."
KVER="${KERNEL#/boot/vmlinuz-}"
MODDIR="/lib/modules/$KVER"
[ -d "$MODDIR" ] || harness_fail "no modules for $KVER in $MODDIR."

# --- a throwaway work folder; qemu is killed on every way out -------------------------------------
WORK="$(mktemp -d /tmp/treadwalk-bluez.XXXXXX)"
QEMU_PID=""
cleanup() {
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
        kill "$QEMU_PID" 2>/dev/null || true
        sleep 1
        kill -9 "$QEMU_PID" 2>/dev/null || true
    fi
    if [ "${TREADWALK_BLUEZ_KEEP:-}" = 1 ]; then echo "bluez tier: work folder kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Byte-compile the project once here: inside, the root is read-only and compiling on every CLI start
# under emulation costs seconds.
.venv/bin/python -m compileall -q -j 0 treadwalk tests/bluez >/dev/null 2>&1 || true

# --- the initramfs: busybox and the modules that reach the 9p root -------------------------------
IRD="$WORK/initramfs"
mkdir -p "$IRD"/{bin,dev,proc,sys,host,mod}
cp /bin/busybox "$IRD/bin/busybox"
MODS="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p"
for m in $MODS; do
    f="$(modinfo -k "$KVER" -n "$m" 2>/dev/null || true)"
    case "$f" in
        /*) ;;
        *) continue ;;  # built in (or absent): nothing to load
    esac
    case "$f" in
        *.ko.xz) xz -dc "$f" > "$IRD/mod/$m.ko" ;;
        *.ko.zst) zstd -qdc "$f" > "$IRD/mod/$m.ko" ;;
        *) cp "$f" "$IRD/mod/$m.ko" ;;
    esac
done
mkdir -p "$WORK/results"
cat > "$IRD/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $MODS; do [ -f /mod/\$m.ko ] && insmod /mod/\$m.ko 2>/dev/null; done
echo "bluez-vm: kernel up"
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro hostroot /host; then
    dmesg | tail -n 15; lsmod
    echo "bluez-vm: HARNESS cannot mount the host root over 9p"; poweroff -f
fi
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts devpts /host/dev/pts
mount -t tmpfs tmpfs /host/dev/shm
# a checkout under /tmp or /run (CI's clone may be) would vanish under the tmpfs: keep it in view
case "$ROOT" in /tmp/*|/run/*) mkdir -p /keep && mount -o bind "/host$ROOT" /keep ;; esac
mount -t tmpfs tmpfs /host/run
mount -t tmpfs tmpfs /host/tmp
mount -t tmpfs tmpfs /host/var/lib/bluetooth
case "$ROOT" in /tmp/*|/run/*) mkdir -p "/host$ROOT" && mount -o bind /keep "/host$ROOT" ;; esac
mkdir -p /host/tmp/results
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 results /host/tmp/results; then
    echo "bluez-vm: HARNESS cannot mount the results folder"; poweroff -f
fi
echo "bluez-vm: root mounted"
chroot /host /bin/bash "$ROOT/tests/bluez/guest.sh" "$ROOT" "${TREADWALK_BLUEZ_CASES:-scan info run drop refused lost strap acquired crash}" < /dev/console > /dev/console 2>&1
echo "bluez-vm: guest done"
sync
poweroff -f
EOF
chmod +x "$IRD/init"
(cd "$IRD" && find . | cpio -o -H newc --quiet | gzip -1 > "$WORK/initramfs.gz")

# --- boot ----------------------------------------------------------------------------------------
echo "==> BlueZ tier: booting $KVER under QEMU (TCG; allow a few minutes)" >&2
start=$(date +%s)
qemu-system-x86_64 \
    -machine q35,accel=tcg -cpu max -smp 2 -m 1G \
    -nographic -no-reboot -monitor none -serial "file:$WORK/console.log" \
    -kernel "$KERNEL" -initrd "$WORK/initramfs.gz" \
    -append "console=ttyS0 rdinit=/init panic=-1 quiet loglevel=3" \
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
    -virtfs "local,path=$WORK/results,mount_tag=results,security_model=none,multidevs=remap" \
    </dev/null >"$WORK/qemu.log" 2>&1 &
QEMU_PID=$!

# Bounded waits: the kernel within 120 s, then the whole run within VM_TIMEOUT.
booted=""
while kill -0 "$QEMU_PID" 2>/dev/null; do
    now=$(date +%s)
    if [ -z "$booted" ] && grep -q "bluez-vm: kernel up" "$WORK/console.log" 2>/dev/null; then
        booted=$now; echo "    kernel up after $((now - start)) s" >&2
    fi
    if [ -z "$booted" ] && [ $((now - start)) -gt 120 ]; then
        tail -n 20 "$WORK/console.log" "$WORK/qemu.log" >&2 || true
        harness_fail "the VM did not boot within 120 s (console above)."
    fi
    if [ $((now - start)) -gt "$VM_TIMEOUT" ]; then
        tail -n 30 "$WORK/console.log" >&2 || true
        cat "$WORK/results/cases.txt" 2>/dev/null || true
        harness_fail "the VM run did not finish within $VM_TIMEOUT s (console above)."
    fi
    sleep 1
done
wait "$QEMU_PID" 2>/dev/null || true
QEMU_PID=""
elapsed=$(( $(date +%s) - start ))

if [ -s "$WORK/results/harness.txt" ]; then
    tail -n 40 "$WORK/console.log" >&2 || true
    harness_fail "$(cat "$WORK/results/harness.txt")"
fi
if [ ! -s "$WORK/results/cases.txt" ]; then
    tail -n 40 "$WORK/console.log" "$WORK/qemu.log" >&2 || true
    harness_fail "the VM stopped before any case ran (console above)."
fi
cat "$WORK/results/cases.txt"
if [ -s "$WORK/results/bench-bluez.md" ]; then
    echo "--- BlueZ bench (scripts/bench_bluez.py, inside the VM)"
    cat "$WORK/results/bench-bluez.md"
fi
if grep -q '^FAIL' "$WORK/results/cases.txt"; then
    for f in "$WORK"/results/*.log; do
        [ -f "$f" ] || continue
        case "$(basename "$f" .log)" in
            *) if grep -q "^FAIL $(basename "$f" .log)\b" "$WORK/results/cases.txt"; then
                   echo "--- $(basename "$f") (last 30 lines)" >&2; tail -n 30 "$f" >&2
               fi ;;
        esac
    done
    echo "bluez tier: FAILED ($(grep -c '^FAIL' "$WORK/results/cases.txt") case(s); $elapsed s)" >&2
    exit 1
fi
if ! grep -q '^PASS' "$WORK/results/cases.txt"; then harness_fail "no case ran."; fi
echo "bluez tier: all $(grep -c '^PASS' "$WORK/results/cases.txt") cases passed in $elapsed s ($(cat "$WORK/results/bluez-version.txt" 2>/dev/null || echo 'BlueZ ?'))" >&2
