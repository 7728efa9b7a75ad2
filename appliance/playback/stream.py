"""Play a camera's recordings from any moment: one continuous fragmented MP4 for a browser's <video>.

The stream starts at the keyframe at or before the moment asked for (in a gap: at the next recording;
in the segment being written now: at the last keyframe already on disk) and runs on across segment
boundaries, gaps and midnight for as long as the client reads. ffmpeg's concat demuxer copies the
segments (never re-encoding) into `-movflags frag_keyframe+empty_moov+default_base_moof` on stdout,
a batch of segments at a time: a small first batch so that playback starts at once, then about an
hour a run. The Splicer joins the runs into one file; when the recording is caught up with, the
stream waits for the next segment to close. A missing or unreadable file is skipped with a warning.

`pieces` says which wall-clock time each stretch of the stream shows (gaps are left out, so the
stream's clock and the wall clock part at each gap); the page reads it to show the time of the frame
on screen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from tortoise.queryset import QuerySet

from appliance.db.models.recordings import Segment
from appliance.errors import WardCamError

from .ffmpeg import FFMPEG, Entry, FfmpegRun, checked_entry, concat_script, input_args
from .ranges import FIELDS, MAX_SEGMENT_S, SegmentRow, aware, row
from .splice import IncompatibleRun, Splicer

log = logging.getLogger(__name__)

FIRST_BATCH = 6  # segments in the first run (a minute): it is planned and started at once
BATCH = 360  # about an hour a run after that
FOLLOW_WAIT_S = 40.0  # a caught-up stream waits this long for the next segment to close (they close every 10-15 s)
FOLLOW_POLL_S = 0.5
NEAR_NOW_S = 30.0  # a moment this soon after the newest segment is in the one being written now
SHORT_S = 1.0  # a run that plays this much less than planned stopped at a file it could not read
READ_SIZE = 64 * 1024
MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"


class NothingRecorded(WardCamError):
    """No recording at or after the moment asked for."""

    key = "recordings.error.nothing_recorded"
    status = 404


@dataclass(frozen=True, slots=True)
class Piece:
    """A stretch of the stream: from `at_s` seconds into it, it shows `start` onward for `duration_s`."""

    at_s: float
    start: datetime
    duration_s: float
    segment_id: int


def stream_argv(ffmpeg_binary: str = FFMPEG) -> list[str]:
    """Return the argv of one run: the concat script on stdin, fragmented MP4 on stdout."""
    return [ffmpeg_binary, "-hide_banner", "-nostats", "-loglevel", "error", *input_args(),
            "-f", "mp4", "-movflags", MOVFLAGS, "pipe:1"]  # fmt: skip


def keyframe_at_or_before(keyframes: tuple[float, ...], offset_s: float) -> float:
    """Return the latest keyframe time at or before offset_s (seconds from the segment's start), else 0."""
    best = 0.0
    for k in keyframes:
        if k <= offset_s + 1e-3:
            best = max(best, k)
    return best


async def _one(query: QuerySet[Segment]) -> SegmentRow | None:
    values = await query.values_list(*FIELDS, "keyframes")
    return row(values[0][:-1], values[0][-1]) if values else None


async def starting_point(camera_id: int, at: datetime) -> tuple[SegmentRow, float]:
    """Return the segment to start from and where in it (a keyframe, seconds from its start)."""
    at = aware(at)
    base = Segment.filter(camera_id=camera_id)
    containing = await _one(
        base.filter(start__lte=at, start__gte=at - timedelta(seconds=MAX_SEGMENT_S), end__gt=at)
        .order_by("-start").limit(1)
    )  # fmt: skip
    if containing is not None:
        return containing, keyframe_at_or_before(containing.keyframes, (at - containing.start).total_seconds())
    following = await _one(Segment.filter(camera_id=camera_id, start__gt=at).order_by("start").limit(1))
    if following is not None:
        return following, 0.0
    newest = await _one(
        Segment.filter(camera_id=camera_id, end__lte=at, end__gte=at - timedelta(seconds=NEAR_NOW_S))
        .order_by("-start").limit(1)
    )  # fmt: skip
    if newest is not None:  # the moment is in the segment being written: its newest footage on disk
        return newest, keyframe_at_or_before(newest.keyframes, newest.duration_s)
    raise NothingRecorded()


async def segments_after(camera_id: int, after: SegmentRow, limit: int) -> list[SegmentRow]:
    """Return up to `limit` of the camera's segments that start after `after`, oldest first."""
    query = Segment.filter(camera_id=camera_id, start__gt=after.start).order_by("start", "id").limit(limit)
    return [row(v) for v in await query.values_list(*FIELDS)]


def _never() -> bool:
    return False


def _video(segment: SegmentRow) -> tuple[str, int, int]:
    return segment.video_codec, segment.width, segment.height


class PlaybackStream:
    """One client's playback of one camera from one moment."""

    def __init__(self, camera_id: int, at: datetime, recordings_dir: Path, *,
                 following: Callable[[], bool] = _never, first_batch: int = FIRST_BATCH, batch: int = BATCH,
                 follow_wait_s: float = FOLLOW_WAIT_S, ffmpeg_binary: str = FFMPEG) -> None:  # fmt: skip
        self.camera_id = camera_id
        self.at = aware(at)
        self.recordings_dir = recordings_dir
        self.following = following  # whether the camera is being recorded now (worth waiting for)
        self.first_batch = max(1, first_batch)
        self.batch = max(1, batch)
        self.follow_wait_s = follow_wait_s
        self.ffmpeg_binary = ffmpeg_binary
        self.pieces: list[Piece] = []
        self.sent_s = 0.0  # seconds of video handed to the client so far (the range a viewer could have seen)
        self.done = False
        self.skipped: list[str] = []  # segments that could not be played
        self.next_start: datetime | None = None  # where a new stream must take over (the camera's stream changed)
        # it sent all it had (the recording ran out, or the camera's stream changed), rather than being stopped
        self.ran_out = False
        self._first: tuple[SegmentRow, float] | None = None
        self._run: FfmpegRun | None = None
        self._closed = False
        self._pieces_before_run = 0  # where the current run's pieces start in `pieces`
        self._run_start_s = 0.0  # where the current run starts in the stream

    @property
    def start(self) -> datetime:
        """Return the wall-clock time of the stream's first frame (known once opened)."""
        if self._first is None:
            raise RuntimeError("the stream is not open")
        segment, skip = self._first
        return segment.start + timedelta(seconds=skip)

    async def open(self) -> None:
        """Find where playback starts; NothingRecorded when there is nothing to play."""
        self._first = await starting_point(self.camera_id, self.at)

    def wall_clock(self, at_s: float) -> datetime | None:
        """Return the wall-clock time shown `at_s` seconds into the stream, if known yet."""
        for piece in reversed(self.pieces):
            if piece.at_s <= at_s:
                return piece.start + timedelta(seconds=min(at_s - piece.at_s, piece.duration_s))
        return None

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """Yield the stream's bytes until the recording runs out (or the caller stops reading)."""
        if self._first is None:
            await self.open()
        assert self._first is not None
        splicer = Splicer()
        first, skip = self._first
        todo: list[tuple[SegmentRow, float]] = [(first, skip)]
        todo += [(s, 0.0) for s in await segments_after(self.camera_id, first, self.first_batch - 1)]
        try:
            while todo and not self._closed:
                entries, last = await asyncio.to_thread(self._check, todo)
                if entries:
                    try:
                        async with aclosing(self._play(entries, splicer)) as output:
                            async for data in output:
                                yield data
                    except IncompatibleRun:
                        self.next_start = entries[0].segment.start
                        log.info("playback of camera %d ends before %s: the camera's stream changed there",
                                 self.camera_id, entries[0].segment.path)  # fmt: skip
                        self.ran_out = True
                        return
                    stopped_at = self._short_run(entries, splicer)
                    if stopped_at is not None:
                        last = stopped_at
                todo = [(s, 0.0) for s in await segments_after(self.camera_id, last, self.batch)]
                if not todo:
                    todo = [(s, 0.0) for s in await self._wait_for_next(last)]
            self.ran_out = not self._closed
        finally:
            self.done = True
            await self.close()

    def _check(self, todo: list[tuple[SegmentRow, float]]) -> tuple[list[Entry], SegmentRow]:
        """Return the entries of one run and the last segment it took.

        Files that cannot be played are skipped with a warning. A run ends before a segment whose video
        differs from the run's first (codec or size: the camera was reconfigured), which cannot be copied
        into the same output: the next run starts with it.
        """
        entries: list[Entry] = []
        last = todo[0][0]
        for segment, skip in todo:
            if entries and _video(segment) != _video(entries[0].segment):
                break
            last = segment
            entry = checked_entry(segment, self.recordings_dir, skip_s=skip)
            if entry is None:
                self.skipped.append(segment.path)
            else:
                entries.append(entry)
        return entries, last

    async def _play(self, entries: list[Entry], splicer: Splicer) -> AsyncGenerator[bytes, None]:
        """Run ffmpeg over the entries and yield its output, spliced after what was sent before."""
        at = splicer.end_s
        planned = []
        for entry in entries:
            start = entry.segment.start + timedelta(seconds=entry.skipped_s)
            planned.append(Piece(at, start, entry.duration_s, entry.segment.id))
            at += entry.duration_s
        self._pieces_before_run = len(self.pieces)
        self._run_start_s = splicer.end_s
        self.pieces += planned
        splicer.next_run()
        run = self._run = FfmpegRun(stream_argv(self.ffmpeg_binary), concat_script(entries))
        await run.start()
        try:
            while data := await run.read(READ_SIZE):
                out = splicer.feed(data)
                if out:
                    yield out
                    self.sent_s = splicer.end_s  # the consumer took it
            code = await run.wait()
            if code != 0:
                log.warning("playback of camera %d: ffmpeg exited with %d: %s", self.camera_id, code,
                            run.last_words())  # fmt: skip
        except IncompatibleRun:
            del self.pieces[self._pieces_before_run :]
            raise
        finally:
            await run.close()
            self._run = None

    def _short_run(self, entries: list[Entry], splicer: Splicer) -> SegmentRow | None:
        """If the run stopped early (a file it could not read), fix the pieces and return that file's segment."""
        played = splicer.end_s - self._run_start_s
        planned = sum(e.duration_s for e in entries)
        if played >= planned - SHORT_S:
            return None
        offset = 0.0
        for index, entry in enumerate(entries):
            if played < offset + entry.duration_s - SHORT_S / 2:
                log.warning("playback of camera %d: segment %s skipped: ffmpeg could not read it", self.camera_id,
                            entry.segment.path)  # fmt: skip
                self.skipped.append(entry.segment.path)
                keep = self._pieces_before_run + index
                del self.pieces[keep:]
                if played > offset:
                    part = played - offset
                    start = entry.segment.start + timedelta(seconds=entry.skipped_s)
                    self.pieces.append(Piece(self._run_start_s + offset, start, part, entry.segment.id))
                return entry.segment
            offset += entry.duration_s
        return None

    async def _wait_for_next(self, last: SegmentRow) -> list[SegmentRow]:
        """Wait, while the camera is being recorded, for the next segment to close; [] when none comes."""
        deadline = asyncio.get_running_loop().time() + self.follow_wait_s
        while not self._closed and self.following() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(FOLLOW_POLL_S)
            found = await segments_after(self.camera_id, last, self.batch)
            if found:
                return found
        return []

    async def close(self) -> None:
        """Stop: kill the running ffmpeg; the stream is done."""
        self._closed = True
        self.done = True
        run = self._run
        if run is not None:
            await run.close()
