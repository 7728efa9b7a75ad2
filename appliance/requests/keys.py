"""The appliance's own Ed25519 key, made at first start, which signs every evidence package's manifest.

The private key lives in DATA_DIR/secrets/evidence-ed25519.pem, readable by its owner only (0600); it is
never logged. Its public key and fingerprint (SHA-256 of the raw public key) are for the System page and
for `wardcam verify --fingerprint`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)

KEY_FILE = "evidence-ed25519.pem"


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """Return the key's fingerprint: SHA-256 of the raw public key, hex in groups of four."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def normalize_fingerprint(text: str) -> str:
    """Return a fingerprint as typed (spaces, colons, any case) as plain lower-case hex."""
    return re.sub(r"[^0-9a-f]", "", text.lower())


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    """Return the public key as PEM (SubjectPublicKeyInfo)."""
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """Read an Ed25519 public key from PEM; ValueError when it is not one."""
    try:
        key = serialization.load_pem_public_key(pem)
    except UnsupportedAlgorithm as exc:
        raise ValueError(str(exc)) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


@dataclass(frozen=True)
class PublicKeyInfo:
    """What the System page shows of the appliance's signing key."""

    pem: str
    fingerprint: str


class SigningKey:
    """The appliance's signing key, loaded from the secrets folder or made there the first time."""

    def __init__(self, secrets_dir: Path) -> None:
        self.path = secrets_dir / KEY_FILE
        self._key: Ed25519PrivateKey | None = None

    def load(self) -> Ed25519PrivateKey:
        """Return the private key, making and storing it (0600) on first use."""
        if self._key is not None:
            return self._key
        if self.path.exists():
            key = serialization.load_pem_private_key(self.path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError(f"{self.path} does not hold an Ed25519 key")
            self._key = key
            return key
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())  # fmt: skip
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        self._key = key
        log.info("evidence signing key made; fingerprint %s", fingerprint(key.public_key()))
        return key

    def sign(self, data: bytes) -> bytes:
        """Return the Ed25519 signature of data."""
        return self.load().sign(data)

    def public_key(self) -> Ed25519PublicKey:
        """Return the public half."""
        return self.load().public_key()

    def info(self) -> PublicKeyInfo:
        """Return the public key (PEM) and its fingerprint, for the System page."""
        public = self.public_key()
        return PublicKeyInfo(public_pem(public).decode(), fingerprint(public))
