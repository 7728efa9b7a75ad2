"""The update package: a tar of wheels with a manifest signed by a release key (Ed25519).

Layout (an uncompressed tar; wheels are compressed already), nothing else allowed in it:

    manifest.json   format, version, created, min_from_version, and every other file's SHA-256 and size
    manifest.sig    {"algorithm": "ed25519", "key_fingerprint": ..., "signature": base64} over manifest.json's bytes
    wheels/*.whl    WardCam's wheel, and any dependency wheels the new version needs

Reading never extracts with tarfile's own extraction: each member is checked to be a plain file with an
expected name, then streamed through SHA-256 (and, when asked, into a file of our choosing), so the
files used are exactly the ones whose hashes were checked.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance.requests.keys import fingerprint, load_public_key, normalize_fingerprint
from appliance.update.errors import (
    BadSignature,
    NotAnUpdate,
    NoTrustedKey,
    PackageTooBig,
    TamperedFile,
    UnsafePackage,
    Unsigned,
)
from appliance.update.version import is_release

FORMAT = "wardcam-update"
FORMAT_VERSION = 1
SUFFIX = ".wardcam-update"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
WHEEL_RE = re.compile(r"^wheels/[A-Za-z0-9_.+-]+\.whl$")
MAX_MANIFEST_BYTES = 1024**2
CHUNK = 1024**2


class PackageFile(BaseModel):
    """One file of the package as the release signed it."""

    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class UpdateManifest(BaseModel):
    """What an update package holds, signed as a whole."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["wardcam-update"] = "wardcam-update"
    format_version: int = FORMAT_VERSION
    version: str = Field(title="The WardCam version the package installs")
    created: str = Field(title="When the package was built (UTC, ISO 8601)")
    min_from_version: str = Field("", title="The oldest installed version this package may update")
    files: dict[str, PackageFile] = Field(title="wheels/NAME.whl -> SHA-256 and size")

    def to_json(self) -> bytes:
        """Return the manifest as the bytes that are signed."""
        return json.dumps(self.model_dump(), indent=2, sort_keys=True).encode()

    @property
    def wardcam_wheel(self) -> str:
        """Return the name of WardCam's own wheel in the package."""
        wanted = f"wheels/wardcam-{self.version}-"
        return next(name for name in self.files if name.startswith(wanted))


# --- writing (tools/make_update_package.py) ---------------------------------------------------


def _add(tar: tarfile.TarFile, name: str, data: IO[bytes], size: int, mtime: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.uid, info.gid = size, mtime, 0o644, 0, 0
    tar.addfile(info, data)


def sign_manifest(manifest: bytes, key: Ed25519PrivateKey) -> bytes:
    """Return manifest.sig for a manifest's bytes."""
    signature = {
        "algorithm": "ed25519",
        "key_fingerprint": normalize_fingerprint(fingerprint(key.public_key())),
        "signature": base64.b64encode(key.sign(manifest)).decode(),
    }
    return json.dumps(signature, indent=2, sort_keys=True).encode()


def write_package(
    out: Path,
    version: str,
    wheels: list[Path],
    key: Ed25519PrivateKey | None,
    min_from_version: str = "",
    created: datetime | None = None,
) -> UpdateManifest:
    """Write an update package of these wheels, signed with the release key (None: unsigned, for tests)."""
    if not is_release(version):
        raise ValueError(f"{version!r} is not a release version (N.N.N, optionally aN/bN/rcN)")
    files: dict[str, PackageFile] = {}
    for wheel in sorted(wheels, key=lambda p: p.name):
        digest = hashlib.sha256()
        with wheel.open("rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        files[f"wheels/{wheel.name}"] = PackageFile(sha256=digest.hexdigest(), size=wheel.stat().st_size)
    at = (created or datetime.now(UTC)).astimezone(UTC)
    manifest = UpdateManifest(
        version=version, created=at.isoformat(timespec="seconds"), min_from_version=min_from_version, files=files
    )
    if not any(name.startswith(f"wheels/wardcam-{version}-") for name in files):
        raise ValueError(f"no wardcam-{version} wheel among {sorted(files)}")
    raw = manifest.to_json()
    mtime = int(at.timestamp())
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, MANIFEST, io.BytesIO(raw), len(raw), mtime)
        if key is not None:
            sig = sign_manifest(raw, key)
            _add(tar, SIGNATURE, io.BytesIO(sig), len(sig), mtime)
        for wheel in sorted(wheels, key=lambda p: p.name):
            with wheel.open("rb") as f:
                _add(tar, f"wheels/{wheel.name}", f, wheel.stat().st_size, mtime)
    return manifest


# --- reading and checking (the appliance) -----------------------------------------------------


def trusted_keys(folder: Path) -> list[Ed25519PublicKey]:
    """Read every release public key (*.pem) in the folder; NoTrustedKey when there is none."""
    keys = []
    for path in sorted(folder.glob("*.pem")) if folder.is_dir() else []:
        try:
            keys.append(load_public_key(path.read_bytes()))
        except (ValueError, OSError):
            continue  # a file that is not an Ed25519 public key is not a trusted key
    if not keys:
        raise NoTrustedKey(str(folder))
    return keys


def _check_signature(raw: bytes, sig: bytes, keys: list[Ed25519PublicKey]) -> str:
    try:
        data = json.loads(sig)
        signature = base64.b64decode(data["signature"], validate=True)
        if data["algorithm"] != "ed25519":
            raise BadSignature(f"algorithm {data['algorithm']}")
    except (ValueError, KeyError, TypeError) as exc:
        raise BadSignature("signature unreadable") from exc
    for key in keys:
        try:
            key.verify(signature, raw)
            return fingerprint(key)
        except InvalidSignature:
            continue
    raise BadSignature(f"no trusted key matches {data.get('key_fingerprint', '?')}")


@dataclass
class CheckedPackage:
    """A package whose signature and every file were checked; the wheels written out, if asked."""

    manifest: UpdateManifest
    key_fingerprint: str
    wheels_dir: Path | None


def check_package(
    path: Path, keys: list[Ed25519PublicKey], *, max_bytes: int, max_members: int, extract_to: Path | None = None
) -> CheckedPackage:
    """Check a package in full (links, names, sizes, signature, every hash); write its wheels to extract_to."""
    size = path.stat().st_size
    if size > max_bytes:
        raise PackageTooBig(f"{size} bytes")
    try:
        tar = tarfile.open(path, "r:")  # noqa: SIM115 (closed by the with below)
    except (tarfile.TarError, OSError) as exc:
        raise NotAnUpdate("not a tar") from exc
    with tar:
        try:
            members = _members(tar, max_members, max_bytes)
        except (tarfile.TarError, OSError, EOFError) as exc:  # a tar cut short (an upload broken off)
            raise TamperedFile("tar damaged") from exc
        if MANIFEST not in members:
            raise NotAnUpdate("no manifest")
        if SIGNATURE not in members:
            raise Unsigned()
        raw = _read_small(tar, members[MANIFEST])
        fingerprint_hex = _check_signature(raw, _read_small(tar, members[SIGNATURE]), keys)
        try:
            manifest = UpdateManifest.model_validate_json(raw)
        except ValidationError as exc:
            raise NotAnUpdate("manifest unreadable") from exc
        if manifest.format_version > FORMAT_VERSION or not is_release(manifest.version):
            raise NotAnUpdate(f"format {manifest.format_version}, version {manifest.version}")
        listed = set(manifest.files)
        present = set(members) - {MANIFEST, SIGNATURE}
        if listed != present:
            raise TamperedFile(f"added {sorted(present - listed)}, missing {sorted(listed - present)}")
        if not any(name.startswith(f"wheels/wardcam-{manifest.version}-") for name in listed):
            raise NotAnUpdate("no WardCam wheel of the manifest's version")
        if extract_to is not None:
            extract_to.mkdir(parents=True, exist_ok=True)
        for name, expected in sorted(manifest.files.items()):
            try:
                _check_member(tar, members[name], expected, extract_to)
            except (tarfile.TarError, EOFError) as exc:  # data cut short
                raise TamperedFile(f"{name}: {exc}") from exc
    return CheckedPackage(manifest, fingerprint_hex, extract_to)


def _members(tar: tarfile.TarFile, max_members: int, max_bytes: int) -> dict[str, tarfile.TarInfo]:
    found: dict[str, tarfile.TarInfo] = {}
    for count, member in enumerate(tar, start=1):
        if count > max_members:
            raise PackageTooBig(f"more than {max_members} files")
        name = member.name
        if not member.isreg() or member.issparse():
            raise UnsafePackage(f"{name}: not a plain file")
        if (name not in (MANIFEST, SIGNATURE) and not WHEEL_RE.match(name)) or ".." in name.split("/"):
            raise UnsafePackage(f"unexpected path {name!r}")
        if name in found:
            raise UnsafePackage(f"{name} twice")
        if member.size > max_bytes:
            raise PackageTooBig(f"{name}: {member.size} bytes")
        found[name] = member
    return found


def _read_small(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    if member.size > MAX_MANIFEST_BYTES:
        raise PackageTooBig(f"{member.name}: {member.size} bytes")
    f = tar.extractfile(member)
    if f is None:
        raise UnsafePackage(member.name)
    return f.read()


def _check_member(tar: tarfile.TarFile, member: tarfile.TarInfo, expected: PackageFile, dest: Path | None) -> None:
    if member.size != expected.size:
        raise TamperedFile(f"{member.name}: size {member.size}, signed {expected.size}")
    source = tar.extractfile(member)
    if source is None:
        raise UnsafePackage(member.name)
    digest = hashlib.sha256()
    target = (dest / Path(member.name).name).open("wb") if dest is not None else None
    try:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            if target is not None:
                target.write(chunk)
    finally:
        if target is not None:
            target.close()
    if digest.hexdigest() != expected.sha256:
        if dest is not None:
            (dest / Path(member.name).name).unlink(missing_ok=True)
        raise TamperedFile(f"{member.name}: SHA-256 differs")
