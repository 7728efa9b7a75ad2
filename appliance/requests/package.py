"""The evidence package: one zip of the video files, manifest.json, its Ed25519 signature and the public key.

Video goes straight into the zip (stored, not compressed: video does not shrink), spliced a segment at a
time or streamed from ffmpeg, and is hashed on the way, so every byte is written and hashed once.
manifest.json names the appliance, the request and, for every file, its camera, requested and actual
start and end, gaps, SHA-256, size and codec. A camera whose stream changed within the range (codec,
picture size, audio) has one file per unchanged stretch, and a burned-in export one per run recorded
without a gap too: each file says which part it is (`part`, from 1) of how many (`parts`), and lists the
gaps from where it starts to where the next part starts.
`manifest.sig` is JSON: the Ed25519 signature (base64) of manifest.json's exact bytes, with the manifest's
SHA-256 and the key's fingerprint, so that `wardcam verify` can tell which of the three files was altered.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from .keys import SigningKey, fingerprint, public_pem

FORMAT = "wardcam-evidence/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.pem"
VIDEO_DIR = "video/"
CHUNK = 1 << 20


def iso(value: datetime | None) -> str | None:
    """Return a moment as ISO 8601 (None stays None)."""
    return value.isoformat() if value is not None else None


@dataclass
class PackedFile:
    """One video file of the package, as the manifest describes it."""

    name: str  # in the zip; "" when the camera recorded nothing in the range (then all of it is a gap)
    camera_id: int
    camera_name: str
    requested_start: datetime
    requested_end: datetime
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    gaps: list[tuple[datetime, datetime]] = field(default_factory=list)
    codec: str = ""
    sha256: str = ""
    size: int = 0
    part: int = 1  # which of the camera's files this is, from 1 (its stream changed between them)
    parts: int = 1  # how many files the camera has (0: it recorded nothing in the range)

    def manifest(self) -> dict[str, Any]:
        """Return the file's manifest entry."""
        return {"name": self.name or None, "camera_id": self.camera_id, "camera_name": self.camera_name,
                "requested_start": iso(self.requested_start), "requested_end": iso(self.requested_end),
                "actual_start": iso(self.actual_start), "actual_end": iso(self.actual_end),
                "gaps": [{"start": iso(s), "end": iso(e)} for s, e in self.gaps],
                "codec": self.codec, "sha256": self.sha256, "size": self.size,
                "part": self.part if self.parts else None, "parts": self.parts}  # fmt: skip


class HashingWriter:
    """Write one member of the zip and hash it in the same pass."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self._out: IO[bytes] = archive.open(name, "w", force_zip64=True)
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes | memoryview) -> None:
        """Hash and write a chunk (any size: the spliced footage comes a segment at a time)."""
        self._hash.update(chunk)
        self._out.write(chunk)
        self.size += len(chunk)

    def close(self) -> str:
        """Finish the member and return its SHA-256 (hex)."""
        self._out.close()
        return self._hash.hexdigest()


def open_package(path: Path) -> zipfile.ZipFile:
    """Open a new package for writing (stored members, zip64 for files over 4 GB)."""
    return zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True)


def finish_package(archive: zipfile.ZipFile, key: SigningKey, manifest: dict[str, Any]) -> str:
    """Write the manifest, its signature and the public key; close the zip; return the manifest's SHA-256."""
    body = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    public = key.public_key()
    archive.writestr(MANIFEST, body)
    signature = {
        "algorithm": "Ed25519",
        "manifest_sha256": hashlib.sha256(body).hexdigest(),
        "key_fingerprint": fingerprint(public),
        "signature": base64.b64encode(key.sign(body)).decode(),
    }
    archive.writestr(SIGNATURE, json.dumps(signature, indent=2).encode())
    archive.writestr(PUBLIC_KEY, public_pem(public))
    archive.close()
    return hashlib.sha256(body).hexdigest()


def write_member(archive: zipfile.ZipFile, name: str, data: bytes) -> dict[str, Any]:
    """Write a small member whole; return its manifest entry's sha256 and size."""
    writer = HashingWriter(archive, name)
    writer.write(data)
    return {"sha256": writer.close(), "size": writer.size}


def build_manifest(appliance_id: str, request: dict[str, Any], files: list[PackedFile], key: SigningKey,
                   created_at: datetime, documents: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    """Return the manifest of a package: the videos under `files`, other members (the handover record) under
    `documents`, each with its SHA-256 and size."""
    return {"format": FORMAT, "appliance_id": appliance_id, "created_at": created_at.isoformat(),
            "key_fingerprint": fingerprint(key.public_key()), "request": request,
            "files": [f.manifest() for f in files], "documents": documents or []}  # fmt: skip
