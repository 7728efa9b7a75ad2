"""An admin backs up the appliance, changes things, and restores: the old state is back; bad files change nothing."""

from __future__ import annotations

import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from appliance.auth.accounts import Accounts
from appliance.backup.archive import DB_MEMBER, MANIFEST, Manifest, make_backup, read_backup, shipped_schema
from appliance.backup.errors import DamagedBackup, NewerBackup, NotABackup, WrongPassphrase
from appliance.backup.restore import apply_staged, rollback, stage_restore, staged_manifest
from appliance.db.connection import close_database, open_database
from appliance.db.models.users import Role, User

PW = "mat-khau-dai-du-12"


def _settings(data_dir: Path) -> None:
    (data_dir / "secrets").mkdir(exist_ok=True)
    (data_dir / "secrets" / "signing-key.pem").write_text("the ward's key")
    (data_dir / "addons" / "frigate").mkdir(parents=True)
    (data_dir / "addons" / "frigate" / "config.yml").write_text("cameras: {}")
    (data_dir / "recordings").mkdir()
    (data_dir / "recordings" / "cam1.mp4").write_bytes(b"video")


async def _usernames() -> set[str]:
    return {u.username for u in await User.all()}


async def test_restore_brings_back_users_and_settings(db: Path, accounts: Accounts) -> None:
    _settings(db)
    await accounts.create_user(None, "chu-tich", PW, Role.ADMIN)
    blob, manifest = make_backup(db, db / "wardcam.db", passphrase="ward 7 secret")

    assert manifest.schema == shipped_schema()
    assert set(manifest.members) == {DB_MEMBER, "secrets/signing-key.pem", "addons/frigate/config.yml"}

    # things change after the backup
    await accounts.create_user(None, "new-guard", PW, Role.VIEWER)
    (db / "secrets" / "signing-key.pem").write_text("a different key")

    staged = stage_restore(db, blob, "ward 7 secret")
    assert staged_manifest(db) == staged
    assert await _usernames() == {"chu-tich", "new-guard"}  # nothing applied while running

    await close_database()
    assert apply_staged(db) is not None
    await open_database(f"sqlite://{db / 'wardcam.db'}")
    assert await _usernames() == {"chu-tich"}
    assert (db / "secrets" / "signing-key.pem").read_text() == "the ward's key"
    assert (db / "recordings" / "cam1.mp4").read_bytes() == b"video"  # recordings untouched
    assert (db / "restore-previous" / "secrets" / "signing-key.pem").read_text() == "a different key"
    assert apply_staged(db) is None  # applied once only

    await close_database()
    rollback(db)
    await open_database(f"sqlite://{db / 'wardcam.db'}")
    assert await _usernames() == {"chu-tich", "new-guard"}


def _rezip(blob: bytes, change: dict[str, bytes]) -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(blob)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, change.get(name, src.read(name)))
    return out.getvalue()


async def test_bad_files_are_refused_and_change_nothing(db: Path, accounts: Accounts) -> None:
    _settings(db)
    await accounts.create_user(None, "chu-tich", PW, Role.ADMIN)
    sealed, _ = make_backup(db, db / "wardcam.db", passphrase="right one")
    plain, manifest = make_backup(db, db / "wardcam.db")

    tampered_sealed = bytearray(sealed)
    tampered_sealed[len(sealed) // 2] ^= 1
    newer = Manifest(**{**manifest.__dict__, "schema": "999_20991231000000_future.py"})
    refused: list[tuple[bytes, str, type[Exception]]] = [
        (sealed, "wrong one", WrongPassphrase),
        (sealed, "", WrongPassphrase),
        (bytes(tampered_sealed), "right one", WrongPassphrase),
        (b"hello, this is a photo", "", NotABackup),
        (_rezip(plain, {"secrets/signing-key.pem": b"changed"}), "", DamagedBackup),
        (_rezip(plain, {DB_MEMBER: b"\0" * 4096}), "", DamagedBackup),
        (_rezip(plain, {MANIFEST: newer.to_json()}), "", NewerBackup),
        (plain[: len(plain) // 2], "", DamagedBackup),
    ]
    for blob, passphrase, error in refused:
        with pytest.raises(error):
            stage_restore(db, blob, passphrase)
    assert not (db / "restore-staged").exists()
    assert apply_staged(db) is None
    assert await _usernames() == {"chu-tich"}
    assert read_backup(sealed, "right one").manifest.members == manifest.members
