#!/bin/bash
# Boot image/out/wardcam-amd64.img under qemu-system-x86_64 (TCG, UEFI firmware from Debian's ovmf) with
# a blank second disk, and reach the panel through the emulated network (user mode, restricted: the guest
# reaches nothing outside qemu; only a loopback port is forwarded to its 8080). The image stays unchanged
# (-snapshot). Succeeds when /healthz answers and the first boot formatted the blank disk.
#
#   image/boot-qemu.sh [IMAGE]     IMAGE: wardcam-amd64.img (default) or wardcam-arm64.img
#
# WARDCAM_QEMU_TIMEOUT (s, default 900), WARDCAM_QEMU_PORT, and for arm64 WARDCAM_QEMU_APPEND: more kernel
# arguments, e.g. "systemd.journald.forward_to_console=1" to see the services' logs in qemu-serial.log.
#
# qemu cannot emulate a Raspberry Pi 4 or 5, so the arm64 image boots on qemu's generic arm64 machine
# ("virt", Cortex-A72, TCG): its own kernel and initrd (taken from image/out/rootfs-arm64/boot, the
# ones the Pi firmware loads) with its own root partition, found by the same PARTUUID. What the Pi's
# firmware does (start4.elf, config.txt) is not exercised; everything from the kernel on is.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
IMG=${1:-$HERE/out/wardcam-amd64.img}
PORT=${WARDCAM_QEMU_PORT:-18081}
TIMEOUT=${WARDCAM_QEMU_TIMEOUT:-900}
[[ -f $IMG ]] || { echo "no image at $IMG: make image-amd64 first" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; rm -rf "$work"' EXIT
truncate -s 4G "$work/data.raw"
disks=(-drive file="$IMG",format=raw,if=virtio,snapshot=on -drive file="$work/data.raw",format=raw,if=virtio)
net=(-netdev user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:$PORT-:8080 -device virtio-net-pci,netdev=net0)
if [[ $(basename "$IMG") == *arm64* ]]; then
    "$HERE/../tools/apt-install.sh" qemu-system-arm >/dev/null
    boot=$HERE/out/rootfs-arm64/boot
    kernel=$(ls "$boot"/vmlinuz-* 2>/dev/null | sort -V | tail -1)
    [[ -n $kernel ]] || { echo "no kernel in $boot: make image-arm64 first" >&2; exit 1; }
    initrd=$boot/initrd.img-${kernel##*/vmlinuz-}
    # root= and the rest from the image's own cmdline.txt, the console moved to the virt machine's serial port
    cmdline=$(sed -e 's/console=[^ ]*//g' "$HERE/out/rootfs-arm64/boot/firmware/cmdline.txt")
    qemu-system-aarch64 -machine virt -cpu cortex-a72 -m 2048 -smp 2 \
        -kernel "$kernel" -initrd "$initrd" -append "console=ttyAMA0 $cmdline ${WARDCAM_QEMU_APPEND:-}" "${disks[@]}" "${net[@]}" \
        -display none -serial file:"$HERE/out/qemu-serial.log" -monitor none &
else
    "$HERE/../tools/apt-install.sh" qemu-system-x86 ovmf >/dev/null
    accel=tcg
    [[ ${WARDCAM_QEMU_KVM:-0} == 1 ]] && accel=kvm  # KVM failed here (nested: "KVM internal error. Suberror: 1")
    qemu-system-x86_64 -machine q35,accel=$accel -cpu max -m 2048 -smp 2 -bios /usr/share/ovmf/OVMF.fd \
        "${disks[@]}" "${net[@]}" -display none -serial file:"$HERE/out/qemu-serial.log" -monitor none &
fi
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
