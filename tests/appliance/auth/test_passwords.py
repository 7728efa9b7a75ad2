"""Passwords are hashed with argon2id and must be at least 10 characters."""

from __future__ import annotations

import pytest

from appliance.auth.passwords import hash_password, verify_password
from appliance.errors import WeakPassword


def test_a_password_is_stored_as_an_argon2id_hash() -> None:
    stored = hash_password("tram-camera-phuong-7")
    assert stored.startswith("$argon2id$")
    assert "tram-camera-phuong-7" not in stored
    assert verify_password(stored, "tram-camera-phuong-7")
    assert not verify_password(stored, "tram-camera-phuong-8")


def test_the_same_password_hashes_differently_each_time() -> None:
    assert hash_password("tram-camera-phuong-7") != hash_password("tram-camera-phuong-7")


@pytest.mark.parametrize("weak", ["", "short", "123456789", "aaaaaaaaaaaaaaaa", " " * 12])
def test_short_or_trivial_passwords_are_refused(weak: str) -> None:
    with pytest.raises(WeakPassword):
        hash_password(weak)


def test_an_unknown_user_or_a_broken_hash_never_verifies() -> None:
    assert not verify_password(None, "anything-at-all")
    assert not verify_password("not-a-hash", "anything-at-all")
