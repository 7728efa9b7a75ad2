"""The latest frame of a camera, for the live grid: one ffmpeg per camera decodes only its keyframes.

Decoding every frame of 62 cameras would cost cores; decoding only keyframes (`-skip_frame nokey`)
skips everything else, and no frame-rate filter runs. The price: a frame comes as often as the camera
sends a keyframe. Cameras set to a keyframe every 1 s (the usual "I-frame interval" equal to the frame
rate) give one frame a second; a camera with a 4 s interval gives one every 4 s.

Measured with ffmpeg 5.1 on a 640x360 512 kbit/s sub stream with a keyframe a second (bench/grid.py's
clip): the RTSP connection costs about 0.18 % of one core, decoding the keyframe about 5 ms (0.5 %; a
keyframe is a third of the bit rate, and its entropy decoding is most of the work; `-skip_loop_filter
all` saved 3 %), and scaling it and encoding the JPEG 2.9 ms at 640 pixels wide (1.4 ms at 320): about
0.85 % of a core a camera at 320 wide, half a core for 62 (see docs/architecture.md, the grid).

Each keyframe is scaled down and written as a JPEG to stdout (image2pipe), where JpegSplitter cuts the
stream at each JPEG's end-of-image marker, found by walking the JPEG's segments (so that a table
holding the bytes FF D9 cannot cut a frame short).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import ffmpeg

from appliance.errors import WardCamError
from appliance.live.worker import READ_CHUNK, STALL_S, LiveState, StreamsProvider, Worker, input_options

log = logging.getLogger(__name__)

FRAME_WIDTH = 640
JPEG_QUALITY = 5  # ffmpeg's -q:v for mjpeg, 2 (best) .. 31; 5 keeps a 640x360 frame near 20 KB
MAX_JPEG = 8 * 1024 * 1024

FrameListener = Callable[["Frame"], None]


class NoFrameYet(WardCamError):
    """The camera has not sent a picture yet (or cannot be reached)."""

    key = "live.error.no_frame"
    status = 503


@dataclass(frozen=True)
class Frame:
    """One JPEG of a camera, and when it arrived (wall-clock seconds)."""

    camera_id: int
    jpeg: bytes
    at: float
    seq: int


def frames_argv(url: str, *, width: int = FRAME_WIDTH, rtsp_timeout_s: float = 5.0, ffmpeg_binary: str = "ffmpeg",
                ) -> list[str]:  # fmt: skip
    """Return the argv of an ffmpeg that writes each keyframe of `url` as a JPEG to stdout."""
    # one thread each: a keyframe a second needs no parallelism, and every thread costs memory and switches
    camera = ffmpeg.input(url, skip_frame="nokey", threads="1", **input_options(url, rtsp_timeout_s))
    # The JPEGs need no timing, but the encoder refuses a frame whose pts is not after the last one's, and a
    # camera's timestamps can step back (measured: when another client joined the RTSP server's shared
    # stream; setpts=N did not help, as N starts again whenever the filter graph is rebuilt). So each frame
    # is stamped with the wall clock in microseconds, in a microsecond time base up to the encoder (in the
    # stream's own 1/fps time base, two keyframes read in one burst would get the same stamp).
    video = (
        camera["v:0"]
        .filter("settb", "AVTB")
        .filter("setpts", "RTCTIME")
        .filter("scale", f"min({width},iw)", -2, flags="fast_bilinear")
    )
    output = ffmpeg.output(
        video, "pipe:1", f="image2pipe", vcodec="mjpeg", threads="1", filter_threads="1",
        **{"q:v": str(JPEG_QUALITY), "fps_mode": "passthrough", "enc_time_base:v": "1:1000000"},
    )  # fmt: skip
    argv = output.global_args("-hide_banner", "-nostdin", "-loglevel", "level+error").compile(cmd=ffmpeg_binary)
    return [str(arg) for arg in argv]


class JpegSplitter:
    """Cut a stream of concatenated JPEGs into whole images."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Take the next bytes; return the JPEGs they complete."""
        self._buf += data
        images = []
        while True:
            end = _jpeg_end(self._buf)
            if end is None:
                break
            if end < 0:  # not a JPEG at the start: drop up to the next start-of-image marker
                skip = self._buf.find(b"\xff\xd8", 1)
                del self._buf[: skip if skip > 0 else len(self._buf)]
                continue
            images.append(bytes(self._buf[:end]))
            del self._buf[:end]
        if len(self._buf) > MAX_JPEG:
            self._buf.clear()
        return images


def _jpeg_end(buf: bytearray) -> int | None:
    """Return the length of the JPEG at the start of buf, None if incomplete, -1 if buf starts otherwise."""
    if len(buf) < 2:
        return None
    if buf[0] != 0xFF or buf[1] != 0xD8:
        return -1
    pos = 2
    while True:
        if pos + 2 > len(buf):
            return None
        if buf[pos] != 0xFF:
            return -1
        marker = buf[pos + 1]
        if marker == 0xD9:
            return pos + 2
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if pos + 4 > len(buf):
            return None
        length = (buf[pos + 2] << 8) | buf[pos + 3]
        pos += 2 + length
        if marker != 0xDA:  # not start-of-scan: the next marker follows the segment
            continue
        # entropy-coded data: FF 00 is a stuffed byte and FF D0..D7 a restart marker; any other marker ends it
        while True:
            ff = buf.find(b"\xff", pos)
            if ff < 0 or ff + 1 >= len(buf):
                return None
            following = buf[ff + 1]
            if following == 0x00 or 0xD0 <= following <= 0xD7:
                pos = ff + 2
                continue
            pos = ff
            break


class FrameSource(Worker):
    """Keep the latest keyframe of one camera as a JPEG, for every viewer of the grid at once."""

    kind = "frames"
    prefers_sub = True

    def __init__(self, camera_id: int, streams: StreamsProvider, *, width: int = FRAME_WIDTH,
                 stall_s: float = STALL_S) -> None:  # fmt: skip
        super().__init__(camera_id, streams, stall_s=stall_s)
        self.width = width
        self.latest: Frame | None = None
        self.viewers = 0  # open grid connections showing this camera
        self.wanted_at = 0.0  # monotonic time of the last look (a frame fetched, a viewer leaving)
        self._listeners: set[FrameListener] = set()
        self._new_frame = asyncio.Event()
        self._seq = 0

    def argv(self, url: str) -> list[str]:
        return frames_argv(url, width=self.width, rtsp_timeout_s=self.rtsp_timeout_s, ffmpeg_binary=self.ffmpeg)

    def want(self) -> None:
        """Note a look at this camera, and make sure its ffmpeg runs."""
        self.wanted_at = time.monotonic()
        self.start()

    def listen(self, listener: FrameListener) -> Callable[[], None]:
        """Call `listener` with each new frame (and now with the latest one); return the unsubscribe."""
        self._listeners.add(listener)
        self.viewers += 1
        self.want()
        if self.latest is not None:
            listener(self.latest)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.discard(listener)
                self.viewers -= 1
                self.wanted_at = time.monotonic()

        return unsubscribe

    async def next_frame(self, timeout_s: float, max_age_s: float | None = None) -> Frame | None:
        """Return the latest frame, waiting up to timeout_s for a first one; None at once if the camera fails.

        With max_age_s, a frame older than that does not count: wait for a newer one (None if none comes).
        """
        self.want()
        deadline = time.monotonic() + timeout_s
        self.viewers += 1  # a viewer while it waits, so that the idle reaper leaves the source running
        try:
            while self.latest is None or (max_age_s is not None and time.time() - self.latest.at > max_age_s):
                if self.state == LiveState.FAILING:
                    return None  # `error` says why
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._new_frame.clear()
                try:
                    await asyncio.wait_for(self._new_frame.wait(), remaining)
                except TimeoutError:
                    return None
            return self.latest
        finally:
            self.viewers -= 1
            self.wanted_at = time.monotonic()

    def run_failed(self) -> None:
        self._new_frame.set()  # wake whoever waits for a first frame: there will be none for now

    async def consume(self, stdout: asyncio.StreamReader) -> None:
        splitter = JpegSplitter()
        while chunk := await stdout.read(READ_CHUNK):
            for jpeg in splitter.feed(chunk):
                self._publish(jpeg)

    def _publish(self, jpeg: bytes) -> None:
        self._seq += 1
        frame = Frame(self.camera_id, jpeg, time.time(), self._seq)
        self.latest = frame
        self.produced()
        self._new_frame.set()
        for listener in list(self._listeners):
            try:
                listener(frame)
            except Exception:
                log.exception("camera %d: a frame listener failed", self.camera_id)
