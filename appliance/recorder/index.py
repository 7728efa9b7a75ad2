"""Put closed segments in the database with their real start and playable duration, read from the file."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tortoise.exceptions import IntegrityError

from appliance.bus import EventBus, SegmentClosed
from appliance.db.models.recordings import Segment
from appliance.recorder.mp4 import SegmentInfo, UnreadableSegment, read_segment

log = logging.getLogger(__name__)

VIDEO_CODECS = {"avc1": "h264", "avc3": "h264", "hvc1": "hevc", "hev1": "hevc"}  # MP4 sample entry -> ffmpeg's name
AUDIO_CODECS = {"mp4a": "aac", "Opus": "opus", "alaw": "pcm_alaw", "ulaw": "pcm_mulaw"}


# ffmpeg writes a segment's last fragment a little after its last picture, later on a loaded machine, and a
# segment's times come from that last write (its end; its start is the end minus its duration): a late one
# makes a segment reach into the next. Up to OVERLAP_TOLERANCE_S that is what it is; more is a clock that
# stepped back, and the times stay as the files say. Under OVERLAP_IGNORED_S is the files' times' own
# precision (a few ms), less than half a picture at 10 fps.
OVERLAP_TOLERANCE_S = 1.0
OVERLAP_IGNORED_S = 0.05
MOVED_BEFORE = 3  # segments moved back before the late one at most (a camera with a clock far off moves none)


def timing(info: SegmentInfo, mtime: float) -> tuple[datetime, datetime]:
    """Return a segment's wall-clock start and end: it ends when its last fragment was written."""
    end = datetime.fromtimestamp(mtime, UTC)
    return end - timedelta(seconds=info.duration_s), end


async def neighbour(camera_id: int, path: str, start: datetime, before: bool) -> Segment | None:
    """Return the camera's segment that starts last before `start` (or first from it on), other than `path`.

    One step on the (camera_id, start) index, however many weeks of segments the camera has.
    """
    query = Segment.filter(camera_id=camera_id).exclude(path=path)
    if before:
        return await query.filter(start__lt=start).order_by("-start").first()
    return await query.filter(start__gte=start).order_by("start").first()


def late_write(earlier_end: datetime, later_start: datetime) -> timedelta | None:
    """Return how far a segment reaches into the next one, when a late write explains it."""
    overlap = earlier_end - later_start
    tolerated = timedelta(seconds=OVERLAP_IGNORED_S) < overlap <= timedelta(seconds=OVERLAP_TOLERANCE_S)
    return overlap if tolerated else None


async def move_back(camera_id: int, path: str, start: datetime, by: timedelta, depth: int = MOVED_BEFORE) -> timedelta:
    """Return how far the segment at `path`, starting at `start`, can move back, up to `by`.

    Where the one before it is in the way, that one moves back too (as far as needed and it can, up to
    `depth` segments back; they are updated here): two segments in a row written late. The segment itself
    is the caller's to move.
    """
    before = await neighbour(camera_id, path, start, before=True)
    if before is None:
        return by
    free = max(timedelta(0), start - before.end)
    if free >= by or depth == 0:
        return min(by, free)
    moved = await move_back(camera_id, before.path, before.start, by - free, depth - 1)
    await shift_back(before, moved)
    return free + moved


async def shift_back(segment: Segment, by: timedelta) -> None:
    """Move a stored segment back in time by `by`, its duration kept."""
    if by > timedelta(0):
        await Segment.filter(id=segment.id).update(start=segment.start - by, end=segment.end - by)


async def fit_in(camera_id: int, path: str, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Undo late writes between a new segment and its neighbours; return the new segment's times.

    A late write only ever makes a segment's times later, so of two segments that overlap, the earlier one
    was written late: it moves back by the overlap (and the ones just before it, where they are in the
    way) and keeps its duration, so that two segments played back to back last what their times say (the
    evidence packages' manifests, the timeline). Nothing moves forward, so no shift carries on to later
    segments. The new segment is usually the camera's last; after a crash (recovery) it may come before
    one indexed already.
    """
    following = await neighbour(camera_id, path, start, before=False)
    if following is not None and (overlap := late_write(end, following.start)):
        shift = await move_back(camera_id, path, start, overlap)
        start, end = start - shift, end - shift
    previous = await neighbour(camera_id, path, start, before=True)
    if previous is not None and (overlap := late_write(previous.end, start)):
        await shift_back(previous, await move_back(camera_id, previous.path, previous.start, overlap))
    return start, end


async def index_segment(camera_id: int, path: Path, recordings_dir: Path, bus: EventBus,
                        recovered: bool = False) -> Segment | None:  # fmt: skip
    """Read a closed segment and store it; skip (with a warning) a file that holds no playable video."""
    try:
        info, mtime = await asyncio.to_thread(_read, path)
    except (UnreadableSegment, OSError) as exc:
        log.warning("camera %d: segment %s skipped: %s", camera_id, path.name, exc)
        return None
    if info.duration_s <= 0:
        log.warning("camera %d: segment %s skipped: no complete video fragment", camera_id, path.name)
        return None
    relative = str(path.relative_to(recordings_dir))
    start, end = await fit_in(camera_id, relative, *timing(info, mtime))
    fields: dict[str, Any] = {
        "camera_id": camera_id, "start": start, "end": end, "duration_s": round(info.duration_s, 3),
        "size": info.size, "video_codec": VIDEO_CODECS.get(info.video_codec, info.video_codec),
        "audio_codec": AUDIO_CODECS.get(info.audio_codec or "", info.audio_codec or ""),
        "width": info.width or 0, "height": info.height or 0,
        "keyframes": [round(k, 3) for k in info.keyframes_s], "recovered": recovered,
    }  # fmt: skip
    try:  # one INSERT: a path comes again only when ffmpeg rewrote a file (a restart within its second)
        segment = await Segment.create(path=relative, **fields)
    except IntegrityError:
        await Segment.filter(path=relative).update(**fields)
        segment = await Segment.get(path=relative)
    bus.publish(SegmentClosed(camera_id=camera_id, path=segment.path, start=start, duration_s=segment.duration_s,
                              size=segment.size))  # fmt: skip
    return segment


def _read(path: Path) -> tuple[SegmentInfo, float]:
    return read_segment(path), path.stat().st_mtime
