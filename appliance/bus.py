"""The in-process event bus: typed events, published once, delivered to every subscriber.

A slow or failing subscriber never holds up the publisher or the other subscribers: each
delivery runs as its own task, and an exception is logged and counted, not raised.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened in the appliance."""

    at: datetime = field(default_factory=_now)

    @property
    def name(self) -> str:
        """Return the event's type name in snake case, as add-ons and logs see it."""
        return "".join(f"_{c.lower()}" if c.isupper() else c for c in type(self).__name__).lstrip("_")


@dataclass(frozen=True, kw_only=True)
class CameraChanged(Event):
    """A camera was created, edited or deleted in the panel or the API."""

    camera_id: int
    change: Literal["created", "updated", "deleted"]


@dataclass(frozen=True, kw_only=True)
class CameraOnline(Event):
    """A camera that was offline records again."""

    camera_id: int


@dataclass(frozen=True, kw_only=True)
class CameraOffline(Event):
    """A camera has sent nothing for longer than the offline setting."""

    camera_id: int
    since: datetime


@dataclass(frozen=True, kw_only=True)
class SegmentClosed(Event):
    """A recording segment was closed and indexed."""

    camera_id: int
    path: str
    start: datetime
    duration_s: float
    size: int


@dataclass(frozen=True, kw_only=True)
class Detection(Event):
    """A detection was stored or changed: something seen on a camera (a person, a motorbike, motion, ...).

    Published after the database commit, once per report: `phase` is the report's ("new", "update",
    "end") or "snapshot" when its picture was saved; `created` is True only for the report that made
    the row, whatever its phase (an "end" may come first). `score` is the highest seen so far.
    """

    detection_id: int
    camera_id: int | None
    label: str
    sub_label: str = ""
    score: float = 0.0
    source: str = ""
    zones: tuple[str, ...] = ()
    snapshot_path: str = ""
    external_id: str = ""
    start: datetime = field(default_factory=_now)
    end: datetime | None = None
    phase: Literal["new", "update", "end", "snapshot"] = "new"
    created: bool = False

    @property
    def ended(self) -> bool:
        """Return whether the detection is over."""
        return self.end is not None


@dataclass(frozen=True, kw_only=True)
class DiskWarning(Event):
    """The recordings volume is short of space, or the disk guard had to delete early."""

    free_bytes: int
    total_bytes: int
    reason: Literal["low_space", "guard_deleted", "only_locked_left"]


@dataclass(frozen=True, kw_only=True)
class BackupFailed(Event):
    """A scheduled backup could not be written; `reason` is a translation key."""

    target: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RequestStateChanged(Event):
    """A footage request moved to a new state."""

    request_id: int
    state: str


E = TypeVar("E", bound=Event)
Handler = Callable[[Any], Awaitable[None] | None]


class EventBus:
    """Deliver each published event to the subscribers of its type (and of Event, for all)."""

    def __init__(self) -> None:
        self._subscribers: dict[type[Event], list[Handler]] = defaultdict(list)
        self._tasks: set[asyncio.Task[None]] = set()
        self.failures = 0

    def subscribe(self, event_type: type[E], handler: Callable[[E], Awaitable[None] | None]) -> Callable[[], None]:
        """Call handler for every event of this type; return a function that unsubscribes."""
        self._subscribers[event_type].append(handler)

        def unsubscribe() -> None:
            if handler in self._subscribers[event_type]:
                self._subscribers[event_type].remove(handler)

        return unsubscribe

    def publish(self, event: Event) -> None:
        """Hand the event to every subscriber, without waiting for them."""
        for event_type in type(event).__mro__:
            for handler in list(self._subscribers.get(event_type, ())):
                task = asyncio.get_running_loop().create_task(self._deliver(handler, event))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _deliver(self, handler: Handler, event: Event) -> None:
        try:
            result = handler(event)
            if inspect.isawaitable(result):
                await result
        except Exception:
            self.failures += 1
            log.exception("event handler %r failed on %s", handler, event.name)

    async def drain(self) -> None:
        """Wait until every delivery in flight has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
