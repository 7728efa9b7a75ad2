"""The built-in ONVIF add-on under a real add-on manager, over a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.addons.manager import AddonManager
from appliance.audit import AuditLog
from appliance.bus import EventBus
from appliance.settings import Settings
from tests.appliance.conftest import db  # noqa: F401  (a fresh, migrated SQLite database)


@pytest.fixture
async def manager(db: Path) -> AsyncIterator[AddonManager]:  # noqa: F811
    """An add-on manager that has found the built-in add-ons, none of them running yet."""
    mgr = AddonManager(Settings(data_dir=db), EventBus(), AuditLog(db / "audit-head.json"))
    mgr.discover()
    yield mgr
    await mgr.stop()
