"""Retention: delete footage older than each camera's days, and keep a minimum of free disk, oldest first.

Segments under an evidence lock are never deleted. If only locked footage is left and the disk is
still short, a `disk_full` warning goes out and recording goes on with what space there is.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tortoise.expressions import Q

from appliance.bus import DiskWarning, EventBus
from appliance.db.models.cameras import Camera
from appliance.db.models.recordings import EvidenceLock, Segment

log = logging.getLogger(__name__)

BATCH = 200
ORPHAN_DAYS = 30  # recordings kept after their camera was deleted


@dataclass(frozen=True)
class Usage:
    """Space on the recordings volume."""

    total: int
    free: int


@dataclass
class RetentionSummary:
    """What one pass deleted, for the log and the System page."""

    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    deleted_by_age: int = 0
    deleted_by_guard: int = 0
    freed_bytes: int = 0
    kept_locked: int = 0
    only_locked_left: bool = False


UsageReader = Callable[[], Usage]
PassListener = Callable[[RetentionSummary], Awaitable[None]]


def volume_usage(path: Path, limit_bytes: int | None = None) -> UsageReader:
    """Read the volume's space; with a limit, treat the volume as that big (tests, or a shared disk)."""

    def read() -> Usage:
        disk = shutil.disk_usage(path)
        if limit_bytes is None:
            return Usage(disk.total, disk.free)
        used = sum(p.stat().st_size for p in path.rglob("*.mp4"))
        return Usage(limit_bytes, max(0, min(disk.free, limit_bytes - used)))

    return read


async def locked(segment: Segment, now: datetime) -> bool:
    """Return whether an evidence lock covers any part of the segment."""
    return await EvidenceLock.filter(
        Q(until__isnull=True) | Q(until__gt=now),
        camera_id=segment.camera_id, start__lt=segment.end, end__gt=segment.start,
    ).exists()  # fmt: skip


class Retention:
    """Run retention passes over the recordings folder."""

    def __init__(self, recordings_dir: Path, bus: EventBus, usage: UsageReader, min_free_pct: float = 10.0) -> None:
        self.dir = recordings_dir
        self.bus = bus
        self.usage = usage
        self.min_free_pct = min_free_pct
        self.last: RetentionSummary | None = None
        self.on_pass: list[PassListener] = []  # told of every finished pass (the System page keeps it)

    async def run_once(self, now: datetime | None = None) -> RetentionSummary:
        """Delete what is too old, then what the disk guard needs, oldest first; never locked footage."""
        now = now or datetime.now(UTC)
        summary = RetentionSummary(at=now)
        days = {camera.id: camera.retention_days for camera in await Camera.all()}
        oldest_kept = now - timedelta(days=min([*days.values(), ORPHAN_DAYS]))
        for segment in await Segment.filter(end__lt=oldest_kept).order_by("start"):
            # a deleted camera's kept recordings follow the default days
            if segment.end >= now - timedelta(days=days.get(segment.camera_id or 0, ORPHAN_DAYS)):
                continue
            if await locked(segment, now):
                summary.kept_locked += 1
                continue
            summary.freed_bytes += await self._delete(segment)
            summary.deleted_by_age += 1
        await self._guard(summary, now)
        if summary.deleted_by_age or summary.deleted_by_guard or summary.only_locked_left:
            log.info("retention: %d segments past their days and %d for free space deleted (%d MB), %d locked kept%s",
                     summary.deleted_by_age, summary.deleted_by_guard, summary.freed_bytes // 1_000_000,
                     summary.kept_locked, "; only locked footage left" if summary.only_locked_left else "")  # fmt: skip
        self.last = summary
        for listener in self.on_pass:
            await listener(summary)
        return summary

    def short_of_space(self) -> bool:
        """Return whether the free space is below the guard's minimum."""
        usage = self.usage()
        return usage.free < usage.total * self.min_free_pct / 100

    async def _guard(self, summary: RetentionSummary, now: datetime) -> None:
        locked_ids: set[int] = set()
        while await asyncio.to_thread(self.short_of_space):
            batch = await Segment.exclude(id__in=list(locked_ids)).order_by("start", "id").limit(BATCH)
            if not batch:
                summary.only_locked_left = True
                usage = self.usage()
                self.bus.publish(DiskWarning(free_bytes=usage.free, total_bytes=usage.total, reason="only_locked_left"))
                log.error(
                    "disk guard: only footage under evidence lock is left; recording goes on in what space is left"
                )
                return
            for segment in batch:
                if await locked(segment, now):
                    locked_ids.add(segment.id)
                    continue
                summary.freed_bytes += await self._delete(segment)
                summary.deleted_by_guard += 1
                if not await asyncio.to_thread(self.short_of_space):
                    break
        if summary.deleted_by_guard:
            usage = self.usage()
            self.bus.publish(DiskWarning(free_bytes=usage.free, total_bytes=usage.total, reason="guard_deleted"))

    async def _delete(self, segment: Segment) -> int:
        path = self.dir / segment.path
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            size = 0
        await segment.delete()
        return size
