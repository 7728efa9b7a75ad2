"""Clips: a camera's footage between two moments as one MP4 file, by stream copy, with progress.

A cut without re-encoding can only start on a keyframe, so a clip starts at the keyframe at or
before the start asked for (`Clip.begins`; the page says so); it ends at the end asked for. Gaps in
the range are left out. ffmpeg writes the clip into a work folder under the data directory, reports
its progress (`-progress`), and the file is deleted once downloaded, or KEEP_S after it was made.
Ranges longer than MAX_CLIP_S are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from appliance.errors import WardCamError

from .ffmpeg import FFMPEG, Entry, FfmpegRun, checked_entry, concat_script, input_args
from .ranges import check_window, segments_between
from .stream import keyframe_at_or_before

log = logging.getLogger(__name__)

MAX_CLIP_S = 2 * 3600
KEEP_S = 15 * 60  # a clip nobody downloads is deleted after this long
PARALLEL = 2  # clips made at the same time; more wait their turn
MAX_CLIPS_PER_USER = 5


class ClipTooLong(WardCamError):
    """The range asked for is longer than a clip may be."""

    key = "recordings.error.clip_too_long"
    status = 422

    def __init__(self, max_s: int = MAX_CLIP_S) -> None:
        super().__init__(hours=round(max_s / 3600, 1) if max_s % 3600 else max_s // 3600)


class ClipEmpty(WardCamError):
    """Nothing was recorded in the range asked for."""

    key = "recordings.error.clip_empty"
    status = 404


class ClipNotFound(WardCamError):
    """No such clip for this user (never made, already downloaded, or expired)."""

    key = "recordings.error.clip_not_found"
    status = 404


class ClipNotReady(WardCamError):
    """The clip is still being made."""

    key = "recordings.error.clip_not_ready"
    status = 409


class ClipFailed(WardCamError):
    """The clip could not be made (the log says why)."""

    key = "recordings.error.clip_failed"
    status = 500


class TooManyClips(WardCamError):
    """The user already has as many clips in the making as allowed."""

    key = "recordings.error.too_many_clips"
    status = 429


class ClipState(StrEnum):
    """Where the making of a clip stands."""

    WORKING = "working"
    READY = "ready"
    FAILED = "failed"


@dataclass
class Clip:
    """One clip being made or ready for download."""

    id: str
    owner_id: int
    camera_id: int
    start: datetime  # as asked
    end: datetime
    begins: datetime  # its first frame: the keyframe at or before `start`
    duration_s: float  # how long it plays (gaps left out)
    path: Path
    state: ClipState = ClipState.WORKING
    progress: float = 0.0  # 0 to 1
    made_at: float = field(default_factory=time.monotonic)
    task: asyncio.Task[None] | None = field(default=None, repr=False)


async def plan_clip(camera_id: int, start: datetime, end: datetime, recordings_dir: Path,
                    max_s: int = MAX_CLIP_S) -> list[Entry]:  # fmt: skip
    """Return the files (and cuts) of a clip; ClipTooLong, ClipEmpty or InvalidWindow when it cannot be made."""
    start, end = check_window(start, end)
    if (end - start).total_seconds() > max_s:
        raise ClipTooLong(max_s)
    segments = await segments_between(camera_id, start, end, keyframes=True)

    def check() -> list[Entry]:
        entries = []
        for segment in segments:
            skip = 0.0
            if segment.start < start:
                skip = keyframe_at_or_before(segment.keyframes, (start - segment.start).total_seconds())
            until = (end - segment.start).total_seconds() if segment.end > end else None
            if until is not None and until <= skip:
                continue
            entry = checked_entry(segment, recordings_dir, skip_s=skip, until_s=until)
            if entry is not None:
                entries.append(entry)
        return entries

    entries = await asyncio.to_thread(check)
    if not entries:
        raise ClipEmpty()
    return entries


def clip_argv(output: Path, ffmpeg_binary: str = FFMPEG) -> list[str]:
    """Return the argv that copies a concat script's files into one MP4 (index at the front), with progress."""
    return [ffmpeg_binary, "-hide_banner", "-nostats", "-loglevel", "error", *input_args(), "-movflags", "+faststart",
            "-progress", "pipe:1", "-stats_period", "0.25", "-f", "mp4", "-y", str(output)]  # fmt: skip


class Clips:
    """Make clips in the background, keep them for their download, and clean up after."""

    def __init__(self, recordings_dir: Path, work_dir: Path, *, max_s: int = MAX_CLIP_S, keep_s: float = KEEP_S,
                 ffmpeg_binary: str = FFMPEG) -> None:  # fmt: skip
        self.recordings_dir = recordings_dir
        self.work_dir = work_dir
        self.max_s = max_s
        self.keep_s = keep_s
        self.ffmpeg_binary = ffmpeg_binary
        self.clips: dict[str, Clip] = {}
        self._slots = asyncio.Semaphore(PARALLEL)
        shutil.rmtree(work_dir, ignore_errors=True)  # what a previous run left
        work_dir.mkdir(parents=True, exist_ok=True)

    async def create(self, camera_id: int, start: datetime, end: datetime, owner_id: int) -> Clip:
        """Plan a clip and start making it; raise at once when it cannot be made."""
        self.purge()
        if sum(1 for c in self.clips.values() if c.owner_id == owner_id) >= MAX_CLIPS_PER_USER:
            raise TooManyClips()
        entries = await plan_clip(camera_id, start, end, self.recordings_dir, self.max_s)
        clip_id = secrets.token_urlsafe(16)
        first = entries[0]
        clip = Clip(
            id=clip_id, owner_id=owner_id, camera_id=camera_id, start=start, end=end,
            begins=first.segment.start + timedelta(seconds=first.skipped_s),
            duration_s=sum(e.duration_s for e in entries), path=self.work_dir / f"{clip_id}.mp4",
        )  # fmt: skip
        self.clips[clip_id] = clip
        clip.task = asyncio.get_running_loop().create_task(self._make(clip, entries), name=f"clip-{clip_id}")
        return clip

    def get(self, clip_id: str, owner_id: int) -> Clip:
        """Return one of the user's clips; ClipNotFound for anything else."""
        self.purge()
        clip = self.clips.get(clip_id)
        if clip is None or clip.owner_id != owner_id:
            raise ClipNotFound()
        return clip

    async def wait(self, clip: Clip) -> Clip:
        """Wait until the clip is made (or failed)."""
        if clip.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(clip.task)
        return clip

    def remove(self, clip: Clip) -> None:
        """Forget a clip and delete its file (after its download)."""
        self.clips.pop(clip.id, None)
        if clip.task is not None and not clip.task.done():
            clip.task.cancel()
        clip.path.unlink(missing_ok=True)
        clip.path.with_suffix(".part.mp4").unlink(missing_ok=True)

    def purge(self) -> None:
        """Delete the clips that waited too long for their download."""
        now = time.monotonic()
        for clip in [c for c in self.clips.values() if c.state != ClipState.WORKING and now - c.made_at > self.keep_s]:
            log.info("clip %s of camera %d deleted: not downloaded in time", clip.id, clip.camera_id)
            self.remove(clip)

    async def close(self) -> None:
        """Stop every clip being made and delete every file."""
        for clip in list(self.clips.values()):
            self.remove(clip)
            if clip.task is not None:
                with contextlib.suppress(BaseException):
                    await clip.task

    async def _make(self, clip: Clip, entries: list[Entry]) -> None:
        part = clip.path.with_suffix(".part.mp4")
        run = FfmpegRun(clip_argv(part, self.ffmpeg_binary), concat_script(entries))
        try:
            async with self._slots:
                await run.start()
                while line := await run.readline():
                    key, _, value = line.decode(errors="replace").strip().partition("=")
                    if key == "out_time_us" and value.lstrip("-").isdigit() and clip.duration_s > 0:
                        clip.progress = max(clip.progress, min(0.99, int(value) / 1e6 / clip.duration_s))
                code = await run.wait()
            if code != 0 or not part.exists():
                clip.state = ClipState.FAILED
                log.warning("clip of camera %d failed (ffmpeg exit %d): %s", clip.camera_id, code, run.last_words())
                part.unlink(missing_ok=True)
                return
            part.rename(clip.path)
            clip.progress, clip.state = 1.0, ClipState.READY
            log.info("clip %s of camera %d ready: %.1f s", clip.id, clip.camera_id, clip.duration_s)
        except Exception:
            clip.state = ClipState.FAILED
            log.exception("clip of camera %d failed", clip.camera_id)
            part.unlink(missing_ok=True)
        finally:
            await run.close()
            clip.made_at = time.monotonic()
