"""Frigate stand-ins on loopback: the open internal port (5000) and the authenticated one (8971)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.addons.frigate.fake_frigate import FakeFrigate

ADMIN_USER = "wardcam"
ADMIN_PASSWORD = "Mật-khẩu Frigate 1!"
VIEWER_USER = "xem"
VIEWER_PASSWORD = "xem-thoi-2"


@pytest.fixture
async def frigate_open() -> AsyncIterator[FakeFrigate]:
    """Frigate's internal port: no login."""
    server = await FakeFrigate().start()
    yield server
    await server.stop()


@pytest.fixture
async def frigate_secured() -> AsyncIterator[FakeFrigate]:
    """Frigate's authenticated port: an admin and a viewer."""
    server = await FakeFrigate(users={ADMIN_USER: (ADMIN_PASSWORD, "admin"),
                                      VIEWER_USER: (VIEWER_PASSWORD, "viewer")}).start()  # fmt: skip
    yield server
    await server.stop()
