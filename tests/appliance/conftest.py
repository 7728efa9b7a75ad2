"""A real SQLite database, migrated, for tests of the core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.audit import AuditLog
from appliance.auth.accounts import Accounts
from appliance.db.connection import close_database, migrate, open_database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Path]:
    """Open a fresh, migrated SQLite database and yield the data directory."""
    url = f"sqlite://{tmp_path / 'wardcam.db'}"
    await open_database(url)
    await migrate(url)
    yield tmp_path
    await close_database()


@pytest.fixture
def accounts(db: Path) -> Accounts:
    """Return the accounts service over the test database."""
    return Accounts(AuditLog(db / "audit-head.json"))
