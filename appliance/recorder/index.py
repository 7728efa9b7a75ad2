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


# ffmpeg writes a segment's last fragment a little after its last picture, later on a loaded machine: a
# segment's time from its file's mtime can then reach into the next one's. Up to this much, the next one
# starts where the one before ended (a camera's segments never overlap); more is a clock that stepped back.
OVERLAP_TOLERANCE_S = 1.0


def timing(info: SegmentInfo, mtime: float) -> tuple[datetime, datetime]:
    """Return a segment's wall-clock start and end: it ends when its last fragment was written."""
    end = datetime.fromtimestamp(mtime, UTC)
    return end - timedelta(seconds=info.duration_s), end


async def after_previous(camera_id: int, path: str, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Move a segment that overlaps the camera's previous one by less than OVERLAP_TOLERANCE_S to where it ended.

    Its duration stays what the file holds, so that a clip of the two segments back to back lasts what the
    times say (the evidence packages' manifests, the timeline).
    """
    # the segment that starts last before this one: one step back on the (camera_id, start) index, however
    # many weeks of segments the camera has
    previous = await Segment.filter(camera_id=camera_id, start__lt=start).exclude(path=path).order_by("-start").first()
    if previous is None or not timedelta(0) < previous.end - start <= timedelta(seconds=OVERLAP_TOLERANCE_S):
        return start, end
    return previous.end, previous.end + (end - start)


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
    start, end = await after_previous(camera_id, relative, *timing(info, mtime))
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
