"""The updater's reads and writes of the data directory, done as the directory's owner in a child process.

Root must not open what the appliance's user controls: a symlink there (``secrets/x -> /etc/shadow``, or
``restore-staged.tmp -> /etc/cron.d``) would make root read or write wherever it points. So the updater
runs ``python -m appliance.update.owner backup|restore|copy`` as the data directory's owner (subprocess's
user and group, no supplementary groups) and passes the backup's bytes over stdout and stdin. When the
updater is not root, or when root owns the data directory (a test run as root), the same child runs
without switching users: one code path either way.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from appliance.backup.archive import SETTINGS_FOLDERS, copy_sqlite, make_backup
from appliance.backup.errors import BackupRefused
from appliance.backup.restore import apply_staged, stage_restore

REFUSED = 3  # the child's exit status when the backup file is refused (its message key on stderr)
TIMEOUT_S = 1800


class OwnerStepFailed(Exception):
    """The child doing a step as the data directory's owner failed."""

    def __init__(self, verb: str, detail: str, message_key: str = "") -> None:
        super().__init__(f"{verb}: {detail}")
        self.message_key = message_key


def as_owner_of(data_dir: Path) -> dict[str, Any]:
    """Return subprocess arguments that run a child as the data directory's owner, when the caller is root."""
    st = data_dir.stat()
    if os.geteuid() != 0 or st.st_uid == 0:
        return {}
    return {"user": st.st_uid, "group": st.st_gid, "extra_groups": []}


def _child(verb: str, data_dir: Path, db_path: Path | None, *extra: str, blob: bytes = b"") -> bytes:
    from appliance.update.install import clean_env  # install.py imports this module

    argv = [sys.executable, "-I", "-m", "appliance.update.owner", verb, "--data-dir", str(data_dir)]
    if db_path is not None:
        argv += ["--db", str(db_path)]
    try:
        result = subprocess.run(
            [*argv, *extra],
            input=blob,
            capture_output=True,
            timeout=TIMEOUT_S,
            env=clean_env(),
            cwd=data_dir,
            check=False,
            **as_owner_of(data_dir),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OwnerStepFailed(verb, str(exc)) from exc
    said = result.stderr.decode(errors="replace").strip()
    if result.returncode == REFUSED:
        raise OwnerStepFailed(verb, said, said.splitlines()[-1] if said else "")
    if result.returncode != 0:
        raise OwnerStepFailed(verb, f"exited with {result.returncode}: {said[-2000:]}")
    out: bytes = result.stdout
    return out


def backup_as_owner(data_dir: Path, db_path: Path | None) -> bytes:
    """Return a backup of the database and settings, read by the data directory's owner."""
    return _child("backup", data_dir, db_path)


def restore_as_owner(data_dir: Path, blob: bytes) -> None:
    """Check a backup, stage it and swap it into place, written by the data directory's owner."""
    _child("restore", data_dir, None, blob=blob)


def copy_as_owner(data_dir: Path, db_path: Path | None, dest: Path) -> None:
    """Copy the database and settings into dest (a folder the owner may write) for a trial start."""
    _child("copy", data_dir, db_path, "--dest", str(dest))


def _copy(data_dir: Path, db_path: Path | None, dest: Path) -> None:
    if db_path is not None and db_path.is_file():
        copy_sqlite(db_path, dest / "wardcam.db")
    for folder in SETTINGS_FOLDERS:
        if (data_dir / folder).is_dir():
            shutil.copytree(data_dir / folder, dest / folder, symlinks=True)


def main(argv: list[str] | None = None) -> int:
    """Do one step on the data directory: backup (to stdout), restore (from stdin) or copy (to --dest)."""
    parser = argparse.ArgumentParser(prog="python -m appliance.update.owner", description=main.__doc__)
    parser.add_argument("verb", choices=["backup", "restore", "copy"])
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--dest", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.verb == "backup":
            blob, _ = make_backup(args.data_dir, args.db)
            sys.stdout.buffer.write(blob)
        elif args.verb == "restore":
            stage_restore(args.data_dir, sys.stdin.buffer.read())
            apply_staged(args.data_dir)
        else:
            _copy(args.data_dir, args.db, args.dest)
    except BackupRefused as exc:
        print(f"{exc.detail}\n{exc.message_key}", file=sys.stderr)
        return REFUSED
    except Exception as exc:  # reported to the updater, which logs it and records the failure
        print(f"{exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
