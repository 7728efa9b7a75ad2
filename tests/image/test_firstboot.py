"""The image's first-boot rules for the recordings disk, on this machine's real block devices."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

IMAGE = Path(__file__).resolve().parents[2] / "image"


def load_firstboot() -> ModuleType:
    """Import image/rootfs/usr/local/lib/wardcam/firstboot.py, the script the image runs."""
    path = IMAGE / "rootfs/usr/local/lib/wardcam/firstboot.py"
    spec = importlib.util.spec_from_file_location("wardcam_firstboot", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


firstboot = load_firstboot()


def test_the_boot_disk_is_found_and_never_chosen_for_recordings() -> None:
    tree = firstboot.lsblk()
    boot = firstboot.disk_of(tree)
    assert boot is not None, tree
    findmnt = subprocess.run(["findmnt", "--noheadings", "--output", "SOURCE", "/"], capture_output=True, text=True)
    assert boot["name"] in findmnt.stdout or boot.get("mountpoint") == "/"
    choice = firstboot.choose_data_disk(tree, boot["name"])
    if choice is not None and choice.format:
        chosen = next(d for d in firstboot.walk(tree["blockdevices"]) if d["path"] == choice.path)
        assert chosen["name"] != boot["name"]
        assert firstboot.is_blank(chosen), chosen


def test_no_disk_holding_anything_is_ever_formatted() -> None:
    tree = firstboot.lsblk()
    for device in firstboot.walk(tree["blockdevices"]):
        if device.get("children") or device.get("fstype") or device.get("pttype") or device.get("mountpoint"):
            assert not firstboot.is_blank(device), device


def test_the_root_partition_to_grow_is_on_the_boot_disk() -> None:
    tree = firstboot.lsblk()
    grow = firstboot.root_partition(tree)
    boot = firstboot.disk_of(tree)
    assert boot is not None
    if boot.get("mountpoint") == "/":  # the file system is the whole disk: nothing to grow
        assert grow is None
    else:
        assert grow is not None and grow[0] == boot["path"] and grow[1] >= 1


def test_the_recordings_are_mounted_by_uuid() -> None:
    line = firstboot.fstab_line("0b5e5a8c-1111-4222-8333-444455556666")
    assert line.split() == [
        "UUID=0b5e5a8c-1111-4222-8333-444455556666",
        "/var/lib/wardcam/recordings",
        "ext4",
        "defaults,noatime,nofail,x-systemd.device-timeout=30s",
        "0",
        "2",
    ]


def test_the_console_shows_the_panel_address() -> None:
    banner = (IMAGE / "rootfs/etc/issue.d/wardcam.issue").read_text(encoding="utf-8")
    assert "http://wardcam.local:8080" in banner
    assert "http://\\4:8080" in banner  # agetty writes the box's IPv4 address there


def test_the_service_runs_sandboxed_with_only_the_data_directory_writable() -> None:
    unit = (IMAGE / "rootfs/etc/systemd/system/wardcam.service").read_text(encoding="utf-8")
    settings = dict(line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#"))
    assert settings["User"] == "wardcam"
    assert settings["Restart"] == "always"
    assert settings["ProtectSystem"] == "strict"
    assert settings["ReadWritePaths"] == "/var/lib/wardcam"
    assert settings["NoNewPrivileges"] == "yes"
    assert "WARDCAM_DATA_DIR=/var/lib/wardcam" in unit
