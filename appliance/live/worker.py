"""One supervised ffmpeg for one camera, run only while someone watches.

The frame source and the video relay share this: ffmpeg is started when the first viewer comes,
restarted with backoff after any exit (a camera that drops makes ffmpeg exit with code 0), killed
when its output stops for `stall_s` (a hung camera), and stopped by the LiveService once nobody
has watched for a while. A failing camera never raises: its `error` says why, in the recorder's
plain failure kinds, and the next run is tried after the backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from appliance.process import die_with_parent, kill
from appliance.recorder.argv import redact
from appliance.recorder.failures import FailureKind, classify_failure
from appliance.recorder.supervisor import Backoff

log = logging.getLogger(__name__)

FFMPEG = "ffmpeg"
RTSP_TIMEOUT_S = 5.0
STALL_S = 20.0  # no output for this long (keyframes can be 10 s apart on some cameras): kill the run
FIRST_OUTPUT_S = 20.0
STOP_WAIT_S = 5.0
READ_CHUNK = 256 * 1024


@dataclass(frozen=True)
class CameraStreams:
    """Where a camera's streams are: URLs with percent-encoded credentials (never logged as they are)."""

    camera_id: int
    main: str = field(repr=False)
    sub: str = field(default="", repr=False)


StreamsProvider = Callable[[int], Awaitable[CameraStreams | None]]


class LiveState(StrEnum):
    """Where a live worker stands."""

    IDLE = "idle"  # nobody watches: no ffmpeg
    CONNECTING = "connecting"
    LIVE = "live"
    FAILING = "failing"  # the last run failed; the next one comes after the backoff


def input_options(url: str, rtsp_timeout_s: float = RTSP_TIMEOUT_S) -> dict[str, str]:
    """Return ffmpeg input options for a camera: RTSP over TCP, a socket timeout, and a short probe."""
    timeout_us = str(round(rtsp_timeout_s * 1_000_000))
    # ffmpeg's default 5 s analysis delays the first frame by 5 s; 1 s is enough to find one video stream
    options = {"analyzeduration": "1000000", "probesize": "1000000"}
    if url.lower().startswith(("rtsp://", "rtsps://")):
        return options | {"rtsp_transport": "tcp", "timeout": timeout_us}
    return options | {"rw_timeout": timeout_us}


class Worker:
    """Run one ffmpeg per camera while wanted; subclasses say what to run and what to do with its output."""

    kind = "live"
    prefers_sub = False  # use the sub stream when the camera has one

    def __init__(self, camera_id: int, streams: StreamsProvider, *, stall_s: float = STALL_S,
                 rtsp_timeout_s: float = RTSP_TIMEOUT_S, ffmpeg: str = FFMPEG) -> None:  # fmt: skip
        self.camera_id = camera_id
        self.streams = streams
        self.stall_s = stall_s
        self.rtsp_timeout_s = rtsp_timeout_s
        self.ffmpeg = ffmpeg
        self.state = LiveState.IDLE
        self.error: FailureKind | None = None
        self.runs = 0  # ffmpeg processes started so far
        self.backoff = Backoff()
        self.pid: int | None = None
        self._use_sub = self.prefers_sub
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._proc: asyncio.subprocess.Process | None = None
        self._last_output = 0.0
        self._produced = False
        self._stalled = False

    @property
    def running(self) -> bool:
        """Return whether the worker is supervising an ffmpeg (or waiting to restart one)."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start supervising in the background, unless already running."""
        if self.running:
            return
        self._stopping = asyncio.Event()
        self.state = LiveState.CONNECTING
        self._task = asyncio.get_running_loop().create_task(
            self._supervise(), name=f"live-{self.kind}-{self.camera_id}"
        )

    async def stop(self) -> None:
        """Stop ffmpeg and the supervision; the worker can be started again later."""
        self._stopping.set()
        proc = self._proc
        if proc is not None:
            await kill(proc)  # nothing to finalize: the output only ever goes to viewers
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(task, STOP_WAIT_S)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.state = LiveState.IDLE
        self.pid = None

    async def restart(self) -> None:
        """Start over with fresh settings (the camera changed)."""
        await self.stop()
        self.backoff = Backoff()
        self._use_sub = self.prefers_sub
        self.start()

    # --- for subclasses -------------------------------------------------------------------

    def argv(self, url: str) -> list[str]:
        """Return the ffmpeg command line for the stream at `url`."""
        raise NotImplementedError

    async def consume(self, stdout: asyncio.StreamReader) -> None:
        """Read ffmpeg's stdout until EOF; call produced() whenever a frame or fragment is complete."""
        raise NotImplementedError

    def run_started(self) -> None:
        """Forget what a previous run left half done."""

    def run_failed(self) -> None:
        """React to a run that ended (the state is FAILING and `error` says why)."""

    def produced(self) -> None:
        """Note that the run delivered something: it is live, and not stalled."""
        self._last_output = time.monotonic()
        self._produced = True
        if self.state != LiveState.LIVE:
            self.state = LiveState.LIVE
            self.error = None

    # --- supervision ----------------------------------------------------------------------

    async def _supervise(self) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                await self._run_once()
            except Exception:  # never let one camera's live view take anything else down
                log.exception("camera %d: live %s run failed", self.camera_id, self.kind)
                self.error = self.error or "unknown"
            if self._stopping.is_set():
                return
            self.state = LiveState.FAILING
            self.run_failed()
            delay = self.backoff.next(time.monotonic() - started)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _run_once(self) -> None:
        streams = await self.streams(self.camera_id)
        if streams is None:
            self.error = "not_found"
            return
        url = streams.sub if self._use_sub and streams.sub else streams.main
        self.run_started()
        self._produced = self._stalled = False
        started = time.monotonic()
        self._last_output = started + FIRST_OUTPUT_S - self.stall_s
        if self.state != LiveState.LIVE:
            self.state = LiveState.CONNECTING
        self._proc = proc = await asyncio.create_subprocess_exec(
            *self.argv(url),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=die_with_parent,
            limit=READ_CHUNK,
        )
        self.pid = proc.pid
        self.runs += 1
        assert proc.stdout is not None and proc.stderr is not None
        tail: deque[str] = deque(maxlen=20)
        tasks = [
            asyncio.create_task(self.consume(proc.stdout)),
            asyncio.create_task(_read_lines(proc.stderr, tail)),
            asyncio.create_task(self._watch(proc)),
        ]
        try:
            code = await proc.wait()
        finally:
            tasks[2].cancel()
            if proc.returncode is None:
                await kill(proc)
            results = await asyncio.gather(*tasks, return_exceptions=True)
            self._proc = None
        if self._stopping.is_set():
            return
        for result in results[:1]:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                log.warning("camera %d: live %s output unreadable: %s", self.camera_id, self.kind, result)
        reason = redact("\n".join(tail))
        ran = time.monotonic() - started
        kind = classify_failure(reason, waited_s=ran, timeout_s=self.rtsp_timeout_s)
        self.error = "timeout" if self._stalled or (kind == "unknown" and code == 0) else kind
        log.warning("camera %d: live %s ffmpeg exited (code %s, %s) after %.0f s%s", self.camera_id, self.kind,
                    code, self.error, ran, f": {reason[-200:]}" if reason else "")  # fmt: skip
        if not self._produced and streams.sub and self.prefers_sub:
            self._use_sub = not self._use_sub  # the sub stream fails: try the main stream (and back)

    async def _watch(self, proc: asyncio.subprocess.Process) -> None:
        """Kill a run whose output stops (a hung camera that keeps the connection open)."""
        while proc.returncode is None:
            await asyncio.sleep(1.0)
            if time.monotonic() - self._last_output > self.stall_s:
                log.warning("camera %d: live %s stalled for %.0f s; restarting it", self.camera_id, self.kind,
                            self.stall_s)  # fmt: skip
                self._stalled = True
                await kill(proc)
                return


async def _read_lines(stream: asyncio.StreamReader, tail: deque[str]) -> None:
    """Keep the last lines of ffmpeg's stderr, for the failure's reason."""
    while True:
        try:
            raw = await stream.readline()
        except ValueError:  # a line longer than the limit: keep going
            continue
        if not raw:
            return
        tail.append(raw.decode(errors="replace").rstrip())
