"""The built-in Mosquitto broker add-on under a real add-on manager, with the appliance's real MQTT connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.addons.manager import AddonManager
from appliance.audit import AuditLog
from appliance.bus import EventBus
from appliance.mqtt import MqttService
from appliance.settings import Settings
from tests.appliance.conftest import db  # noqa: F401  (a fresh, migrated SQLite database)
from tests.appliance.mqtt.conftest import watchers  # noqa: F401  (plain MQTT clients, as Frigate would be)


@pytest.fixture
async def mqtt_service(db: Path) -> AsyncIterator[MqttService]:  # noqa: F811
    """The appliance's MQTT connection, started with the default settings: "use the built-in broker"."""
    service = MqttService(AuditLog(db / "audit-head.json"), db)
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
async def manager(db: Path, mqtt_service: MqttService) -> AsyncIterator[AddonManager]:  # noqa: F811
    """An add-on manager that has found the built-in add-ons, none of them running yet."""
    mgr = AddonManager(Settings(data_dir=db), EventBus(), AuditLog(db / "audit-head.json"))
    mgr.discover()
    yield mgr
    await mgr.stop()
