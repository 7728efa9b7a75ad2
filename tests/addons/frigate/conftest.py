"""Frigate stand-ins on loopback: the open internal port (5000) and the authenticated one (8971)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.addons.manager import AddonManager
from appliance.audit import AuditLog
from appliance.bus import EventBus
from appliance.detections import Detections
from appliance.mqtt import MqttService
from appliance.settings import Settings
from tests.addons.frigate.fake_frigate import FakeFrigate
from tests.appliance.conftest import db  # noqa: F401  (a fresh, migrated SQLite database)
from tests.appliance.mqtt.conftest import connected, watchers  # noqa: F401  (plain MQTT clients, as Frigate is)
from tests.harness.fixtures import RunningBroker

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


# --- the add-on under a real add-on manager, the appliance's real MQTT connection and detections store ---


@pytest.fixture
async def detections(db: Path) -> AsyncIterator[Detections]:  # noqa: F811
    """The appliance's detections service over a fresh, migrated SQLite database."""
    service = Detections(db, EventBus())
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
async def mqtt_to_broker(db: Path, mosquitto: RunningBroker) -> AsyncIterator[MqttService]:  # noqa: F811
    """The appliance's MQTT connection, set to the session's Mosquitto (as staff set "another broker")."""
    service = MqttService(AuditLog(db / "audit-head.json"), db)
    await service.start()
    await service.save_settings({"broker": "external", "url": f"mqtt://{mosquitto.host}:{mosquitto.port}",
                                 "client_id": f"wardcam-{uuid.uuid4().hex[:8]}"})  # fmt: skip
    await connected(service)
    yield service
    await service.stop()


@pytest.fixture
async def manager(db: Path, detections: Detections, mqtt_to_broker: MqttService) -> AsyncIterator[AddonManager]:  # noqa: F811
    """An add-on manager that has found the built-in add-ons, none of them running yet."""
    mgr = AddonManager(Settings(data_dir=db), detections.bus, AuditLog(db / "audit-head.json"))
    mgr.discover()
    yield mgr
    await mgr.stop()


@pytest.fixture
def prefix() -> str:
    """A topic prefix of the test's own: the session's broker is shared, retained messages included."""
    return f"frigate-{uuid.uuid4().hex[:8]}"
