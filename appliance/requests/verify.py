"""Check an evidence package offline: its signature, and every file against the manifest's hashes.

The result names each problem and the file it is about: a video file altered, added or removed;
manifest.json altered; manifest.sig altered; public_key.pem altered (not the key the manifest names, or
not the key the user trusts). The key to trust is a public key file, or a fingerprint (compared with the
key inside the package); with neither, the key inside the package is used and its fingerprint reported,
to be compared with the one on the appliance's System page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .keys import fingerprint, load_public_key, normalize_fingerprint, public_pem
from .package import CHUNK, MANIFEST, PUBLIC_KEY, SIGNATURE

OWN_FILES = (MANIFEST, SIGNATURE, PUBLIC_KEY)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a package: what (a message key's last part) and which file."""

    kind: str  # not_a_package, manifest_altered, signature_altered, key_altered, key_untrusted, file_altered, ...
    name: str = ""


@dataclass
class VerifyResult:
    """What `wardcam verify` found."""

    problems: list[Problem] = field(default_factory=list)
    fingerprint: str = ""  # of the key the signature was checked with
    trusted: bool = False  # the key was given by the user (file or fingerprint), not only found in the package
    signature_ok: bool = False
    files_ok: int = 0

    @property
    def ok(self) -> bool:
        """Return whether nothing is wrong."""
        return not self.problems and self.signature_ok


def _read(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        return archive.read(name)
    except (KeyError, zipfile.BadZipFile, OSError):
        return None


def _hash_member(archive: zipfile.ZipFile, name: str) -> tuple[str, int] | None:
    digest, size = hashlib.sha256(), 0
    try:
        with archive.open(name) as member:
            while chunk := member.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except (zipfile.BadZipFile, OSError):  # a bad CRC: the stored bytes were changed
        return None
    return digest.hexdigest(), size


def _signature(raw: bytes | None) -> dict[str, Any] | None:
    try:
        data = json.loads(raw or b"")
        signature = base64.b64decode(data["signature"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if not isinstance(data, dict) or len(signature) != 64 or base64.b64encode(signature).decode() != data["signature"]:
        return None
    canonical = {"algorithm": "Ed25519", "manifest_sha256": data.get("manifest_sha256"),
                 "key_fingerprint": data.get("key_fingerprint"), "signature": data["signature"]}  # fmt: skip
    if json.dumps(canonical, indent=2).encode() != raw:  # any other change: not as the appliance wrote it
        return None
    data["raw"] = signature
    return data


def _key(pem: bytes | None) -> Ed25519PublicKey | None:
    try:
        key = load_public_key(pem or b"")
    except ValueError:
        return None
    return key if public_pem(key) == pem else None  # not as the appliance wrote it


def verify_package(
    path: Path, *, public_key: bytes | None = None, expected_fingerprint: str | None = None
) -> VerifyResult:
    """Check a package; `public_key` (PEM) or `expected_fingerprint` says which key to trust."""
    result = VerifyResult()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        result.problems.append(Problem("not_a_package", path.name))
        return result
    with archive:
        body, sig_raw, key_raw = (_read(archive, n) for n in OWN_FILES)
        if body is None:
            kind = "manifest_missing" if MANIFEST not in archive.namelist() else "manifest_altered"
            result.problems.append(Problem(kind, MANIFEST))
            return result
        try:
            manifest: dict[str, Any] | None = json.loads(body)
        except ValueError:
            manifest = None
        signature = _signature(sig_raw)
        embedded = _key(key_raw)
        named = {
            normalize_fingerprint(str(d.get("key_fingerprint", "")))
            for d in (manifest, signature)
            if isinstance(d, dict)
        }
        names = archive.namelist()
        key = _trusted_key(result, embedded, named, public_key, expected_fingerprint)
        _check_signature(result, body, signature, key)
        for own in (SIGNATURE, PUBLIC_KEY):
            if own not in names:  # say "removed" rather than "altered"
                result.problems = [p if p.name != own else Problem("file_removed", own) for p in result.problems]
        for name in sorted({n for n in names if names.count(n) > 1}):
            result.problems.append(Problem("file_added", name))  # a second member under a name already there
        if any(p.kind == "manifest_altered" for p in result.problems):
            return result  # nothing in an altered manifest can be trusted to check the files against
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
            result.problems.append(Problem("manifest_altered", MANIFEST))
            return result
        documents = manifest.get("documents", [])  # the handover record; packages before it had none
        _check_files(result, archive, manifest["files"], documents if isinstance(documents, list) else [])
    return result


def _trusted_key(result: VerifyResult, embedded: Ed25519PublicKey | None, named: set[str], public_key: bytes | None,
                 expected: str | None) -> Ed25519PublicKey | None:  # fmt: skip
    """Return the key to check the signature with, noting any problem with the package's own key."""
    embedded_fp = normalize_fingerprint(fingerprint(embedded)) if embedded is not None else ""
    if public_key is not None:
        given = load_public_key(public_key)
        result.trusted, result.fingerprint = True, fingerprint(given)
        if embedded_fp != normalize_fingerprint(result.fingerprint):
            result.problems.append(Problem("key_altered", PUBLIC_KEY))
        return given
    if expected:
        result.trusted = True
        if embedded is None or embedded_fp != normalize_fingerprint(expected):
            kind = "key_altered" if embedded is None or embedded_fp not in named else "key_untrusted"
            result.problems.append(Problem(kind, PUBLIC_KEY))
            result.fingerprint = expected
            return None
        result.fingerprint = fingerprint(embedded)
        return embedded
    if embedded is None or (named and embedded_fp not in named):
        result.problems.append(Problem("key_altered", PUBLIC_KEY))
        return None
    result.fingerprint = fingerprint(embedded)
    return embedded


def _check_signature(result: VerifyResult, body: bytes, signature: dict[str, Any] | None,
                     key: Ed25519PublicKey | None) -> None:  # fmt: skip
    if signature is None:
        result.problems.append(Problem("signature_altered", SIGNATURE))
        return
    if key is None:
        return  # the key problem is already noted; nothing trustworthy to check with
    try:
        key.verify(signature["raw"], body)
    except InvalidSignature:
        if signature.get("manifest_sha256") != hashlib.sha256(body).hexdigest():
            result.problems.append(Problem("manifest_altered", MANIFEST))
        else:
            result.problems.append(Problem("signature_altered", SIGNATURE))
        return
    digest = hashlib.sha256(body).hexdigest()
    if signature.get("manifest_sha256") != digest or signature.get("key_fingerprint") != fingerprint(key):
        result.problems.append(Problem("signature_altered", SIGNATURE))
        return
    result.signature_ok = True


def _check_files(result: VerifyResult, archive: zipfile.ZipFile, files: list[Any], documents: list[Any]) -> None:
    """Check every listed member's hash and size, and that nothing is missing or added."""
    videos = {str(f["name"]) for f in files if isinstance(f, dict) and f.get("name")}
    listed: dict[str, dict[str, Any]] = {
        str(f["name"]): f for f in [*files, *documents] if isinstance(f, dict) and f.get("name")
    }
    present = [n for n in archive.namelist() if n not in OWN_FILES and not n.endswith("/")]
    for name in present:
        if name not in listed:
            result.problems.append(Problem("file_added", name))
    for name, entry in listed.items():
        if name not in present:
            result.problems.append(Problem("file_removed", name))
            continue
        found = _hash_member(archive, name)
        if found is None or found != (entry.get("sha256"), entry.get("size")):
            result.problems.append(Problem("file_altered", name))
        elif name in videos:
            result.files_ok += 1
