"""The running bridge: WardCam's cameras, their state and pictures, kept in step with Home Assistant over MQTT.

Everything goes through `ctx.mqtt`. Discovery messages and states are retained, so that a Home
Assistant that starts later (or restarts) finds them on the broker; they are published again
whenever the connection comes up and whenever Home Assistant says it is back (`homeassistant/status`
= `online`). Bus events change the state: CameraChanged (device added, renamed or removed),
CameraOnline/CameraOffline (the online sensor), Detection (the motion and person sensors).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from addons.homeassistant.config import HomeAssistantOptions
from addons.homeassistant.discovery import OFF, OFFLINE, ON, ONLINE, CameraInfo, Discovery
from appliance.addons.context import AddonContext
from appliance.bus import CameraChanged, CameraOffline, CameraOnline, Detection, Event
from appliance.db.models.cameras import Camera
from appliance.mqtt import MqttStatus
from appliance.mqtt.service import AVAILABILITY

SENSOR_LABELS = {"person": "person", "motion": "motion"}  # detection label -> binary sensor
EXPIRY_EVERY_S = 1.0
SNAPSHOT_WAIT_S = 2.0
SNAPSHOTS_AT_ONCE = 4


@dataclass
class BridgeStats:
    """What the status page shows."""

    devices: int = 0
    last_published: datetime | None = None
    last_birth: datetime | None = None
    snapshots_sent: int = 0


def camera_info(camera: Camera) -> CameraInfo:
    """Return what Home Assistant is told about a camera row (its site fetched)."""
    model = ""
    if camera.stream_video_codec:
        size = f" {camera.stream_width}x{camera.stream_height}" if camera.stream_width else ""
        model = f"{camera.stream_video_codec.upper()}{size}"
    site = camera.site.name if camera.site is not None else ""
    return CameraInfo(id=camera.id, name=camera.name, site=site, model=model, enabled=camera.enabled)


async def load_cameras(ctx: AddonContext, options: HomeAssistantOptions) -> dict[int, CameraInfo]:
    """Read the cameras the options include."""
    rows = await ctx.cameras.list_cameras()
    return {row.id: camera_info(row) for row in rows if options.includes(row.id)}


class PublishedTopics:
    """The retained topics this box last published, kept in the add-on's folder.

    A camera deleted while the add-on was stopped, left out of the options, or a discovery prefix
    changed: whatever was published before and is not published now is removed at the next
    publication, so nothing stale stays on the broker.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> set[str]:
        """Return the topics recorded last time (none when the file is missing or unreadable)."""
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return set()
        return {t for t in data.get("topics", []) if isinstance(t, str)} if isinstance(data, dict) else set()

    def write(self, topics: set[str]) -> None:
        """Record the topics published now."""
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"topics": sorted(topics)}, indent=1))
        tmp.replace(self.path)


class Bridge:
    """Publish WardCam's cameras to Home Assistant and keep their entities' states current."""

    def __init__(self, ctx: AddonContext, options: HomeAssistantOptions, box_id: str) -> None:
        self.ctx = ctx
        self.options = options
        self.box_id = box_id
        self.stats = BridgeStats()
        self.cameras: dict[int, CameraInfo] = {}
        self.online: dict[int, bool] = {}
        # (camera id, "motion" | "person") -> {detection id: when it counts as over if nothing more is heard}
        self.active: dict[tuple[int, str], dict[int, float]] = {}
        self.published = PublishedTopics(ctx.data_dir / "published.json")
        self._lock = asyncio.Lock()  # events and publications one at a time, in the order they came
        self._snapshot_failures: set[int] = set()
        self._last_picture: dict[int, bytes] = {}  # digest of the last picture sent, per camera

    @property
    def discovery(self) -> Discovery:
        """Return the message builder for the current options and MQTT base topic."""
        mqtt = self.ctx.mqtt
        return Discovery(prefix=self.options.discovery_prefix, box_id=self.box_id, base_topic=mqtt.base_topic,
                         appliance_availability=mqtt.topic(AVAILABILITY),
                         addon_availability=mqtt.topic("homeassistant", AVAILABILITY),
                         language=self.options.language)  # fmt: skip

    # lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Read the cameras, follow Home Assistant's status and the connection, start the timers."""
        self.cameras = await load_cameras(self.ctx, self.options)
        self.online = {camera.id: self.ctx.camera_online(camera.id) for camera in self.cameras.values()}
        stack = self.ctx.stack
        stack.callback(self.ctx.mqtt.subscribe(self.options.status_topic, self._home_assistant_status))
        stack.callback(self.ctx.mqtt.add_listener(self._connection_changed))
        self._start_task(self._expire_loop(), "expiry")
        if self.options.snapshot_interval_s > 0:
            self._start_task(self._snapshot_loop(), "snapshots")
        if self.ctx.mqtt.status.connected:  # otherwise the listener publishes once connected
            await self.publish_all()

    async def stop(self) -> None:
        """Say that this add-on no longer speaks for the cameras; their discovery stays retained."""
        mqtt = self.ctx.mqtt  # waits for the broker's answer only when there is a broker to answer
        await mqtt.publish(self.discovery.addon_availability, OFFLINE, retain=True, wait=mqtt.status.connected,
                           timeout_s=2)  # fmt: skip

    def _start_task(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run a loop until the add-on stops."""
        task = asyncio.get_running_loop().create_task(coro, name=f"homeassistant {name}")

        async def cancel() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        self.ctx.stack.push_async_callback(cancel)

    # publishing ------------------------------------------------------------------------------

    async def publish_all(self) -> None:
        """Publish every included camera's discovery and state, and remove what is no longer published."""
        async with self._lock:
            d = self.discovery
            self._last_picture.clear()  # a Home Assistant that just started has no picture yet
            await self.ctx.mqtt.publish(d.addon_availability, ONLINE, retain=True)
            now: set[str] = set()
            for camera in self.cameras.values():
                now |= await self._publish_camera(camera)
            for topic in sorted(self.published.read() - now):
                await self.ctx.mqtt.publish(topic, b"", retain=True)
            self.published.write(now)
            self.stats.devices = len(self.cameras)
            self.stats.last_published = datetime.now(UTC)
            self.ctx.log.info("published %d camera(s) to Home Assistant under %s/", len(self.cameras), d.prefix)

    async def _publish_camera(self, camera: CameraInfo) -> set[str]:
        """Publish one camera's discovery messages and states; return the retained topics written."""
        d = self.discovery
        topics = d.topics(camera.id)
        for topic, payload in d.configs(camera).items():
            await self.ctx.mqtt.publish(topic, json.dumps(payload, ensure_ascii=False), retain=True)
        await self.ctx.mqtt.publish(topics.status, ONLINE if self.online.get(camera.id) else OFFLINE, retain=True)
        await self.ctx.mqtt.publish(topics.motion, ON if self.active.get((camera.id, "motion")) else OFF, retain=True)
        await self.ctx.mqtt.publish(topics.person, ON if self.active.get((camera.id, "person")) else OFF, retain=True)
        return {*d.config_topics(camera.id), *topics.retained()}

    async def _remove_camera(self, camera_id: int) -> None:
        """Remove a camera's entities from Home Assistant: empty retained messages on its topics."""
        d = self.discovery
        removed = {*d.config_topics(camera_id), *d.topics(camera_id).retained()}
        for topic in sorted(removed):
            await self.ctx.mqtt.publish(topic, b"", retain=True)
        self.published.write(self.published.read() - removed)
        self.stats.devices = len(self.cameras)

    async def _set_sensor(self, camera_id: int, sensor: str, on: bool) -> None:
        topics = self.discovery.topics(camera_id)
        await self.ctx.mqtt.publish(topics.person if sensor == "person" else topics.motion, ON if on else OFF,
                                    retain=True)  # fmt: skip

    # what happens ----------------------------------------------------------------------------

    async def handle(self, event: Event) -> None:
        """Apply one bus event, in the order events came."""
        async with self._lock:
            if isinstance(event, CameraChanged):
                await self._camera_changed(event)
            elif isinstance(event, CameraOnline | CameraOffline):
                await self._camera_online(event.camera_id, isinstance(event, CameraOnline))
            elif isinstance(event, Detection):
                await self._detection(event)

    async def _camera_changed(self, event: CameraChanged) -> None:
        camera_id = event.camera_id
        row = None if event.change == "deleted" else await self.ctx.cameras.get_camera(camera_id)
        if row is None or not self.options.includes(camera_id):
            if self.cameras.pop(camera_id, None) is not None or event.change == "deleted":
                self.online.pop(camera_id, None)
                self._last_picture.pop(camera_id, None)
                for sensor in SENSOR_LABELS.values():
                    self.active.pop((camera_id, sensor), None)
                await self._remove_camera(camera_id)
                self.ctx.log.info("camera %d removed from Home Assistant", camera_id)
            return
        camera = camera_info(row)
        before = self.cameras.get(camera_id)
        if before is None or before.enabled != camera.enabled:
            self.online[camera_id] = camera.enabled  # the recorder announces CameraOffline if it fails
        self.cameras[camera_id] = camera
        written = await self._publish_camera(camera)
        self.published.write(self.published.read() | written)
        self.stats.devices = len(self.cameras)

    async def _camera_online(self, camera_id: int, online: bool) -> None:
        if camera_id not in self.cameras:
            return
        self.online[camera_id] = online
        await self.ctx.mqtt.publish(self.discovery.topics(camera_id).status, ONLINE if online else OFFLINE,
                                    retain=True)  # fmt: skip

    async def _detection(self, event: Detection) -> None:
        sensor = SENSOR_LABELS.get(event.label)
        if sensor is None or event.camera_id is None or event.camera_id not in self.cameras:
            return
        active = self.active.setdefault((event.camera_id, sensor), {})
        was_on = bool(active)
        if event.end is None:
            active[event.detection_id] = time.monotonic() + self.options.detection_timeout_s
            if not was_on:
                await self._set_sensor(event.camera_id, sensor, True)
        elif active.pop(event.detection_id, None) is not None:
            if not active:
                await self._set_sensor(event.camera_id, sensor, False)
        elif event.created and not was_on:  # began and ended in one report: still show that it happened
            await self._set_sensor(event.camera_id, sensor, True)
            await self._set_sensor(event.camera_id, sensor, False)

    async def _expire(self) -> None:
        """Turn a sensor off when its detections were not heard of for the detection timeout."""
        async with self._lock:
            now = time.monotonic()
            for (camera_id, sensor), active in self.active.items():
                expired = [d for d, until in active.items() if until <= now]
                for detection_id in expired:
                    del active[detection_id]
                if expired and not active:
                    self.ctx.log.info("camera %d: %s detection not ended after %d s; turned off", camera_id, sensor,
                                      self.options.detection_timeout_s)  # fmt: skip
                    await self._set_sensor(camera_id, sensor, False)

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(EXPIRY_EVERY_S)
            await self._expire()

    # Home Assistant and the connection -------------------------------------------------------

    async def _home_assistant_status(self, topic: str, payload: bytes) -> None:
        """Publish everything again when Home Assistant comes back (its birth message)."""
        if payload.strip() != ONLINE.encode():
            return
        self.stats.last_birth = datetime.now(UTC)
        self.ctx.log.info("Home Assistant is online; publishing the cameras again")
        await self.publish_all()

    async def _connection_changed(self, status: MqttStatus) -> None:
        """Publish everything once connected: a new broker, or one that lost its retained messages."""
        if status.connected:
            await self.publish_all()

    # pictures --------------------------------------------------------------------------------

    async def _snapshot_loop(self) -> None:
        """Every interval, publish each online camera's newest picture (not retained, QoS 0)."""
        at_once = asyncio.Semaphore(SNAPSHOTS_AT_ONCE)

        async def one(camera_id: int) -> None:
            async with at_once:
                await self._snapshot(camera_id)

        while True:
            started = time.monotonic()
            if self.ctx.mqtt.status.connected:
                ids = [c for c in self.cameras if self.online.get(c)]
                await asyncio.gather(*(one(camera_id) for camera_id in ids))
            await asyncio.sleep(max(0.0, self.options.snapshot_interval_s - (time.monotonic() - started)))

    async def _snapshot(self, camera_id: int) -> None:
        try:
            jpeg = await self.ctx.latest_jpeg(camera_id, wait_s=SNAPSHOT_WAIT_S)
        except Exception as exc:  # a camera's picture must never stop the others' or the loop
            if camera_id not in self._snapshot_failures:
                self._snapshot_failures.add(camera_id)
                self.ctx.log.warning("camera %d: no picture for Home Assistant: %r", camera_id, exc)
            return
        if jpeg is None or camera_id not in self.cameras:
            return
        self._snapshot_failures.discard(camera_id)
        digest = hashlib.blake2b(jpeg, digest_size=16).digest()
        if self._last_picture.get(camera_id) == digest:  # the same picture again: the camera sent nothing new
            return
        if await self.ctx.mqtt.publish(self.discovery.topics(camera_id).snapshot, jpeg, qos=0):
            self._last_picture[camera_id] = digest
            self.stats.snapshots_sent += 1
