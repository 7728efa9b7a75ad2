#!/bin/bash
# mmdebstrap's customize hook: WardCam, its user, units and settings into the root file system $1.
set -euo pipefail
root=$1 arch=$2
here=$(cd "$(dirname "$0")" && pwd)
# A clean environment: nothing of the build host (pip or locale settings) leaks into the image.
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

# build.sh deferred the initramfs on arm64 (emulated, each run costs minutes): put update-initramfs back
# and run the kernel's install hooks once, which make the initramfs and (raspi-firmware's hook) copy the
# kernel, initramfs and device trees into /boot/firmware.
if [[ -e $root/usr/sbin/update-initramfs.wardcam-deferred ]]; then
    rm -f "$root/usr/sbin/update-initramfs"
    in_root dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
    for kernel in "$root"/boot/vmlinuz-*; do
        kver=${kernel##*/vmlinuz-}
        in_root env DEB_MAINT_PARAMS=configure run-parts --report --exit-on-error \
            --arg="$kver" --arg="/boot/vmlinuz-$kver" /etc/kernel/postinst.d
        [[ -s $root/boot/initrd.img-$kver ]] || { echo "customize.sh: no initramfs for $kver" >&2; exit 1; }
    done
fi

# Our files: units, drop-ins, firewall, console banner, first-boot script. Owned by root, mode kept.
cp -a --no-preserve=ownership "$here/rootfs/." "$root/"

# WardCam in its own venv, installed offline from the wheels build.sh fetched (Debian's python3), in the
# layout updates use: /opt/wardcam/versions/<version>/ is the venv, current -> versions/<version> is what
# wardcam.service runs, venv -> current keeps the first path working. Updates add versions beside it.
version=$(basename "$(ls "$root"/tmp/wheels/wardcam-*.whl)" | cut -d- -f2)
venv=/opt/wardcam/versions/$version
in_root python3 -m venv "$venv"
in_root "$venv/bin/pip" install --quiet --no-index --no-compile --find-links /tmp/wheels wardcam
rm -rf "$root/tmp/wheels"
in_root "$venv/bin/python" -m compileall -q --invalidation-mode unchecked-hash "$venv" >/dev/null
ln -sfn "versions/$version" "$root/opt/wardcam/current"
ln -sfn current "$root/opt/wardcam/venv"

# The release public keys that update packages must be signed with (see docs/operations.md, Updating):
# *.pem from $WARDCAM_UPDATE_KEYS (a folder on the build machine), and any committed under
# image/rootfs/opt/wardcam/update-keys/ (already copied above). With none, the box refuses every update.
install -d -m 0755 "$root/opt/wardcam/update-keys"
if [[ -n ${WARDCAM_UPDATE_KEYS:-} ]]; then
    compgen -G "$WARDCAM_UPDATE_KEYS/*.pem" > /dev/null || { echo "customize.sh: no *.pem in $WARDCAM_UPDATE_KEYS" >&2; exit 1; }
    install -m 0644 "$WARDCAM_UPDATE_KEYS"/*.pem "$root/opt/wardcam/update-keys/"
fi
compgen -G "$root/opt/wardcam/update-keys/*.pem" > /dev/null \
    || echo "customize.sh: no release key in /opt/wardcam/update-keys: this image will refuse every update package" >&2

# The service's own system user; no password anywhere: root stays locked, there is no ssh server.
in_root adduser --system --group --home /var/lib/wardcam --no-create-home wardcam >/dev/null
install -d -o "$(in_root id -u wardcam)" -g "$(in_root id -g wardcam)" -m 0750 \
    "$root/var/lib/wardcam" "$root/var/lib/wardcam/recordings" "$root/var/lib/wardcam/firewall" \
    "$root/var/lib/wardcam/frigate-container" "$root/var/lib/wardcam/frigate-container/config"
in_root passwd --lock root >/dev/null
in_root usermod --shell /usr/sbin/nologin root

# Locale, Vietnam's time (patrol hours, notification rules and every time on the pages are local; without
# tzdata WardCam could not even create a user: "No time zone found with key UTC"), machine id made at
# first boot, and the units.
echo 'en_US.UTF-8 UTF-8' > "$root/etc/locale.gen"
in_root locale-gen >/dev/null
ln -sfn /usr/share/zoneinfo/Asia/Ho_Chi_Minh "$root/etc/localtime"
echo Asia/Ho_Chi_Minh > "$root/etc/timezone"
: > "$root/etc/machine-id"
in_root systemctl enable wardcam.service wardcam-firstboot.service wardcam-health.timer wardcam-update.path \
    wardcam-update.service \
    wardcam-firewall.service wardcam-firewall.path frigate.path frigate-apply.service systemd-networkd systemd-resolved \
    systemd-timesyncd avahi-daemon mosquitto unattended-upgrades
in_root systemctl disable frigate.service nftables.service >/dev/null 2>&1 || true

# Files that would carry the build's time or host.
rm -f "$root"/var/cache/ldconfig/aux-cache "$root"/var/log/*.log "$root"/var/lib/dbus/machine-id
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
find "$root/var/log" -type f -exec truncate -s 0 {} +
