"""Keep a local copy of each detection's snapshot: fetched from Frigate in the background, retried a few times.

Frigate may delete its snapshots sooner than WardCam keeps the detection, so each one is copied
through the client (GET /api/events/{id}/snapshot.jpg) and stored with ctx.detections.attach_snapshot.
The MQTT consumer only queues a request (never waits for Frigate); a few workers fetch. A failed
fetch is tried again after 1, 3 and 10 s (Frigate may still be writing the file, or be restarting);
a full queue drops the request and counts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from addons.frigate.errors import FrigateProblem
from appliance.detections import SnapshotRefused
from appliance.errors import WardCamError

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (1.0, 3.0, 10.0)
QUEUE_SIZE = 1000
WORKERS = 2
LOG_EVERY_S = 60.0

Fetch = Callable[[str], Awaitable[bytes]]
Attach = Callable[[int, bytes], Awaitable[str]]


@dataclass(frozen=True)
class _Job:
    detection_id: int
    event_id: str
    attempt: int = 0


@dataclass
class SnapshotCounts:
    """What the fetcher has done, for the add-on's page."""

    kept: int = 0
    failed: int = 0  # given up after every retry, or refused as not a JPEG
    dropped: int = 0  # the queue was full


class SnapshotFetcher:
    """Fetch snapshots from Frigate and keep them, off the MQTT consumer's path."""

    def __init__(self, fetch: Fetch, attach: Attach, *, delays: tuple[float, ...] = RETRY_DELAYS_S,
                 workers: int = WORKERS, queue_size: int = QUEUE_SIZE) -> None:  # fmt: skip
        self._fetch = fetch
        self._attach = attach
        self._delays = delays
        self._workers = workers
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(queue_size)
        self._pending: set[str] = set()  # event ids queued or waiting for a retry
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_log = -LOG_EVERY_S
        self.counts = SnapshotCounts()

    def start(self) -> None:
        """Start the workers."""
        for n in range(self._workers):
            self._spawn(self._work(), f"frigate snapshots {n}")

    async def stop(self) -> None:
        """Stop the workers and forget what is queued."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def want(self, detection_id: int, event_id: str) -> bool:
        """Ask for an event's snapshot; return False when it could not be queued. Never waits."""
        if event_id in self._pending:
            return True  # the queued fetch gets the newest picture anyway
        try:
            self._queue.put_nowait(_Job(detection_id, event_id))
        except asyncio.QueueFull:
            self.counts.dropped += 1
            self._warn("snapshot queue full; %d snapshots not fetched so far", self.counts.dropped)
            return False
        self._pending.add(event_id)
        return True

    @property
    def waiting(self) -> int:
        """Return how many snapshots are queued or waiting for a retry."""
        return len(self._pending)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._one(job)
            except Exception:  # a bug here must not stop the worker
                self.counts.failed += 1
                self._pending.discard(job.event_id)
                log.exception("snapshot of Frigate event %s: unexpected failure", job.event_id)

    async def _one(self, job: _Job) -> None:
        try:
            jpeg = await self._fetch(job.event_id)
            await self._attach(job.detection_id, jpeg)
        except SnapshotRefused:
            self._give_up(job, "not a JPEG")
            return
        except FrigateProblem as exc:
            if job.attempt < len(self._delays):
                self._spawn(self._retry(job, self._delays[job.attempt]), f"frigate snapshot retry {job.event_id}")
                return
            self._give_up(job, exc.key)
            return
        except WardCamError as exc:  # the detection is gone (deleted meanwhile), or the like
            self._give_up(job, exc.key)
            return
        self.counts.kept += 1
        self._pending.discard(job.event_id)

    async def _retry(self, job: _Job, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._queue.put(_Job(job.detection_id, job.event_id, job.attempt + 1))

    def _give_up(self, job: _Job, why: str) -> None:
        self.counts.failed += 1
        self._pending.discard(job.event_id)
        self._warn("snapshot of Frigate event %s not kept: %s", job.event_id, why)

    def _warn(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_log >= LOG_EVERY_S:
            self._last_log = now
            log.warning(message, *args)
