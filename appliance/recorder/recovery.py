"""At start, make the index match the disk: files the index lacks (the crash's last segments) are read and
added, rows whose files are gone are dropped, and unreadable files are skipped with a warning."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from appliance.bus import EventBus
from appliance.db.models.recordings import Segment
from appliance.recorder.argv import DAY_FOLDER
from appliance.recorder.index import index_segment
from appliance.recorder.mp4 import UnreadableSegment, read_segment, truncate_to_complete

log = logging.getLogger(__name__)

RECENT = timedelta(hours=1)  # before a camera's newest indexed segment: what a start checks again


@dataclass(frozen=True)
class RecoveryReport:
    """What the start-up check found."""

    added: int
    dropped: int
    skipped: int


def _truncate_keeping_time(path: Path) -> None:
    """Cut a torn segment back to its complete fragments, keeping its last-write time: the index reads
    the segment's wall-clock end from it, and truncating would make it the time of the recovery."""
    written = path.stat()
    truncate_to_complete(path)
    os.utime(path, ns=(written.st_atime_ns, written.st_mtime_ns))


def _day_folders(camera_dir: Path, since: date | None) -> list[Path]:
    """Return the camera's day folders from `since` on (all of them when since is None), oldest first."""
    days = sorted(d for d in camera_dir.iterdir() if d.is_dir())
    if since is None:
        return days
    first = since.strftime(DAY_FOLDER)
    return [d for d in days if d.name >= first]


async def _recent_window(camera_id: int) -> tuple[date | None, datetime | None]:
    """Return the first day folder to look at and the first start to check rows from, for one camera.

    A crash leaves unindexed only what was written after the camera's newest indexed segment, so only
    the days from the one before it are read: 62 cameras x 30 days are 16 million files and rows,
    which a start must not read (restart_to_recording_s ≤ 10). None: the camera has no rows, read all.
    """
    newest = await Segment.filter(camera_id=camera_id).order_by("-start").first()
    if newest is None:
        return None, None
    since = newest.start - RECENT
    return since.astimezone().date(), since


async def _recover_camera(recordings_dir: Path, camera_dir: Path, bus: EventBus) -> RecoveryReport:
    camera_id = int(camera_dir.name)
    first_day, first_start = await _recent_window(camera_id)
    rows = Segment.filter(camera_id=camera_id)
    if first_start is not None:
        rows = rows.filter(start__gte=first_start - timedelta(days=1))  # the whole first day's rows
    known = {str(path) for path in await rows.values_list("path", flat=True)}
    on_disk = await asyncio.to_thread(
        lambda: [f for day in _day_folders(camera_dir, first_day) for f in sorted(day.glob("*.mp4"))]
    )
    added = skipped = 0
    for path in on_disk:
        relative = str(path.relative_to(recordings_dir))
        if relative in known:
            continue
        try:
            info = await asyncio.to_thread(read_segment, path)
            if info.truncated:  # torn by the crash: keep its complete fragments, playable
                await asyncio.to_thread(_truncate_keeping_time, path)
        except (UnreadableSegment, OSError) as exc:
            log.warning("recovery: %s skipped: %s", relative, exc)
            skipped += 1
            continue
        if await index_segment(camera_id, path, recordings_dir, bus, recovered=True):
            added += 1
        else:
            skipped += 1
    present = {str(p.relative_to(recordings_dir)) for p in on_disk}
    first_folder = first_day.strftime(DAY_FOLDER) if first_day is not None else ""
    gone = [p for p in known if p not in present and p.split("/")[1] >= first_folder]
    dropped = await Segment.filter(path__in=gone).delete() if gone else 0
    return RecoveryReport(added, int(dropped), skipped)


async def recover(recordings_dir: Path, bus: EventBus) -> RecoveryReport:
    """Index the segments found on disk but not in the database, and drop rows whose file is gone.

    Per camera folder, only the days since its newest indexed segment (and the day before) are read.
    """
    camera_dirs = await asyncio.to_thread(
        lambda: sorted(d for d in recordings_dir.iterdir() if d.is_dir() and d.name.isdigit())
    )
    added = dropped = skipped = 0
    for camera_dir in camera_dirs:
        report = await _recover_camera(recordings_dir, camera_dir, bus)
        added, dropped, skipped = added + report.added, dropped + report.dropped, skipped + report.skipped
    if added or dropped or skipped:
        log.info("recovery: %d segments indexed from disk, %d rows dropped, %d files skipped", added, dropped, skipped)
    return RecoveryReport(added, dropped, skipped)
