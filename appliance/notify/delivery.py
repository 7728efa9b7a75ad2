"""The delivery queue: every message to every target is a row first, then sent, retried, and logged.

- A row (NotificationDelivery) is written before anything is sent, so a message waiting for a try,
  or for a retry, survives a restart: start() takes up every pending row again.
- Each target has its own queue and workers (and its own threads in the Sender), so a slow or failing
  target never holds up another.
- A failed try is retried after a backoff (5 s, then 30 s by default); after 3 tries the row is failed.
  Waiting for a retry holds no worker: the row is put back on its target's queue when its time comes.
- The rows are also the delivery log (time, rule, target, result, error).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from appliance.db.models.notify import DeliveryState, NotificationDelivery, NotificationTarget
from appliance.notify.sender import Outcome, Sender

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
RETRY_DELAYS_S: tuple[float, ...] = (5.0, 30.0)
WORKERS_PER_TARGET = 2
KEEP_LOG_DAYS = 30


@dataclass
class TargetFigures:
    """What one target has done since the start, for the metrics."""

    name: str = ""
    sent: int = 0
    failed: int = 0  # given up after every try
    failed_attempts: int = 0
    last_latency_s: float | None = None
    last_error_key: str = ""


@dataclass
class _TargetLane:
    queue: asyncio.Queue[int] = field(default_factory=asyncio.Queue)
    workers: list[asyncio.Task[None]] = field(default_factory=list)


class DeliveryQueue:
    """Persisted deliveries: sent per target in parallel, retried with backoff, kept as the log."""

    def __init__(self, data_dir: Path, sender: Sender, max_attempts: int = MAX_ATTEMPTS,
                 retry_delays_s: Sequence[float] = RETRY_DELAYS_S) -> None:  # fmt: skip
        self.data_dir = data_dir
        self.sender = sender
        self.max_attempts = max_attempts
        self.retry_delays_s = tuple(retry_delays_s)
        self.figures: dict[int, TargetFigures] = defaultdict(TargetFigures)
        self._lanes: dict[int, _TargetLane] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._queued: set[int] = set()
        self._running = False

    async def start(self) -> None:
        """Take up every delivery still pending (from before a restart), each at its time."""
        self._running = True
        await (
            NotificationDelivery.filter(created_at__lt=datetime.now(UTC) - timedelta(days=KEEP_LOG_DAYS))
            .exclude(state=DeliveryState.PENDING)
            .delete()
        )
        pending = await NotificationDelivery.filter(state=DeliveryState.PENDING).order_by("id")
        for row in pending:
            self._schedule(row.id, row.target_id, row.next_attempt_at)
        if pending:
            log.info("notifications: %d deliveries pending from before, taken up again", len(pending))

    async def stop(self) -> None:
        """Stop sending; what is not sent stays pending in the database for the next start."""
        self._running = False
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        workers = [task for lane in self._lanes.values() for task in lane.workers]
        for task in workers:
            task.cancel()
        if workers:
            await asyncio.wait(workers, timeout=5)
        self._lanes.clear()
        self._queued.clear()

    async def add(self, rows: Sequence[NotificationDelivery]) -> None:
        """Queue new deliveries (already written) for sending at once."""
        for row in rows:
            self._schedule(row.id, row.target_id, row.next_attempt_at)

    def pending_count(self) -> int:
        """Return how many deliveries wait in memory (queued or waiting for a retry)."""
        return len(self._queued) + len(self._timers)

    # internals ------------------------------------------------------------------------------------

    def _schedule(self, delivery_id: int, target_id: int | None, at: datetime) -> None:
        if not self._running:
            return
        delay = (at - datetime.now(UTC)).total_seconds()
        if delay <= 0:
            self._enqueue(delivery_id, target_id)
            return
        loop = asyncio.get_running_loop()
        self._timers[delivery_id] = loop.call_later(delay, self._due, delivery_id, target_id)

    def _due(self, delivery_id: int, target_id: int | None) -> None:
        self._timers.pop(delivery_id, None)
        self._enqueue(delivery_id, target_id)

    def _enqueue(self, delivery_id: int, target_id: int | None) -> None:
        if not self._running or delivery_id in self._queued:
            return
        lane_key = target_id or 0
        lane = self._lanes.get(lane_key)
        if lane is None:
            lane = self._lanes[lane_key] = _TargetLane()
            loop = asyncio.get_running_loop()
            lane.workers = [loop.create_task(self._work(lane), name=f"notify-target-{lane_key}")
                            for _ in range(WORKERS_PER_TARGET)]  # fmt: skip
        self._queued.add(delivery_id)
        lane.queue.put_nowait(delivery_id)

    async def _work(self, lane: _TargetLane) -> None:
        while True:
            delivery_id = await lane.queue.get()
            try:
                await self._attempt(delivery_id)
            except asyncio.CancelledError:
                raise
            except Exception:  # one broken row must not stop the target's worker
                log.exception("notifications: delivery %d could not be processed", delivery_id)
            finally:
                self._queued.discard(delivery_id)

    async def _attempt(self, delivery_id: int) -> None:
        row = await NotificationDelivery.get_or_none(id=delivery_id)
        if row is None or row.state != DeliveryState.PENDING:
            return
        target = await NotificationTarget.get_or_none(id=row.target_id) if row.target_id else None
        if target is None:
            await self._finish(row, Outcome(False, "notify.error.target_gone"), give_up=True)
            return
        if not target.enabled:
            await self._finish(row, Outcome(False, "notify.error.target_disabled"), give_up=True)
            return
        figures = self.figures[target.id]
        figures.name = target.name
        attachment = (self.data_dir / row.attachment) if row.attachment else None
        outcome = await self.sender.send(target.id, target.url, row.title, row.body, attachment)
        row.attempts += 1
        if outcome.ok:
            figures.sent += 1
            figures.last_latency_s = (datetime.now(UTC) - row.event_at).total_seconds()
            await self._finish(row, outcome, give_up=False)
            return
        figures.failed_attempts += 1
        figures.last_error_key = outcome.error_key
        if row.attempts >= self.max_attempts:
            figures.failed += 1
            log.warning("notifications: delivery %d to %s failed after %d tries: %s", row.id, target.name,
                        row.attempts, outcome.error_key)  # fmt: skip
            await self._finish(row, outcome, give_up=True)
            return
        delay = self.retry_delays_s[min(row.attempts - 1, len(self.retry_delays_s) - 1)]
        row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
        row.error_key, row.error_detail = outcome.error_key, _detail(outcome)
        await row.save(update_fields=["attempts", "next_attempt_at", "error_key", "error_detail"])
        log.info("notifications: delivery %d to %s failed (%s); try %d in %.0f s", row.id, target.name,
                 outcome.error_key, row.attempts + 1, delay)  # fmt: skip
        self._schedule(row.id, row.target_id, row.next_attempt_at)

    async def _finish(self, row: NotificationDelivery, outcome: Outcome, give_up: bool) -> None:
        row.state = DeliveryState.SENT if outcome.ok else DeliveryState.FAILED
        row.finished_at = datetime.now(UTC)
        row.error_key = "" if outcome.ok else outcome.error_key
        row.error_detail = "" if outcome.ok else _detail(outcome)
        await row.save(update_fields=["state", "finished_at", "error_key", "error_detail", "attempts"])


def _detail(outcome: Outcome) -> str:
    """Return what is kept of a failure beside its key: its parameters and the service's words."""
    params = " ".join(f"{k}={v}" for k, v in outcome.params.items() if k != "detail")
    return f"{params} {outcome.detail}".strip()[:500]
