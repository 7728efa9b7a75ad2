"""The notification system over a real, migrated database, the real bus and detections service, and local targets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.audit import AuditLog
from appliance.bus import EventBus
from appliance.db.models.cameras import Camera, Site
from appliance.detections import Detections
from appliance.notify import Notifications
from appliance.settings import Settings
from tests.appliance.notify.receivers import Mode, Receiver

# The smallest JPEG that is one: SOI, a comment with the bytes 0-255 (so that any mangling shows), EOI.
JPEG = b"\xff\xd8\xff\xfe\x01\x02" + bytes(range(256)) + b"\xff\xd9"


class Clock:
    """The rule evaluator's clock: real time unless a test sets it."""

    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def __call__(self) -> datetime:
        return self.fixed or datetime.now(UTC)


@pytest.fixture
def receivers() -> Iterator[Callable[[Mode], Receiver]]:
    """Start webhook receivers on free loopback ports; all are stopped (and hung requests released) at the end."""
    made: list[Receiver] = []

    def start(mode: Mode = "ok") -> Receiver:
        made.append(Receiver(mode=mode).start())
        return made[-1]

    yield start
    for receiver in made:
        receiver.stop()


@dataclass
class World:
    """One appliance's notification system and what feeds it."""

    data_dir: Path
    bus: EventBus
    detections: Detections
    notify: Notifications
    clock: Clock
    camera_id: int
    other_camera_id: int
    site_id: int


@pytest.fixture
async def world(db: Path) -> AsyncIterator[World]:
    """Detections and notifications started over a fresh SQLite database, with two cameras at the alley."""
    site = await Site.create(name="Hẻm 12 Nguyễn Trãi")
    camera = await Camera.create(name="Hẻm 12 – đầu hẻm", main_url="rtsp://127.0.0.1:1/a", site=site, enabled=False)
    other = await Camera.create(name="Ngã tư chợ", main_url="rtsp://127.0.0.1:1/b", enabled=False)
    bus = EventBus()
    audit = AuditLog(db / "audit-head.json")
    detections = Detections(db, bus)
    await detections.start()
    clock = Clock()
    notify = Notifications(Settings(data_dir=db, database_url=None), bus, audit, clock=clock, retry_delays_s=(0.3, 0.3))
    await notify.start()
    yield World(db, bus, detections, notify, clock, camera.id, other.id, site.id)
    await notify.stop()
    await detections.stop()
