"""Home Assistant's side of the broker, played by a plain MQTT client, and what a test does as staff."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from appliance.app import Appliance
from appliance.auth.principal import Principal
from appliance.cameras import CameraInput, SiteInput
from appliance.db.models.cameras import Camera
from appliance.db.models.users import Role
from appliance.demo.cameras import BlockingSyntheticCameras
from tests.harness.waiting import until

ADMIN = Principal(user_id=1, username="admin", display_name="", role=Role.ADMIN, language="vi")
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Message:
    """One message as a subscriber got it."""

    topic: str
    payload: bytes
    retain: bool


class HomeAssistantSide:
    """A plain paho client (MQTT 3.1.1, as Home Assistant's) that keeps every message it receives."""

    def __init__(self, port: int) -> None:
        self._lock = threading.Lock()
        self._messages: list[Message] = []
        self._acks: queue.Queue[int] = queue.Queue()
        connected = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.on_connect = lambda c, u, flags, reason, props: connected.set()
        self.client.on_subscribe = lambda c, u, mid, reasons, props: self._acks.put(mid)
        self.client.on_message = self._keep
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        assert connected.wait(TIMEOUT_S), "the Home Assistant side could not connect"

    def _keep(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self._messages.append(Message(message.topic, bytes(message.payload), bool(message.retain)))

    def subscribe(self, *filters: str) -> None:
        """Subscribe and wait for the broker's SUBACK."""
        _, mid = self.client.subscribe([(f, 1) for f in filters])
        assert self._acks.get(timeout=TIMEOUT_S) == mid, "no SUBACK"

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """Publish as Home Assistant would (its birth message, say)."""
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(TIMEOUT_S)

    def messages(self, topic: str | None = None) -> list[Message]:
        """Return what came so far, on one topic or on all, in order."""
        with self._lock:
            return [m for m in self._messages if topic is None or m.topic == topic]

    def latest(self, topic: str) -> Message | None:
        """Return the last message on a topic."""
        got = self.messages(topic)
        return got[-1] if got else None

    def forget(self) -> None:
        """Drop what came so far."""
        with self._lock:
            self._messages.clear()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def add_cameras(app: Appliance, cams: BlockingSyntheticCameras, names: list[str], site: str = "") -> list[Camera]:
    """Add cameras as an admin does on the Cameras page, one RTSP test stream each, at a site if named."""
    site_id = (await app.cameras.create_site(SiteInput(name=site), who=ADMIN)).id if site else None
    return [
        await app.cameras.create_camera(CameraInput(name=name, main_url=url, site_id=site_id), who=ADMIN)
        for name, url in zip(names, cams.urls, strict=False)
    ]


async def enable(app: Appliance, **options: object) -> None:
    """Set the add-on's options and enable it, as staff do on the Add-ons page."""
    await app.addons.configure("homeassistant", dict(options))
    addon = await app.addons.enable("homeassistant")
    assert addon.running, addon.error


async def arrives(check: Callable[[], object], what: str, within_s: float = TIMEOUT_S) -> None:
    """Wait for something a subscriber should see."""
    await until(check, within_s, what)
