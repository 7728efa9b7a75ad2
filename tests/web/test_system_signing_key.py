"""An admin reads the appliance's evidence signing key on the System page, to give its fingerprint to the police."""

from __future__ import annotations

import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nicegui.testing import User

from appliance.requests.keys import fingerprint
from tests.web.conftest import AddUser, log_in
from web import context


def text_of(user: User, marker: str) -> str:
    return " ".join(element.text for element in user.find(marker=marker).elements)  # type: ignore[attr-defined]


async def test_the_system_page_shows_the_fingerprint_of_the_key_that_signs_evidence(
    user: User, add_user: AddUser
) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/system")
    await user.should_see("Khóa ký gói chứng cứ")

    # the key file the packages are signed with, read independently of the page
    secrets = context.appliance().settings.data_dir / "secrets"
    private = serialization.load_pem_private_key((secrets / "evidence-ed25519.pem").read_bytes(), password=None)
    assert isinstance(private, Ed25519PrivateKey)
    assert text_of(user, "key-fingerprint") == fingerprint(private.public_key())
    shown_pem = text_of(user, "public-key")
    assert shown_pem.startswith("-----BEGIN PUBLIC KEY-----") and "PRIVATE" not in shown_pem
    assert text_of(user, "appliance-id") == str(uuid.UUID((secrets / "appliance-id").read_text().strip()))
