"""Random tokens and their stored hashes."""

from __future__ import annotations

import hashlib
import secrets


def new_token(prefix: str) -> str:
    """Return a new random token such as 'wct_…' with 256 bits of entropy."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    """Return the SHA-256 of a token; tokens are long and random, so no salt is needed."""
    return hashlib.sha256(token.encode()).hexdigest()
