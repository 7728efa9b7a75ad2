"""Stage a checked backup in the data directory, and apply it at the next start.

A restore never touches the live state while the appliance runs: the whole file is checked first
(read_backup), then written to ``DATA_DIR/restore-staged``. At start-up, before the database opens,
apply_staged() moves the current database and settings to ``DATA_DIR/restore-previous`` (the rollback
copy) and the staged ones into place, each step a rename on the same disk.

A power cut can stop apply_staged() anywhere; the next start finishes the same restore:
1. the current items move into ``restore-previous.tmp``. Cut here: they are moved back, and step 1 starts again.
2. ``restore-applying.json`` (the backup's manifest) is written: from now on the restore only goes forward.
3. the staged items move into place, then ``restore-staged`` goes.
4. ``restore-previous.tmp`` becomes ``restore-previous``, and ``restore-applying.json`` goes.
Cut after 2: steps 3 and 4 are finished, each skipping what it already did.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from appliance.backup.archive import DB_MEMBER, MANIFEST, SETTINGS_FOLDERS, Manifest, read_backup
from appliance.durable import write_durably

log = logging.getLogger(__name__)

STAGED = "restore-staged"
PREVIOUS = "restore-previous"
MOVING = PREVIOUS + ".tmp"
APPLYING = "restore-applying.json"  # written once the current state is all moved out; holds the manifest
DB_NAME = "wardcam.db"
DB_SIDE_FILES = ("-wal", "-shm")


def stage_restore(data_dir: Path, blob: bytes, passphrase: str = "") -> Manifest:
    """Check a backup file in full and stage it; a bad file raises BackupRefused and changes nothing."""
    contents = read_backup(blob, passphrase)
    tmp = data_dir / (STAGED + ".tmp")
    _remove(tmp)
    for name, data in contents.members.items():
        target = tmp / (DB_NAME if name == DB_MEMBER else name)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        target.write_bytes(data)
    (tmp / MANIFEST).write_bytes(contents.manifest.to_json())
    (tmp / "secrets").mkdir(exist_ok=True, mode=0o700)
    staged = data_dir / STAGED
    _remove(staged)
    tmp.rename(staged)
    log.info("backup of %s staged for restore", contents.manifest.created_at)
    return contents.manifest


def _remove(path: Path) -> None:
    """Delete a folder, or a link or file in its place (unlinked, never followed: rmtree refuses a link)."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def staged_manifest(data_dir: Path) -> Manifest | None:
    """Return the manifest of a restore waiting for the next start, if any."""
    path = data_dir / STAGED / MANIFEST
    return Manifest.from_json(path.read_bytes()) if path.is_file() else None


def _items(data_dir: Path, with_database: bool) -> list[str]:
    names = list(SETTINGS_FOLDERS)
    if with_database:
        names += [DB_NAME] + [DB_NAME + s for s in DB_SIDE_FILES]
    return names


def apply_staged(data_dir: Path) -> Manifest | None:
    """Swap a staged restore into place, keeping the current state as restore-previous (see the module's steps)."""
    staged = data_dir / STAGED
    moving = data_dir / MOVING
    applying = data_dir / APPLYING
    if applying.is_file():  # a start cut off after step 2: finish going forward
        return _move_in(data_dir, Manifest.from_json(applying.read_bytes()))
    if moving.exists():  # a start cut off in step 1: put the current state back first
        rollback(data_dir, moving)
    manifest = staged_manifest(data_dir)
    if manifest is None:
        return None
    moving.mkdir(mode=0o700)
    for name in _items(data_dir, with_database=(staged / DB_NAME).is_file()):
        if (data_dir / name).exists():
            (data_dir / name).rename(moving / name)
    os.sync()  # the staged files were written without fsync: on disk before the note commits to them
    write_durably(applying, manifest.to_json())
    return _move_in(data_dir, manifest)


def _move_in(data_dir: Path, manifest: Manifest) -> Manifest:
    """Steps 3 and 4: each part skips what an earlier, cut-off start already did."""
    staged = data_dir / STAGED
    moving = data_dir / MOVING
    if staged.is_dir():
        for name in _items(data_dir, with_database=True):
            if (staged / name).exists() and not (data_dir / name).exists():
                (staged / name).rename(data_dir / name)
        _remove(staged)
    previous = data_dir / PREVIOUS
    if moving.is_dir():
        _remove(previous)
        moving.rename(previous)
    (data_dir / APPLYING).unlink(missing_ok=True)
    log.warning("restored the backup of %s; the state before is kept in %s", manifest.created_at, previous)
    return manifest


def rollback(data_dir: Path, source: Path | None = None) -> None:
    """Put the state kept in restore-previous (or a half-moved copy) back in place."""
    source = source or data_dir / PREVIOUS
    for child in list(source.iterdir()):
        target = data_dir / child.name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        child.rename(target)
    source.rmdir()
    log.warning("restore rolled back from %s", source)
