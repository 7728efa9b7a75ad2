"""One camera's motion ffmpeg, supervised: small YUV frames a few times a second, handed on one at a time.

The supervision is the live view's (appliance.live.worker.Worker): restarted after any exit with
backoff from 1 s to 30 s, killed when no frame comes for 20 s (a hung camera), the sub stream tried
first and the main stream when the sub stream gives nothing, a failure kept in plain words in
`error` and never raised. The frame handler is awaited before the next frame is read, so a slow
comparison holds ffmpeg back (its pipe fills) rather than piling frames up in memory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from addons.motion.argv import FrameFormat, is_frame_line, motion_argv, parse_header
from appliance.live.worker import StreamsProvider, Worker


@dataclass(frozen=True)
class Frame:
    """One decoded frame of a camera: its planes as ffmpeg wrote them, and when it arrived (wall-clock seconds)."""

    camera_id: int
    format: FrameFormat
    data: bytes = field(repr=False)
    at: float

    @property
    def luma(self) -> memoryview:
        """Return the brightness plane (width x height bytes, row by row)."""
        return memoryview(self.data)[: self.format.luma_size]


FrameHandler = Callable[[Frame], Awaitable[None]]


class MotionSource(Worker):
    """Decode one camera's sub stream small and slow, for as long as motion detection watches it."""

    kind = "motion"
    prefers_sub = True

    def __init__(self, camera_id: int, streams: StreamsProvider, on_frame: FrameHandler, *, fps: int = 3,
                 width: int = 320) -> None:  # fmt: skip
        super().__init__(camera_id, streams)
        self.on_frame = on_frame
        self.fps = fps
        self.width = width
        self.frames = 0  # frames handed on since the add-on started watching the camera
        self.latest: Frame | None = None

    def argv(self, url: str) -> list[str]:
        return motion_argv(url, fps=self.fps, width=self.width, rtsp_timeout_s=self.rtsp_timeout_s,
                           ffmpeg_binary=self.ffmpeg)  # fmt: skip

    async def consume(self, stdout: asyncio.StreamReader) -> None:
        header = await stdout.readline()
        if not header:
            return
        frame_format = parse_header(header)
        while True:
            line = await stdout.readline()
            if not line:
                return
            if not is_frame_line(line):
                raise ValueError(f"expected a YUV4MPEG2 frame, got {line[:40]!r}")
            try:
                data = await stdout.readexactly(frame_format.frame_size)
            except asyncio.IncompleteReadError:  # ffmpeg stopped in the middle of a frame
                return
            frame = Frame(self.camera_id, frame_format, data, time.time())
            self.latest = frame
            self.frames += 1
            self.produced()
            await self.on_frame(frame)
