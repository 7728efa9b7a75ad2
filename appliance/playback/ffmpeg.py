"""The ffmpeg that playback and clips share: the concat demuxer over indexed segments, copied, never re-encoded.

The list of files goes to ffmpeg's stdin as an ffconcat script, so no list file is left behind. Each
file may start at an `inpoint` (a keyframe: with stream copy a cut snaps back to one anyway) and end at
an `outpoint`, and carries its `duration`: the next file is placed exactly that much later, so the
output's clock follows the index (gaps between segments are left out).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from appliance.process import die_with_parent, kill
from appliance.recorder.mp4 import UnreadableSegment, read_segment

from .ranges import SegmentRow

log = logging.getLogger(__name__)

FFMPEG = "ffmpeg"
STDERR_LINES = 20


@dataclass(frozen=True, slots=True)
class Entry:
    """One file in a concat script: a segment, from `inpoint` for `duration_s` seconds (file time)."""

    segment: SegmentRow
    path: Path
    inpoint: float  # seconds in the file's own timestamps; 0: from its start
    duration_s: float  # how long it plays in the output
    first_pts_s: float = 0.0
    outpoint: float | None = None

    @property
    def skipped_s(self) -> float:
        """Return how far into the segment's recording the entry starts."""
        return max(0.0, self.inpoint - self.first_pts_s)


def _quote(path: Path) -> str:
    return "'" + f"file:{path}".replace("'", "'\\''") + "'"


def concat_script(entries: Sequence[Entry]) -> str:
    """Return the ffconcat script that plays the entries one after the other."""
    lines = ["ffconcat version 1.0"]
    for entry in entries:
        lines.append(f"file {_quote(entry.path)}")
        if entry.inpoint > 0:
            lines.append(f"inpoint {entry.inpoint:.6f}")
        if entry.outpoint is not None:
            lines.append(f"outpoint {entry.outpoint:.6f}")
        lines.append(f"duration {entry.duration_s:.6f}")
    return "\n".join(lines) + "\n"


def input_args() -> list[str]:
    """Return the arguments that read a concat script from stdin, the video and any audio."""
    return ["-protocol_whitelist", "file,pipe", "-f", "concat", "-safe", "0", "-i", "pipe:0",
            "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy"]  # fmt: skip


def checked_entry(segment: SegmentRow, recordings_dir: Path, *, skip_s: float = 0.0,
                  until_s: float | None = None) -> Entry | None:  # fmt: skip
    """Read a segment's file (boxes only) and return its entry; None, with a warning, when it cannot play.

    `skip_s` is where to start (a keyframe, seconds from the segment's start), `until_s` where to stop.
    """
    path = recordings_dir / segment.path
    try:
        info = read_segment(path)
    except (UnreadableSegment, OSError) as exc:
        log.warning("playback: segment %s skipped: %s", segment.path, exc)
        return None
    if info.truncated or info.duration_s <= skip_s:
        log.warning("playback: segment %s skipped: %s", segment.path,
                    "damaged (ends inside a box)" if info.truncated else "nothing to play after the start")  # fmt: skip
        return None
    end_s = info.duration_s if until_s is None else max(skip_s, min(until_s, info.duration_s))
    outpoint = None if until_s is None or until_s >= info.duration_s else info.first_pts_s + end_s
    return Entry(segment, path, info.first_pts_s + skip_s if skip_s > 0 else 0.0, end_s - skip_s,
                 info.first_pts_s, outpoint)  # fmt: skip


class FfmpegRun:
    """One ffmpeg over a concat script: read its stdout, and kill it however the reading ends."""

    def __init__(self, argv: list[str], script: str) -> None:
        self.argv = argv
        self.script = script
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._stderr_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start ffmpeg and hand it the script."""
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, preexec_fn=die_with_parent,
        )  # fmt: skip
        assert self.proc.stdin is not None and self.proc.stderr is not None
        self._stderr_task = asyncio.get_running_loop().create_task(self._read_stderr(self.proc.stderr))
        self.proc.stdin.write(self.script.encode())
        with contextlib.suppress(ConnectionError):
            await self.proc.stdin.drain()
        self.proc.stdin.close()

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.stderr.append(line.decode(errors="replace").rstrip())

    async def read(self, size: int) -> bytes:
        """Return the next bytes of stdout; b"" at its end."""
        assert self.proc is not None and self.proc.stdout is not None
        return await self.proc.stdout.read(size)

    async def readline(self) -> bytes:
        """Return the next line of stdout; b"" at its end."""
        assert self.proc is not None and self.proc.stdout is not None
        return await self.proc.stdout.readline()

    async def wait(self) -> int:
        """Wait for ffmpeg to exit (its stderr read to the end) and return its exit code."""
        assert self.proc is not None
        code = await self.proc.wait()
        if self._stderr_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._stderr_task, 2.0)
        return code

    async def close(self) -> None:
        """Kill ffmpeg if it still runs, and reap it."""
        if self.proc is not None and self.proc.returncode is None:
            await kill(self.proc)
        if self._stderr_task is not None and not self._stderr_task.done():
            self._stderr_task.cancel()

    def last_words(self) -> str:
        """Return what ffmpeg last said on stderr."""
        return " | ".join(self.stderr)
