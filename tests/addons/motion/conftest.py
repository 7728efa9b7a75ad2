"""A real appliance (database, recorder, live view, detections, add-ons) in the test's process, on SQLite,
with cameras from the session's synthetic RTSP server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.app import Appliance
from appliance.settings import Settings


@pytest.fixture
async def appliance(tmp_path: Path) -> AsyncIterator[Appliance]:
    """A whole appliance, started as `wardcam serve` starts it, without the web panel."""
    app = Appliance(Settings(data_dir=tmp_path / "data", database_url=None))
    await app.start()
    try:
        yield app
    finally:
        await app.stop()
