"""The detections tests run on both databases WardCam supports: SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.db.connection import close_database, migrate, open_database
from tests.harness.postgres import create_database, drop_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Path]:
    """Open a fresh, migrated database of each kind in turn and yield the data directory."""
    url = f"sqlite://{tmp_path / 'wardcam.db'}" if request.param == "sqlite" else await create_database()
    await open_database(url)
    await migrate(url)
    yield tmp_path
    await close_database()
    if request.param == "postgres":
        await drop_database(url)
