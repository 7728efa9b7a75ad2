"""A camera's live video for browsers: one `ffmpeg -c copy` to fragmented MP4, fanned out to every viewer.

Nothing is transcoded: ffmpeg copies the main stream's video (audio is dropped for live view) into
fragmented MP4 on stdout, cut every FRAGMENT_S at most (`-frag_duration`) as well as at each keyframe
(`+frag_keyframe`), and flushed at once, so that a frame reaches the browser a fraction of a second
after ffmpeg receives it. A browser plays it with Media Source Extensions: the init segment first,
then the fragments in order. A viewer who joins late gets the init segment and the fragments since
the latest keyframe, so that playback starts at once, at a keyframe. When ffmpeg restarts, every
viewer gets the new init segment and waits for the next keyframe.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import ffmpeg

from appliance.live.fmp4 import Fragment, FragmentSplitter, InitSegment
from appliance.live.worker import READ_CHUNK, STALL_S, StreamsProvider, Worker, input_options

log = logging.getLogger(__name__)

FRAGMENT_S = 0.2
MOVFLAGS = "+frag_keyframe+empty_moov+default_base_moof"
VIEWER_QUEUE = 300  # fragments waiting for a slow viewer; more and the viewer is dropped (its page reconnects)
MAX_GOP_FRAGMENTS = 600  # kept for late joiners; a camera with no keyframe for this long gets none

Piece = InitSegment | Fragment


def relay_argv(url: str, *, fragment_s: float = FRAGMENT_S, keyframes_only: bool = False,
               rtsp_timeout_s: float = 5.0, ffmpeg_binary: str = "ffmpeg") -> list[str]:  # fmt: skip
    """Return the argv of an ffmpeg that copies the camera's video (or only its keyframes) into fMP4 on stdout."""
    camera = ffmpeg.input(url, threads="1", **input_options(url, rtsp_timeout_s))
    options = {"movflags": MOVFLAGS, "frag_duration": str(round(fragment_s * 1_000_000)), "flush_packets": "1"}
    if keyframes_only:  # the grid: every other packet is dropped before the muxer, untouched and undecoded
        options["bsf:v"] = "noise=drop=not(key)"
    output = ffmpeg.output(camera["v:0"], "pipe:1", f="mp4", vcodec="copy", **options)
    argv = output.global_args("-hide_banner", "-nostdin", "-loglevel", "level+error").compile(cmd=ffmpeg_binary)
    return [str(arg) for arg in argv]


class RelayViewer:
    """One viewer's queue: the init segment, then fragments; None when the viewer fell too far behind."""

    def __init__(self, notify: Callable[[], None] | None = None) -> None:
        self.queue: asyncio.Queue[Piece | None] = asyncio.Queue()
        self.synced = False  # has had a keyframe since its last init segment
        self.dropped = False
        self.notify = notify  # called after each piece is queued (the grid sends from one task per page)

    def put(self, piece: Piece) -> None:
        """Queue a piece, or drop the viewer when it cannot keep up."""
        if self.dropped:
            return
        if self.queue.qsize() >= VIEWER_QUEUE:
            self.dropped = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(piece)
        if self.notify is not None:
            self.notify()

    async def next(self) -> Piece | None:
        """Return the next piece to send; None: stop sending (the viewer was dropped)."""
        return await self.queue.get()


class LiveRelay(Worker):
    """Relay one camera's video to every viewer with a single ffmpeg."""

    kind = "video"

    def __init__(self, camera_id: int, streams: StreamsProvider, *, fragment_s: float = FRAGMENT_S,
                 stall_s: float = STALL_S) -> None:  # fmt: skip
        super().__init__(camera_id, streams, stall_s=stall_s)
        self.fragment_s = fragment_s
        self.keyframes_only = False
        self.init: InitSegment | None = None
        self.viewers: set[RelayViewer] = set()
        self.left_at = 0.0  # monotonic time the last viewer left
        self._gop: list[Fragment] = []

    def argv(self, url: str) -> list[str]:
        return relay_argv(url, fragment_s=self.fragment_s, keyframes_only=self.keyframes_only,
                          rtsp_timeout_s=self.rtsp_timeout_s, ffmpeg_binary=self.ffmpeg)  # fmt: skip

    def join(self, notify: Callable[[], None] | None = None) -> RelayViewer:
        """Add a viewer: it gets the init segment and the fragments since the last keyframe at once."""
        viewer = RelayViewer(notify)
        if self.init is not None:
            viewer.put(self.init)
            for fragment in self._gop:
                viewer.put(fragment)
            viewer.synced = bool(self._gop)
        self.viewers.add(viewer)
        self.start()
        return viewer

    def leave(self, viewer: RelayViewer) -> None:
        """Remove a viewer; the LiveService stops ffmpeg soon after the last one leaves."""
        self.viewers.discard(viewer)
        if not self.viewers:
            self.left_at = time.monotonic()

    def close_viewers(self) -> None:
        """Tell every viewer that nothing more will come (the camera was deleted)."""
        for viewer in self.viewers:
            viewer.dropped = True
            viewer.queue.put_nowait(None)

    def run_started(self) -> None:
        self.init = None
        self._gop = []

    async def consume(self, stdout: asyncio.StreamReader) -> None:
        splitter = FragmentSplitter()
        while chunk := await stdout.read(READ_CHUNK):
            for piece in splitter.feed(chunk):
                self._fan_out(piece)

    def _fan_out(self, piece: Piece) -> None:
        if isinstance(piece, InitSegment):
            self.init = piece
            self._gop = []
            for viewer in self.viewers:
                viewer.synced = False
                viewer.put(piece)
            return
        self.produced()
        if piece.keyframe or len(self._gop) >= MAX_GOP_FRAGMENTS:
            self._gop = [piece] if piece.keyframe else []
        else:
            self._gop.append(piece)
        for viewer in self.viewers:
            if not viewer.synced:
                if not piece.keyframe:
                    continue
                viewer.synced = True
            viewer.put(piece)


class KeyframeRelay(LiveRelay):
    """Relay only a camera's keyframes, copied as they are, for the grid: the browser decodes them.

    The sub stream is preferred (falling back to the main stream when it fails). Each fragment holds one
    keyframe, so a viewer that joins gets the init segment and the latest keyframe at once.
    """

    kind = "keyframes"
    prefers_sub = True

    def __init__(self, camera_id: int, streams: StreamsProvider, *, stall_s: float = STALL_S) -> None:
        super().__init__(camera_id, streams, stall_s=stall_s)
        self.keyframes_only = True
        self.wanted_at = 0.0  # monotonic time of the last look, for the idle reaper

    def leave(self, viewer: RelayViewer) -> None:
        super().leave(viewer)
        self.wanted_at = time.monotonic()
