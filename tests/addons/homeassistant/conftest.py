"""A real appliance (database, recorder, live view, detections, MQTT, add-ons) on a real Mosquitto of the
test's own, with real RTSP cameras, and plain MQTT clients standing where Home Assistant stands."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from appliance.app import Appliance
from appliance.mqtt import MqttState
from appliance.settings import Settings
from tests.addons.homeassistant.stand_in import TIMEOUT_S, HomeAssistantSide
from tests.harness.fixtures import RunningBroker
from tests.harness.waiting import until


@pytest.fixture
def home_assistant(broker: RunningBroker) -> Iterator[Callable[[], HomeAssistantSide]]:
    """Connect Home Assistant stand-ins to the broker; all are closed at teardown."""
    made: list[HomeAssistantSide] = []

    def connect() -> HomeAssistantSide:
        made.append(HomeAssistantSide(broker.port))
        return made[-1]

    yield connect
    for side in made:
        side.close()


@pytest.fixture
def broker(mosquitto_factory: Callable[..., RunningBroker]) -> RunningBroker:
    """A Mosquitto of the test's own: the retained messages on it are this test's only."""
    return mosquitto_factory()


@pytest.fixture
async def appliance(tmp_path: Path, broker: RunningBroker) -> AsyncIterator[Appliance]:
    """A whole appliance on SQLite, its MQTT connection pointed at the test's broker and connected."""
    app = Appliance(Settings(data_dir=tmp_path / "data", database_url=None))
    await app.start()
    try:
        await app.mqtt.save_settings({"broker": "external", "url": f"mqtt://127.0.0.1:{broker.port}"})
        await until(lambda: app.mqtt.status.state == MqttState.CONNECTED, TIMEOUT_S, "WardCam connecting to MQTT")
        yield app
    finally:
        await app.stop()
