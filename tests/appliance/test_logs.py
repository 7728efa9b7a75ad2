"""Logs never carry secrets: passwords, tokens and camera credentials are masked."""

from __future__ import annotations

import logging

import pytest

from appliance.auth.accounts import Accounts
from appliance.db.models.users import Role
from appliance.errors import InvalidCredentials
from appliance.logs import RedactingFormatter, redact


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("recording rtsp://admin:Cam%40pass1@10.1.2.3:554/stream1", "Cam%40pass1"),
        ("database open: postgres://wardcam:hunter2secret@db:5432/wardcam", "hunter2secret"),
        ("Authorization: Bearer wct_abcdefghijklmnopqrstuvwxyz0123", "wct_abcdefghijklmnopqrstuvwxyz0123"),
        ("cookie wcs_AbCdEf0123456789xyz", "wcs_AbCdEf0123456789xyz"),
        ('payload {"password": "mat-khau-bi-mat"}', "mat-khau-bi-mat"),
        ("password=mat-khau-bi-mat&user=a", "mat-khau-bi-mat"),
    ],
)
def test_secrets_are_masked(line: str, secret: str) -> None:
    masked = redact(line)
    assert secret not in masked
    assert "***" in masked


def test_ordinary_lines_are_left_alone() -> None:
    line = "camera Ngã tư – hướng Bắc: segment closed after 10.2 s"
    assert redact(line) == line


async def test_a_failed_login_logs_no_password(accounts: Accounts, caplog: pytest.LogCaptureFixture) -> None:
    await accounts.create_user(None, "admin", "mat-khau-du-dai-1", Role.ADMIN)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(InvalidCredentials):
        await accounts.login("admin", "mat-khau-sai-be-ngoai", "127.0.0.1")
    await accounts.login("admin", "mat-khau-du-dai-1", "127.0.0.1")
    formatter = RedactingFormatter("%(message)s")
    text = "\n".join(formatter.format(r) for r in caplog.records)
    assert "mat-khau-sai-be-ngoai" not in text and "mat-khau-du-dai-1" not in text
    assert "login failed for admin" in text
