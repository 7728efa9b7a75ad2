#!/bin/bash
# Boot image/out/wardcam-amd64.img under qemu-system-x86_64 (TCG, UEFI firmware from Debian's ovmf) with
# a blank second disk, and reach the panel through the emulated network (user mode, restricted: the guest
# reaches nothing outside qemu; only a loopback port is forwarded to its 8080). The image stays unchanged
# (-snapshot). Succeeds when /healthz answers and the first boot formatted the blank disk.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
IMG=${1:-$HERE/out/wardcam-amd64.img}
PORT=${WARDCAM_QEMU_PORT:-18081}
TIMEOUT=${WARDCAM_QEMU_TIMEOUT:-900}
[[ -f $IMG ]] || { echo "no image at $IMG: make image-amd64 first" >&2; exit 1; }
"$HERE/../tools/apt-install.sh" qemu-system-x86 ovmf >/dev/null
work=$(mktemp -d)
trap 'kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; rm -rf "$work"' EXIT
truncate -s 4G "$work/data.raw"
accel=tcg
[[ ${WARDCAM_QEMU_KVM:-0} == 1 ]] && accel=kvm  # KVM failed here (nested: "KVM internal error. Suberror: 1")
qemu-system-x86_64 -machine q35,accel=$accel -cpu max -m 2048 -smp 2 -bios /usr/share/ovmf/OVMF.fd \
    -drive file="$IMG",format=raw,if=virtio,snapshot=on \
    -drive file="$work/data.raw",format=raw,if=virtio \
    -netdev user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:$PORT-:8080 -device virtio-net-pci,netdev=net0 \
    -display none -serial file:"$HERE/out/qemu-serial.log" -monitor none &
qpid=$!
start=$SECONDS
while ((SECONDS - start < TIMEOUT)); do
    if curl --silent --fail --max-time 5 "http://127.0.0.1:$PORT/healthz" > /dev/null; then
        echo "panel answered after $((SECONDS - start)) s of booting"
        curl --silent --location --max-time 20 -o /dev/null -w '%{url_effective}\n' "http://127.0.0.1:$PORT/"
        grep -a 'firstboot:' "$HERE/out/qemu-serial.log" | head -20
        # The blank disk was formatted as the recordings disk (read it back from the host side).
        blkid -o value -s LABEL "$work/data.raw" | grep -qx WARDCAM-DATA || { echo "data disk not formatted"; exit 1; }
        exit 0
    fi
    kill -0 "$qpid" 2>/dev/null || { echo "qemu exited"; tail -30 "$HERE/out/qemu-serial.log"; exit 1; }
    sleep 5
done
echo "no answer after $TIMEOUT s"; tail -40 "$HERE/out/qemu-serial.log"; exit 1
