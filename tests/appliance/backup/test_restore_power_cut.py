"""The power goes off while WardCam applies a restore at start: the next start finishes the same restore.

The cut is played by stopping apply_staged() at its n-th change to the disk (a rename, an unlink or a
folder's removal, each raising an exception nothing catches), for every n until a start runs through.
After each cut the next start must end in the same place as an uncut one: the backup's database and
settings in place, the state before kept in restore-previous, recordings untouched, nothing half-done.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from appliance.auth.accounts import Accounts
from appliance.backup.archive import DB_MEMBER, make_backup, read_backup
from appliance.backup.restore import apply_staged, stage_restore
from appliance.db.models.users import Role

PW = "mat-khau-dai-du-12"


class PowerCut(BaseException):
    """The process ends here, as it would with the power."""


def cut_at(monkeypatch: pytest.MonkeyPatch, n: int) -> list[str]:
    """Make the n-th change to the disk (counted from 0) never happen; return the changes made before it."""
    done: list[str] = []

    def counted(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def change(*args: Any, **kwargs: Any) -> Any:
            if len(done) == n:
                raise PowerCut(f"{name} {args[0]}")
            done.append(f"{name} {args[0]}")
            return real(*args, **kwargs)

        return change

    monkeypatch.setattr(Path, "rename", counted("rename", Path.rename))
    monkeypatch.setattr(Path, "unlink", counted("unlink", Path.unlink))
    monkeypatch.setattr(shutil, "rmtree", counted("rmtree", shutil.rmtree))
    return done


def a_box(folder: Path) -> Path:
    """A data directory as it is before the restore: its own database, WAL, key and add-on config."""
    folder.mkdir()
    (folder / "wardcam.db").write_bytes(b"the database before the restore")
    (folder / "wardcam.db-wal").write_bytes(b"its write-ahead log")
    (folder / "secrets").mkdir()
    (folder / "secrets" / "signing-key.pem").write_text("the key before")
    (folder / "addons" / "frigate").mkdir(parents=True)
    (folder / "addons" / "frigate" / "config.yml").write_text("cameras: {before: {}}")
    (folder / "recordings").mkdir()
    (folder / "recordings" / "cam1.mp4").write_bytes(b"video")
    return folder


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


async def test_a_restore_cut_off_anywhere_is_finished_at_the_next_start(
    db: Path, accounts: Accounts, tmp_path: Path
) -> None:
    (db / "secrets").mkdir(exist_ok=True)
    (db / "secrets" / "signing-key.pem").write_text("the ward's key")
    await accounts.create_user(None, "chu-tich", PW, Role.ADMIN)
    blob, _ = make_backup(db, db / "wardcam.db")
    backed_up = read_backup(blob, "").members

    uncut = a_box(tmp_path / "uncut")
    stage_restore(uncut, blob)
    assert apply_staged(uncut) is not None
    expected = files_of(uncut)
    assert expected["wardcam.db"] == backed_up[DB_MEMBER]
    assert expected["secrets/signing-key.pem"] == b"the ward's key"
    assert expected["restore-previous/wardcam.db"] == b"the database before the restore"
    assert expected["restore-previous/wardcam.db-wal"] == b"its write-ahead log"  # never replayed on the restored one
    assert "wardcam.db-wal" not in expected and "addons/frigate/config.yml" not in expected
    assert expected["recordings/cam1.mp4"] == b"video"

    n = 0
    while True:
        box = a_box(tmp_path / f"cut-{n}")
        stage_restore(box, blob)
        with pytest.MonkeyPatch.context() as patch:
            done = cut_at(patch, n)
            try:
                apply_staged(box)
                break  # the start ran through: every point before it was cut once
            except PowerCut as cut:
                where = f"cut before change {n} ({cut}), after {done}"
        assert apply_staged(box) is not None, where  # the next start
        assert files_of(box) == expected, where
        assert apply_staged(box) is None, where  # and only once
        n += 1
    assert n >= 8  # the moves out, the note, the moves in and the renames were all cut at least once
