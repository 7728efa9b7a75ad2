#!/usr/bin/python3
"""WardCam's first boot: grow the root file system and set up the recordings disk.

The rule for the recordings disk, in order:
1. A file system labelled WARDCAM-DATA (a partition or a whole disk) is used as it is.
2. Otherwise the largest whole disk that is not the boot disk and is completely blank (no partition
   table, no file system signature, not mounted, not read-only, not removable) is formatted ext4 and
   labelled WARDCAM-DATA.
3. Anything else is never formatted: a disk that holds any data is left alone and the recordings stay
   on the root file system, which is grown to fill the boot disk.
The chosen file system is mounted at /var/lib/wardcam/recordings by an fstab entry naming its UUID.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_LABEL = "WARDCAM-DATA"
RECORDINGS = "/var/lib/wardcam/recordings"
DONE = Path("/var/lib/wardcam/.firstboot-done")
LSBLK_COLUMNS = "NAME,PATH,TYPE,SIZE,FSTYPE,LABEL,PARTLABEL,UUID,MOUNTPOINT,PTTYPE,RO,RM,PKNAME"


@dataclass(frozen=True)
class DataDisk:
    """Where the recordings go, and whether it must be formatted first."""

    path: str
    format: bool


def lsblk() -> dict[str, Any]:
    """Return the block device tree as lsblk's JSON."""
    out = subprocess.run(
        ["lsblk", "--json", "--bytes", "--output", LSBLK_COLUMNS], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def walk(devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return every device in the tree, parents before their children."""
    found: list[dict[str, Any]] = []
    for device in devices:
        found.append(device)
        found.extend(walk(device.get("children") or []))
    return found


def disk_of(tree: dict[str, Any], mountpoint: str = "/") -> dict[str, Any] | None:
    """Return the whole disk that holds the file system mounted at mountpoint."""
    for disk in tree.get("blockdevices", []):
        if any(d.get("mountpoint") == mountpoint for d in walk([disk])):
            return disk
    return None


def is_blank(disk: dict[str, Any]) -> bool:
    """Tell whether a whole disk holds nothing at all: no table, no file system, no partitions."""
    return (
        disk.get("type") == "disk"
        and not disk.get("children")
        and not disk.get("fstype")
        and not disk.get("pttype")
        and not disk.get("mountpoint")
        and not _flag(disk.get("ro"))
        and not _flag(disk.get("rm"))
        and not str(disk.get("name", "")).startswith(("loop", "zram", "sr"))
    )


def choose_data_disk(tree: dict[str, Any], boot_disk: str | None) -> DataDisk | None:
    """Pick the recordings disk by the rule in this module's docstring, or None."""
    for device in walk(tree.get("blockdevices", [])):
        if device.get("label") == DATA_LABEL and device.get("fstype"):
            return DataDisk(device["path"], format=False)
    blank = [d for d in tree.get("blockdevices", []) if d.get("name") != boot_disk and is_blank(d)]
    if not blank:
        return None
    largest = max(blank, key=lambda d: (int(d.get("size") or 0), d.get("name", "")))
    return DataDisk(largest["path"], format=True)


def fstab_line(uuid: str) -> str:
    """Return the fstab entry that mounts the recordings file system by its UUID."""
    return f"UUID={uuid} {RECORDINGS} ext4 defaults,noatime,nofail,x-systemd.device-timeout=30s 0 2\n"


def root_partition(tree: dict[str, Any]) -> tuple[str, int] | None:
    """Return the boot disk's path and the root partition's number, for growpart."""
    disk = disk_of(tree)
    if disk is None:
        return None
    for part in disk.get("children") or []:
        if part.get("mountpoint") == "/" and part.get("type") == "part":
            number = ""
            for ch in reversed(part["name"]):
                if not ch.isdigit():
                    break
                number = ch + number
            return disk["path"], int(number)
    return None


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true")


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run one command, logging it, and return its result; failures are logged, not raised."""
    print("firstboot:", " ".join(argv), flush=True)
    result = subprocess.run(list(argv), capture_output=True, text=True)
    if result.returncode != 0:
        print(f"firstboot: exit {result.returncode}: {result.stderr.strip()}", file=sys.stderr, flush=True)
    return result


def main() -> int:
    """Grow the root file system, then find, format if blank, and mount the recordings disk."""
    tree = lsblk()
    root = root_partition(tree)
    if root is not None:
        disk, number = root
        run("growpart", disk, str(number))
        part = next(d["path"] for d in walk(tree["blockdevices"]) if d.get("mountpoint") == "/")
        run("resize2fs", part)
    boot = disk_of(tree)
    data = choose_data_disk(tree, boot["name"] if boot else None)
    if data is not None:
        if data.format:
            run("mkfs.ext4", "-q", "-L", DATA_LABEL, "-m", "0", "-T", "largefile", data.path)
        uuid = run("blkid", "-s", "UUID", "-o", "value", data.path).stdout.strip()
        fstab = Path("/etc/fstab")
        text = fstab.read_text(encoding="utf-8")
        if uuid and RECORDINGS not in text:
            fstab.write_text(text + fstab_line(uuid), encoding="utf-8")
            run("systemctl", "daemon-reload")
            run("mount", RECORDINGS)
            run("chown", "wardcam:wardcam", RECORDINGS)
            run("chmod", "0750", RECORDINGS)
    else:
        print("firstboot: no WARDCAM-DATA file system and no blank disk: recordings stay on the root disk")
    run("systemd-machine-id-setup")
    DONE.parent.mkdir(parents=True, exist_ok=True)
    DONE.touch()
    os.sync()
    return 0


if __name__ == "__main__":
    sys.exit(main())
