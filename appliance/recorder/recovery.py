"""At start, make the index match the disk: files the index lacks (the crash's last segments) are read and
added, rows whose files are gone are dropped, and unreadable files are skipped with a warning."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from appliance.bus import EventBus
from appliance.db.models.recordings import Segment
from appliance.recorder.index import index_segment
from appliance.recorder.mp4 import UnreadableSegment, read_segment, truncate_to_complete

log = logging.getLogger(__name__)


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


async def recover(recordings_dir: Path, bus: EventBus) -> RecoveryReport:
    """Index the segments found on disk but not in the database, and drop rows whose file is gone."""
    known = {str(row.path) for row in await Segment.all().only("id", "path")}
    on_disk = await asyncio.to_thread(lambda: sorted(recordings_dir.glob("*/*/*.mp4")))
    added = skipped = 0
    for path in on_disk:
        relative = str(path.relative_to(recordings_dir))
        if relative in known:
            continue
        camera_id = int(path.parts[-3]) if path.parts[-3].isdigit() else None
        if camera_id is None:
            skipped += 1
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
    gone = [p for p in known if p not in present]
    dropped = await Segment.filter(path__in=gone).delete() if gone else 0
    if added or dropped or skipped:
        log.info("recovery: %d segments indexed from disk, %d rows dropped, %d files skipped", added, dropped, skipped)
    return RecoveryReport(added, int(dropped), skipped)
