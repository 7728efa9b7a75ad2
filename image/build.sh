#!/bin/bash
# Build a WardCam appliance image: Debian 12 with mmdebstrap, WardCam in /opt/wardcam/venv.
#
#   image/build.sh rootfs ARCH DIR     the root filesystem only, into a folder (make test-image)
#   image/build.sh image  ARCH         the bootable disk image, image/out/wardcam-ARCH.img
#
# ARCH is amd64 (x86-64 NUC: UEFI, GPT, systemd-boot) or arm64 (Raspberry Pi 4/5).
# Downloads come only from Debian's mirror (the one apt uses on this machine) and PyPI (pip's own
# configuration). Reproducible: SOURCE_DATE_EPOCH is the last commit's time, package lists are sorted,
# Python packages are pinned (image/requirements.txt), file systems get fixed UUIDs, and nothing written
# here holds a time stamp. Debian packages come from the suite as it is on the day of the build; set
# WARDCAM_MIRROR to a snapshot.debian.org address to pin them to a date as well.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
MIRROR=${WARDCAM_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${WARDCAM_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
SUITE=bookworm
IMAGE_SIZE=${WARDCAM_IMAGE_SIZE:-3G}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$TOP" log -1 --format=%ct)}
# Fixed identities, so that two builds of one commit give the same file systems.
ROOT_PARTUUID=6d6172c1-0000-4000-8000-000000000002
ESP_PARTUUID=6d6172c1-0000-4000-8000-000000000001
DISK_GUID=6d6172c1-0000-4000-8000-000000000000
ROOT_FS_UUID=6d6172c1-0000-4000-8000-0000000000f2
ESP_VOLID=57434d31
if [[ ${2:-} == arm64 ]]; then  # MBR partitions are named by the disk id and their number
    ESP_PARTUUID=$ESP_VOLID-01
    ROOT_PARTUUID=$ESP_VOLID-02
fi

die() { echo "build.sh: $*" >&2; exit 1; }

packages() {
    local arch=$1
    grep -hv '^#' "$HERE/packages.txt" "$HERE/boards/$arch.txt" | LC_ALL=C sort -u | paste -sd, -
}

wheels() {
    # WardCam's wheel from this checkout, and its dependencies from PyPI for the target's platform.
    local arch=$1 dest=$2 platform
    case $arch in
        amd64) platform=x86_64 ;;
        arm64) platform=aarch64 ;;
    esac
    rm -rf "$dest" && mkdir -p "$dest"
    # From the committed tree only (git archive): reproducible, and image/out/ is never scanned.
    local src
    src=$(mktemp -d)
    git -C "$TOP" archive --format=tar HEAD | tar -x -C "$src"
    "$TOP/.venv/bin/python" -m pip wheel --quiet --no-deps --wheel-dir "$dest" "$src"
    rm -rf "$src"
    local plats=() p
    for p in manylinux2014 manylinux_2_17 manylinux_2_28 manylinux_2_31 linux; do
        plats+=(--platform "${p}_${platform}")
    done
    # Exactly the versions in image/requirements.txt (tools/lock_image_requirements.py), never "the latest".
    "$TOP/.venv/bin/python" -m pip download --quiet --dest "$dest" --only-binary=:all: --no-deps \
        "${plats[@]}" --platform any --python-version 3.11 --implementation cp \
        --requirement "$HERE/requirements.txt"
}

rootfs() {
    local arch=$1 dir=$2
    [[ $(id -u) == 0 ]] || die "run as root (mmdebstrap --mode=root)"
    [[ -e $dir && -n $(ls -A "$dir" 2>/dev/null) ]] && die "$dir is not empty"
    local wheeldir="$HERE/out/wheels-$arch"
    wheels "$arch" "$wheeldir"
    if [[ $arch != $(dpkg --print-architecture) ]]; then
        # The arm64 maintainer scripts run under qemu-user through binfmt_misc.
        [[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] || die "arm64 needs qemu-user-static and binfmt_misc"
    fi
    # Debian 12 keeps raspi-firmware (the Pi's boot files) in non-free-firmware.
    local components=main hooks=()
    if [[ $arch == arm64 ]]; then
        components="main non-free-firmware"
        # Under emulation one mkinitramfs takes 10 to 15 minutes, and dpkg's triggers would run it four
        # times (the kernel, then every package that adds an initramfs hook). update-initramfs is diverted
        # to a no-op before the packages install; customize.sh puts it back and makes the initramfs once.
        hooks+=(--essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.wardcam-deferred --add /usr/sbin/update-initramfs && printf "#!/bin/sh\necho \"update-initramfs: deferred to the end of the build\"\n" > "$1/usr/sbin/update-initramfs" && chmod 0755 "$1/usr/sbin/update-initramfs"')
    fi
    mmdebstrap --mode=root --variant=apt --architectures="$arch" --format=directory \
        --include="$(packages "$arch")" \
        --aptopt='Acquire::Languages "none"' --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/man/*' \
        --essential-hook='echo "wardcam" > "$1/etc/hostname"' "${hooks[@]}" \
        --customize-hook="cp -a '$wheeldir' \"\$1/tmp/wheels\"" \
        --customize-hook="'$HERE/customize.sh' \"\$1\" $arch" \
        "$SUITE" "$dir" \
        "deb $MIRROR $SUITE $components" "deb $MIRROR $SUITE-updates $components" \
        "deb $SECURITY_MIRROR $SUITE-security $components"
}

esp_files_amd64() {
    # systemd-boot as the removable-media loader, and one entry that boots Debian's kernel.
    local dir=$1 esp=$2
    mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries ::/wardcam
    mcopy -i "$esp" "$dir/usr/lib/systemd/boot/efi/systemd-bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
    mcopy -i "$esp" "$dir/vmlinuz" ::/wardcam/vmlinuz
    mcopy -i "$esp" "$dir/initrd.img" ::/wardcam/initrd.img
    printf 'default wardcam.conf\ntimeout 0\n' | mcopy -i "$esp" - ::/loader/loader.conf
    printf 'title WardCam\nlinux /wardcam/vmlinuz\ninitrd /wardcam/initrd.img\noptions %s\n' \
        "root=PARTUUID=$ROOT_PARTUUID rw console=tty0 console=ttyS0,115200 quiet" \
        | mcopy -i "$esp" - ::/loader/entries/wardcam.conf
}

esp_files_arm64() {
    # Debian's raspi-firmware already laid out /boot/firmware (start*.elf, config.txt, the kernel).
    local dir=$1 esp=$2
    echo "console=serial0,115200 console=tty1 root=PARTUUID=$ROOT_PARTUUID rw fsck.repair=yes rootwait quiet" \
        > "$dir/boot/firmware/cmdline.txt"
    mcopy -s -i "$esp" "$dir"/boot/firmware/* ::/
}

image() {
    local arch=$1
    local out="$HERE/out" dir="$HERE/out/rootfs-$arch" img="$HERE/out/wardcam-$arch.img"
    mkdir -p "$out"
    rm -rf "$dir" "$img" "$out/esp.img" "$out/root.img"
    local start=$SECONDS
    rootfs "$arch" "$dir"
    # The firmware partition is mounted where the board expects it; the root file system by its label.
    local espmount=/boot/efi
    [[ $arch == arm64 ]] && espmount=/boot/firmware
    printf 'PARTUUID=%s / ext4 defaults,noatime 0 1\nPARTUUID=%s %s vfat defaults,umask=0077 0 2\n' \
        "$ROOT_PARTUUID" "$ESP_PARTUUID" "$espmount" > "$dir/etc/fstab"
    echo "$espmount" > "$dir/etc/wardcam-esp"
    local esp_mb=512 total_mb root_mb
    total_mb=$(numfmt --from=iec "$IMAGE_SIZE" | awk '{print int($1/1048576)}')
    root_mb=$((total_mb - esp_mb - 2))
    mkfs.vfat -C -F 32 -i "$ESP_VOLID" -n WARDCAM-ESP "$out/esp.img" $((esp_mb * 1024)) > /dev/null
    "esp_files_$arch" "$dir" "$out/esp.img"
    # mkfs.ext4 -d fills the file system from the folder: no loop device, no mount.
    E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mkfs.ext4 -q -F -L wardcam-root -U "$ROOT_FS_UUID" \
        -E "hash_seed=$ROOT_FS_UUID,root_owner=0:0" -d "$dir" "$out/root.img" "${root_mb}M"
    truncate -s "${total_mb}M" "$img"
    if [[ $arch == amd64 ]]; then
        sfdisk --quiet "$img" <<EOF
label: gpt
label-id: $DISK_GUID
start=2048, size=$((esp_mb * 2048)), type=U, uuid=$ESP_PARTUUID, name=WARDCAM-ESP
start=$((2048 + esp_mb * 2048)), size=$((root_mb * 2048)), type=L, uuid=$ROOT_PARTUUID, name=wardcam-root
EOF
    else
        # The Pi's boot ROM reads the FAT partition of an MBR table most reliably.
        sfdisk --quiet "$img" <<EOF
label: dos
label-id: 0x$ESP_VOLID
start=2048, size=$((esp_mb * 2048)), type=c
start=$((2048 + esp_mb * 2048)), size=$((root_mb * 2048)), type=83
EOF
    fi
    dd if="$out/esp.img" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
    dd if="$out/root.img" of="$img" bs=1M seek=$((1 + esp_mb)) conv=notrunc,sparse status=none
    rm -f "$out/esp.img" "$out/root.img"
    echo "built $img ($(du -h --apparent-size "$img" | cut -f1) raw, $(du -h "$img" | cut -f1) used) in $((SECONDS - start)) s"
}

case ${1:-} in
    rootfs) [[ $# == 3 ]] || die "usage: build.sh rootfs ARCH DIR"; rootfs "$2" "$3" ;;
    image) [[ $# == 2 ]] || die "usage: build.sh image ARCH"; image "$2" ;;
    *) die "usage: build.sh rootfs ARCH DIR | image ARCH" ;;
esac
