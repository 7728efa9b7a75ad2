"""What a camera recorded in a time window: its segments, the ranges they make, and the gaps between.

Consecutive segments less than MERGE_GAP_S apart make one range (a segment ends when the next one
starts, give or take the frame in between). The segment being written now is not in the index yet:
given when it was opened, it is added as a range that ends now, flagged `recording_now`.

A day of one camera is about 8640 segments. The window is found through the (camera_id, start)
index: a segment that overlaps the window started at most MAX_SEGMENT_S before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from appliance.db.models.recordings import Segment
from appliance.errors import WardCamError

MERGE_GAP_S = 1.0
MAX_SEGMENT_S = 600.0  # longer than any segment the recorder writes (10-15 s)
MAX_WINDOW = timedelta(days=8)


class InvalidWindow(WardCamError):
    """The end of a time window is not after its start, or the window is too long."""

    key = "recordings.error.invalid_window"
    status = 422


@dataclass(frozen=True, slots=True)
class SegmentRow:
    """One indexed segment, as playback needs it."""

    id: int
    start: datetime
    end: datetime
    duration_s: float
    path: str  # relative to the recordings folder
    size: int = 0
    video_codec: str = ""
    audio_codec: str = ""
    width: int = 0
    height: int = 0
    keyframes: tuple[float, ...] = ()  # seconds from the segment's start


@dataclass(frozen=True, slots=True)
class RecordedRange:
    """A stretch of time recorded without a break."""

    start: datetime
    end: datetime
    segments: int
    recording_now: bool = False  # the segment being written: its end is now, and moves on


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch of time with no recording."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Recordings:
    """A camera's recordings in a window."""

    camera_id: int
    start: datetime
    end: datetime
    ranges: list[RecordedRange]
    gaps: list[Gap]
    segments: list[SegmentRow]


FIELDS = ("id", "start", "end", "duration_s", "path", "size", "video_codec", "audio_codec", "width", "height")


def aware(value: datetime) -> datetime:
    """Return a datetime with a time zone (UTC when it had none, as the database hands them back)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def check_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Return the window with time zones, or raise InvalidWindow."""
    start, end = aware(start), aware(end)
    if end <= start or end - start > MAX_WINDOW:
        raise InvalidWindow()
    return start, end


def _overlapping(camera_id: int, start: datetime, end: datetime) -> Any:
    """Return the query of the camera's segments that overlap [start, end), oldest first."""
    return Segment.filter(
        camera_id=camera_id, start__gte=start - timedelta(seconds=MAX_SEGMENT_S), start__lt=end, end__gt=start
    ).order_by("start", "id")


def row(values: tuple[Any, ...], keyframes: Any = ()) -> SegmentRow:
    """Build a SegmentRow from a values_list tuple in FIELDS order."""
    id_, start, end, duration, path, size, video, audio, width, height = values
    return SegmentRow(int(id_), aware(start), aware(end), float(duration), str(path), int(size), str(video),
                      str(audio), int(width), int(height), tuple(float(k) for k in keyframes or ()))  # fmt: skip


async def segments_between(
    camera_id: int, start: datetime, end: datetime, *, keyframes: bool = False
) -> list[SegmentRow]:
    """Return the camera's segments that overlap [start, end), oldest first (with keyframes if asked)."""
    start, end = check_window(start, end)
    query = _overlapping(camera_id, start, end)
    if keyframes:
        return [row(v[:-1], v[-1]) for v in await query.values_list(*FIELDS, "keyframes")]
    return [row(v) for v in await query.values_list(*FIELDS)]


def merge(spans: list[tuple[datetime, datetime]], gap_s: float = MERGE_GAP_S) -> list[RecordedRange]:
    """Merge (start, end) spans, sorted by start, whose gap is under gap_s into ranges."""
    ranges: list[RecordedRange] = []
    current_start: datetime | None = None
    current_end = datetime.min.replace(tzinfo=UTC)
    count = 0
    for start, end in spans:
        if current_start is not None and (start - current_end).total_seconds() < gap_s:
            current_end = max(current_end, end)
            count += 1
            continue
        if current_start is not None:
            ranges.append(RecordedRange(current_start, current_end, count))
        current_start, current_end, count = start, end, 1
    if current_start is not None:
        ranges.append(RecordedRange(current_start, current_end, count))
    return ranges


def gaps_between(ranges: list[RecordedRange], start: datetime, end: datetime) -> list[Gap]:
    """Return the stretches of [start, end) that no range covers."""
    gaps: list[Gap] = []
    cursor = start
    for recorded in ranges:
        if recorded.start > cursor:
            gaps.append(Gap(cursor, min(recorded.start, end)))
        cursor = max(cursor, recorded.end)
    if cursor < end:
        gaps.append(Gap(cursor, end))
    return [g for g in gaps if g.end > g.start]


async def recordings(camera_id: int, start: datetime, end: datetime, *, writing_since: datetime | None = None,
                     now: datetime | None = None, with_segments: bool = True,
                     gap_s: float = MERGE_GAP_S) -> Recordings:  # fmt: skip
    """Return what the camera recorded in [start, end): ranges, gaps (up to now), and the segments.

    `writing_since` is when the recorder opened the segment it is writing now, if it is recording.
    """
    start, end = check_window(start, end)
    now = aware(now or datetime.now(UTC))
    query = _overlapping(camera_id, start, end)
    if with_segments:
        segments = [row(v) for v in await query.values_list(*FIELDS)]
        spans = [(s.start, s.end) for s in segments]
    else:
        segments = []
        spans = [(aware(s), aware(e)) for s, e in await query.values_list("start", "end")]
    ranges = merge(spans, gap_s)
    if writing_since is not None:
        opened = aware(writing_since)
        if ranges and (opened - ranges[-1].end).total_seconds() < gap_s:
            opened = ranges[-1].end  # it follows the last closed segment, as the next one does
        if opened < end and now > start and now > opened:
            ranges.append(RecordedRange(max(opened, start), min(now, end), 0, recording_now=True))
    clipped = [RecordedRange(max(r.start, start), min(r.end, end), r.segments, r.recording_now) for r in ranges]
    return Recordings(camera_id, start, end, clipped, gaps_between(clipped, start, min(end, now)), segments)
