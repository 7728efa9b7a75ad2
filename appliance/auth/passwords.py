"""Hash and check passwords with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from appliance.errors import WeakPassword

MIN_LENGTH = 10
MAX_LENGTH = 256

_hasher = PasswordHasher()
# A hash of a random password, checked when the user does not exist, so that a login for an
# unknown user takes as long as one with a wrong password.
_DUMMY_HASH = _hasher.hash("wardcam-timing-equaliser-not-a-password")


def check_strength(password: str) -> None:
    """Raise WeakPassword unless the password is long enough."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(min_length=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        raise WeakPassword(min_length=MIN_LENGTH, too_long=True)
    if password.strip() == "" or len(set(password)) < 3:
        raise WeakPassword(min_length=MIN_LENGTH)


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password that passed check_strength."""
    check_strength(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Return whether the password matches; spend the same time when there is no hash."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Return whether the hash was made with older parameters."""
    return _hasher.check_needs_rehash(password_hash)
