"""Write and read backup files: a zip with a manifest, optionally sealed with a passphrase.

Layout of the zip: ``manifest.json``, ``database/wardcam.db`` (SQLite only), ``secrets/...`` and
``addons/...`` copied from the data directory. The manifest names every other member with its SHA-256.
An encrypted file is ``MAGIC + salt + nonce + AES-GCM(zip)``, the key derived with scrypt; AES-GCM's tag
catches a wrong passphrase and any changed byte alike.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from appliance import __version__
from appliance.backup.errors import DamagedBackup, NewerBackup, NotABackup, WrongPassphrase

FORMAT = "wardcam-backup"
FORMAT_VERSION = 1
MAGIC = b"WARDCAM-BACKUP-AESGCM-1\n"
DB_MEMBER = "database/wardcam.db"
MANIFEST = "manifest.json"
SETTINGS_FOLDERS = ("secrets", "addons")  # under the data directory; recordings and exports stay out
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "db" / "migrations" / "models"


def migration_number(name: str) -> int:
    """Return the leading number of an aerich migration name ('6_2026..._x.py' -> 6), or -1."""
    head = name.split("_", 1)[0]
    return int(head) if head.isdigit() else -1


def shipped_schema() -> str:
    """Return the name of the newest migration this WardCam ships."""
    names = [p.name for p in MIGRATIONS_DIR.glob("*.py") if migration_number(p.name) >= 0]
    return max(names, key=migration_number)


def database_schema(db_path: Path) -> str:
    """Return the newest aerich migration recorded in a SQLite database, or ''."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT version FROM aerich").fetchall()
    except sqlite3.DatabaseError:
        return ""
    finally:
        con.close()
    return max((str(r[0]) for r in rows), key=migration_number, default="")


def copy_sqlite(src: Path, dst: Path) -> None:
    """Copy a live SQLite database consistently with sqlite3's online backup API."""
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    target = sqlite3.connect(dst)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()


@dataclass
class Manifest:
    """What a backup holds and where it came from."""

    created_at: str
    wardcam_version: str
    schema: str
    database: str  # "sqlite" or "postgresql" (then the database is not in the file)
    members: dict[str, str] = field(default_factory=dict)  # name -> SHA-256
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        """Return the manifest as JSON bytes."""
        return json.dumps(self.__dict__, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """Parse a manifest; anything malformed is a damaged backup."""
        try:
            data: dict[str, Any] = json.loads(raw)
            return cls(
                created_at=str(data["created_at"]),
                wardcam_version=str(data["wardcam_version"]),
                schema=str(data["schema"]),
                database=str(data["database"]),
                members={str(k): str(v) for k, v in dict(data["members"]).items()},
                format=str(data["format"]),
                format_version=int(data["format_version"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise DamagedBackup("manifest unreadable") from exc


def _settings_files(data_dir: Path) -> list[tuple[str, Path]]:
    """Return the plain files of the settings folders; a link (to a file or a folder) is never followed."""
    found = []
    for folder in SETTINGS_FOLDERS:
        root = data_dir / folder
        if root.is_symlink() or not root.is_dir():
            continue
        for top, _dirs, files in os.walk(root, followlinks=False):
            for name in files:
                path = Path(top) / name
                if path.is_file() and not path.is_symlink():
                    found.append((path.relative_to(data_dir).as_posix(), path))
    return sorted(found)


def make_backup(data_dir: Path, db_path: Path | None, passphrase: str = "") -> tuple[bytes, Manifest]:
    """Build a backup file of the database (SQLite; None for PostgreSQL) and settings; return it and its manifest."""
    manifest = Manifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        wardcam_version=__version__,
        schema=shipped_schema(),
        database="sqlite" if db_path else "postgresql",
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        if db_path is not None:
            with tempfile.TemporaryDirectory() as tmp:
                copy = Path(tmp) / "wardcam.db"
                copy_sqlite(db_path, copy)
                manifest.schema = database_schema(copy) or manifest.schema
                data = copy.read_bytes()
            zf.writestr(DB_MEMBER, data)
            manifest.members[DB_MEMBER] = hashlib.sha256(data).hexdigest()
        for name, path in _settings_files(data_dir):
            data = path.read_bytes()
            zf.writestr(name, data)
            manifest.members[name] = hashlib.sha256(data).hexdigest()
        zf.writestr(MANIFEST, manifest.to_json())
    blob = buffer.getvalue()
    return (seal(blob, passphrase) if passphrase else blob), manifest


def _key(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode())


def seal(blob: bytes, passphrase: str) -> bytes:
    """Encrypt a backup with a passphrase (scrypt + AES-GCM)."""
    salt, nonce = os.urandom(16), os.urandom(12)
    return MAGIC + salt + nonce + AESGCM(_key(passphrase, salt)).encrypt(nonce, blob, MAGIC)


def is_sealed(blob: bytes) -> bool:
    """Tell whether a file is an encrypted backup."""
    return blob.startswith(MAGIC)


def unseal(blob: bytes, passphrase: str) -> bytes:
    """Decrypt a sealed backup; a wrong passphrase or a changed byte raises WrongPassphrase."""
    if not passphrase:
        raise WrongPassphrase("passphrase needed")
    body = blob[len(MAGIC) :]
    salt, nonce, ciphertext = body[:16], body[16:28], body[28:]
    try:
        return AESGCM(_key(passphrase, salt)).decrypt(nonce, ciphertext, MAGIC)
    except (InvalidTag, ValueError) as exc:
        raise WrongPassphrase("decryption failed") from exc


@dataclass
class BackupContents:
    """A backup file read and checked in full: its manifest and every member's bytes."""

    manifest: Manifest
    members: dict[str, bytes]


def read_backup(blob: bytes, passphrase: str = "") -> BackupContents:
    """Open a backup file and check all of it; raise a BackupRefused naming what is wrong."""
    if is_sealed(blob):
        blob = unseal(blob, passphrase)
    if not blob.startswith(b"PK"):
        raise NotABackup("not a zip")
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            names = set(zf.namelist())
            if MANIFEST not in names:
                raise NotABackup("no manifest")
            manifest = Manifest.from_json(zf.read(MANIFEST))
            if manifest.format != FORMAT:
                raise NotABackup("wrong format")
            members = {name: zf.read(name) for name in manifest.members if name in names}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise DamagedBackup("zip unreadable") from exc
    except Exception as exc:  # zlib errors and the like from a damaged member
        if isinstance(exc, (NotABackup, DamagedBackup)):
            raise
        raise DamagedBackup(f"member unreadable: {exc.__class__.__name__}") from exc
    if manifest.format_version > FORMAT_VERSION:
        raise NewerBackup(f"format {manifest.format_version}")
    for name, digest in manifest.members.items():
        if name not in members:
            raise DamagedBackup(f"missing {name}")
        if hashlib.sha256(members[name]).hexdigest() != digest:
            raise DamagedBackup(f"hash mismatch {name}")
        if not _safe_member(name):
            raise DamagedBackup(f"unsafe path {name}")
    if migration_number(manifest.schema) > migration_number(shipped_schema()):
        raise NewerBackup(manifest.schema)
    if DB_MEMBER in members:
        _check_database(members[DB_MEMBER])
    return BackupContents(manifest, members)


def _safe_member(name: str) -> bool:
    parts = Path(name).parts
    if name == DB_MEMBER:
        return True
    return bool(parts) and parts[0] in SETTINGS_FOLDERS and ".." not in parts and not name.startswith("/")


def _check_database(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "check.db"
        path.write_bytes(data)
        try:
            con = sqlite3.connect(path)
            try:
                result = con.execute("PRAGMA integrity_check").fetchone()
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            raise DamagedBackup("database does not open") from exc
        if not result or result[0] != "ok":
            raise DamagedBackup("database integrity check failed")
        schema = database_schema(path)
    if migration_number(schema) > migration_number(shipped_schema()):
        raise NewerBackup(schema)
