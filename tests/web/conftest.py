"""The `user` fixture: a person at the panel, without a browser, against a fresh appliance."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from nicegui.testing import User
from nicegui.testing.user_simulation import user_simulation

from appliance.db.models.users import Role
from web import context

MAIN = Path(__file__).with_name("ui_main.py")
PASSWORD = "mat-khau-du-dai-1"


@pytest.fixture
async def user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[User]:
    """Open the panel of a fresh appliance; any ERROR log line fails the test."""
    monkeypatch.setenv("WARDCAM_DATA_DIR", str(tmp_path / "data"))
    async with user_simulation(main_file=MAIN) as person:
        yield person
    errors = [r for r in caplog.get_records("call") if r.levelname == "ERROR"]
    if errors:
        pytest.fail(f"unexpected ERROR logs: {[r.getMessage() for r in errors]}", pytrace=False)


AddUser = Callable[..., Awaitable[None]]


@pytest.fixture
def add_user() -> AddUser:
    """Create a user directly through the accounts service, as an admin would."""

    async def add(username: str, role: Role = Role.ADMIN, password: str = PASSWORD, language: str = "vi") -> None:
        await context.appliance().accounts.create_user(None, username, password, role, language=language)

    return add


async def log_in(user: User, username: str, password: str = PASSWORD) -> None:
    """Log in through the login form."""
    await user.open("/login")
    user.find(marker="username").type(username)
    user.find(marker="password").type(password)
    user.find(marker="submit").click()


async def eventually(measure: Callable[[], Awaitable[object]], expected: object, within_s: float = 5.0) -> None:
    """Wait until an async measurement gives the expected value, or fail."""
    deadline = asyncio.get_running_loop().time() + within_s
    while (value := await measure()) != expected:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"expected {expected!r}, still {value!r}")
        await asyncio.sleep(0.05)
