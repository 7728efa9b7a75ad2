"""Frigate's MQTT messages in, detections out: events stored, reviews, availability and camera health noted.

Each message is read by the pure parsers in events.py; anything they cannot use is counted with
ctx.mqtt.count_malformed (logged at most once a minute) and skipped, so a bad payload never stops
the consumer. Events are stored through ctx.detections.report, which batches writes: the handler
does not wait for each commit (that would cap a subscription at one batch per message), but hands
the report to a task, with at most IN_FLIGHT outstanding so that a flood holds the subscription's
own queue back instead of growing memory. Storing is idempotent per Frigate event id; repeated,
out-of-order and missing messages are merged by the store.

Unknown Frigate cameras are stored too, with no WardCam camera (camera_id None) and Frigate's name
in source_camera, so that nothing seen is lost; linking the camera on the add-on's page later
applies to new messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from addons.frigate.events import (
    FrigateEvent,
    Malformed,
    parse_available,
    parse_camera_status,
    parse_event,
    parse_review,
    to_report,
)
from addons.frigate.mapping import CameraMap
from addons.frigate.snapshots import SnapshotFetcher
from addons.frigate.state import FrigateState, now
from appliance.detections import DetectionReport
from appliance.mqtt import MqttService

log = logging.getLogger(__name__)

IN_FLIGHT = 2000  # reports handed to the store and not yet committed
REMEMBERED = 10_000  # event ids whose snapshot was asked for
STOP_WAIT_S = 5.0
LOG_EVERY_S = 60.0

Report = Callable[[DetectionReport], Awaitable[int]]


class FrigateConsumer:
    """Subscribe to Frigate's topics and turn its messages into detections and state."""

    def __init__(self, mqtt: MqttService, report: Report, cameras: CameraMap, state: FrigateState, prefix: str,
                 snapshots: SnapshotFetcher | None = None) -> None:  # fmt: skip
        self.mqtt = mqtt
        self.report = report
        self.cameras = cameras
        self.state = state
        self.prefix = prefix
        self.snapshots = snapshots
        self._slots = asyncio.Semaphore(IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._asked: OrderedDict[tuple[str, bool], None] = OrderedDict()
        self._last_failure_log = -LOG_EVERY_S

    def subscribe(self) -> list[Callable[[], None]]:
        """Subscribe to events, reviews, availability and camera health; return the unsubscribe functions."""
        p = self.prefix
        return [
            self.mqtt.subscribe(f"{p}/events", self.on_event),
            self.mqtt.subscribe(f"{p}/reviews", self.on_review),
            self.mqtt.subscribe(f"{p}/available", self.on_available),
            self.mqtt.subscribe(f"{p}/+/status/+", self.on_status),
        ]

    async def stop(self) -> None:
        """Let the reports in flight be committed (a few seconds at most), then give up on the rest."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=STOP_WAIT_S)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def idle(self) -> None:
        """Wait until every report handed over is committed."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- handlers ---------------------------------------------------------------------------

    async def on_event(self, topic: str, payload: bytes) -> None:
        """Store one `frigate/events` message as a detection report."""
        self.state.events_received += 1
        event = parse_event(payload)
        if isinstance(event, Malformed):
            self._malformed(topic, event.why)
            return
        if event.false_positive:
            self.state.false_positives += 1
            return
        report = to_report(event, self.cameras.camera_id(event.camera))
        if isinstance(report, Malformed):
            self._malformed(topic, report.why)
            return
        entry = self.state.camera(event.camera)
        if entry is not None:
            entry.last_event = now()
        await self._slots.acquire()
        task = asyncio.get_running_loop().create_task(self._store(event, report), name=f"frigate {event.id}")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    async def on_review(self, topic: str, payload: bytes) -> None:
        """Note a `frigate/reviews` message: the camera's latest alert or detection."""
        review = parse_review(payload)
        if isinstance(review, Malformed):
            self._malformed(topic, review.why)
            return
        self.state.reviews_received += 1
        entry = self.state.camera(review.camera)
        if entry is not None:
            entry.last_review = review

    async def on_available(self, topic: str, payload: bytes) -> None:
        """Note `frigate/available`: online or offline."""
        available = parse_available(payload)
        if isinstance(available, Malformed):
            self._malformed(topic, available.why)
            return
        self.state.set_available(available)

    async def on_status(self, topic: str, payload: bytes) -> None:
        """Note `frigate/<camera>/status/<role>`: online, offline or disabled."""
        status = parse_camera_status(self.prefix, topic, payload)
        if isinstance(status, Malformed):
            self._malformed(topic, status.why)
            return
        entry = self.state.camera(status.camera)
        if entry is not None:
            entry.status[status.role] = status.state

    # --- internals --------------------------------------------------------------------------

    async def _store(self, event: FrigateEvent, report: DetectionReport) -> None:
        try:
            detection_id = await self.report(report)
        except Exception as exc:  # the database failed this batch; the consumer goes on
            self.state.store_failures += 1
            if time.monotonic() - self._last_failure_log >= LOG_EVERY_S:
                self._last_failure_log = time.monotonic()
                log.warning("Frigate event %s not stored: %s (%d failures so far)", event.id, exc,
                            self.state.store_failures)  # fmt: skip
            return
        self.state.events_stored += 1
        if self.snapshots is not None and event.has_snapshot and self._first_ask(event):
            self.snapshots.want(detection_id, event.id)

    def _first_ask(self, event: FrigateEvent) -> bool:
        """Return whether this event's snapshot is still to be asked for: once while live, once more at its end."""
        key = (event.id, event.type == "end" or event.end_time is not None)
        if key in self._asked:
            return False
        self._asked[key] = None
        if len(self._asked) > REMEMBERED:
            self._asked.popitem(last=False)
        return True

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    def _malformed(self, topic: str, why: str) -> None:
        self.state.malformed += 1
        self.mqtt.count_malformed(topic, why)
