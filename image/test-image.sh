#!/bin/bash
# make test-image: build the amd64 root file system into a folder, check its units, start WardCam
# inside it (chroot, as the wardcam user, with the unit's environment) and reach /healthz on loopback;
# then, with WARDCAM_TEST_QEMU=1 and image/out/wardcam-amd64.img built, boot it under qemu (TCG).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${WARDCAM_TEST_ROOTFS:-$HERE/out/test-rootfs}
PORT=${WARDCAM_TEST_PORT:-18080}
passed=0 failed=0
check() {  # check NAME COMMAND...: run one check, print its result
    local name=$1; shift
    if "$@"; then echo "PASS $name"; passed=$((passed + 1)); else echo "FAIL $name"; failed=$((failed + 1)); fi
}
mounts=()
cleanup() {
    [[ -n ${app_pid:-} ]] && kill "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null
    local m
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null; done
}
trap cleanup EXIT

if [[ ${WARDCAM_TEST_REUSE:-0} != 1 || ! -x $ROOT/opt/wardcam/venv/bin/wardcam ]]; then
    rm -rf "$ROOT"
    start=$SECONDS
    "$HERE/build.sh" rootfs amd64 "$ROOT" || { echo "FAIL build"; echo "0 passed, 1 failed"; exit 1; }
    echo "root file system built in $((SECONDS - start)) s: $(du -sh "$ROOT" | cut -f1)"
fi

units=(wardcam.service wardcam-firstboot.service wardcam-health.service wardcam-health.timer
       wardcam-firewall.service wardcam-firewall.path wardcam-firewall-reload.service frigate.service frigate.path
       frigate-apply.service wardcam-update.service wardcam-update.path)
verify_units() {
    local out
    out=$(cd "$ROOT/etc/systemd/system" && systemd-analyze verify --root="$ROOT" "${units[@]}" 2>&1)
    echo "$out" | grep -v -e 'Failed to connect to bus' -e '^$' > /tmp/wardcam-verify.txt
    [[ ! -s /tmp/wardcam-verify.txt ]] || { cat /tmp/wardcam-verify.txt; return 1; }
}
check "systemd-analyze verify on the units" verify_units
check "the units are enabled" test -L "$ROOT/etc/systemd/system/multi-user.target.wants/wardcam.service" \
    -a -L "$ROOT/etc/systemd/system/sysinit.target.wants/wardcam-firstboot.service" \
    -a -L "$ROOT/etc/systemd/system/multi-user.target.wants/frigate-apply.service" \
    -a -L "$ROOT/etc/systemd/system/multi-user.target.wants/wardcam-update.service" \
    -a ! -e "$ROOT/etc/systemd/system/multi-user.target.wants/frigate.service"
check "root has no password" bash -c "grep -q '^root:[!*]' '$ROOT/etc/shadow'"
check "no ssh server" test ! -e "$ROOT/usr/sbin/sshd"
check "the console banner names the panel" grep -q 'http://wardcam.local:8080' "$ROOT/etc/issue.d/wardcam.issue"
check "the firewall rules parse (nft -c)" bash -c "cat '$ROOT/etc/nftables.d/wardcam.nft' '$ROOT/etc/nftables.d/wardcam-mqtt-lan.nft' | nft -c -f -"

# Start the appliance inside the root file system the way wardcam.service does.
for m in proc sys dev; do
    mount --bind "/$m" "$ROOT/$m" && mounts+=("$ROOT/$m")
done
mount -t tmpfs tmpfs "$ROOT/tmp" && mounts+=("$ROOT/tmp")
mount -t tmpfs -o mode=1777 tmpfs "$ROOT/dev/shm" && mounts+=("$ROOT/dev/shm")  # as on the box
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
rm -rf "$ROOT/var/lib/wardcam/"{wardcam.db*,secrets}
chroot "$ROOT" setpriv --reuid=wardcam --regid=wardcam --init-groups --no-new-privs \
    env -i PATH=/usr/bin:/bin WARDCAM_DATA_DIR=/var/lib/wardcam LANG=C.UTF-8 HOME=/var/lib/wardcam \
    /opt/wardcam/venv/bin/wardcam serve --host 127.0.0.1 --port "$PORT" > "$HERE/out/test-serve.log" 2>&1 &
app_pid=$!
healthz() {
    local i
    for i in $(seq 1 90); do
        curl --silent --fail --max-time 2 "http://127.0.0.1:$PORT/healthz" > "$HERE/out/test-healthz.txt" && return 0
        kill -0 "$app_pid" 2>/dev/null || { tail -20 "$HERE/out/test-serve.log"; return 1; }
        sleep 1
    done
    tail -20 "$HERE/out/test-serve.log"; return 1
}
check "the appliance in the root file system answers /healthz" healthz
check "the panel opens on onboarding" bash -c "curl --silent --location --max-time 10 http://127.0.0.1:$PORT/ -o '$HERE/out/test-panel.html' -w '%{url_effective}' | grep -q onboarding"
# What onboarding does first: make a user (it failed on an image without time zone data).
add_user() {
    echo "mat-khau-thu-anh-1" | chroot "$ROOT" setpriv --reuid=wardcam --regid=wardcam --init-groups --no-new-privs \
        env -i PATH=/usr/bin:/bin WARDCAM_DATA_DIR=/var/lib/wardcam LANG=C.UTF-8 HOME=/var/lib/wardcam \
        /opt/wardcam/venv/bin/wardcam user add chu-tich --role admin --password-stdin
}
check "a user can be made (time zone data present)" add_user
check "the box keeps Vietnam's time" test "$(readlink "$ROOT/etc/localtime")" = /usr/share/zoneinfo/Asia/Ho_Chi_Minh
kill "$app_pid" 2>/dev/null; wait "$app_pid" 2>/dev/null; app_pid=

if [[ ${WARDCAM_TEST_QEMU:-0} == 1 ]]; then
    check "the image boots under qemu and serves the panel" "$HERE/boot-qemu.sh"
fi
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
