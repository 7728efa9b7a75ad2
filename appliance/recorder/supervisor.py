"""One supervised recording ffmpeg per camera: restarted on any exit, watched for stalls, indexed as it goes.

ffmpeg exits with code 0 when a camera drops, and never exits when a camera hangs unless told to
give up; so the supervisor restarts on every exit, with backoff, and kills a run whose progress
stops advancing for `stall_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from appliance.db.models.cameras import AudioPolicy
from appliance.net import camera_address, port_open_async
from appliance.process import die_with_parent, kill
from appliance.recorder.argv import RecordingPlan, parse_segment_line, recording_argv, redact, segment_dir, segment_path
from appliance.recorder.failures import FailureKind, audio_blocked, classify_failure, probe_too_short
from appliance.recorder.streams import InputDump, StreamInfo

log = logging.getLogger(__name__)

BACKOFF_START_S = 1.0
BACKOFF_CAP_S = 30.0
HEALTHY_RUN_S = 60.0  # a run this long resets the backoff
STALL_S = 15.0
FIRST_PROGRESS_S = 20.0  # ffmpeg reports progress only once its output header is written
STOP_GRACE_S = 5.0
_OPENING = re.compile(r"\[segment @ [^\]]+\] \[info\] Opening '(?P<path>[^']+\.mp4)' for writing")
REPLAN_DELAY_S = 1.2  # a segment's name has whole seconds: the next run must open its first one later
REACH_EVERY_S = 1.0  # while an unreachable camera's backoff runs, try its port this often


class RecorderState(StrEnum):
    """Where a camera's recording stands."""

    CONNECTING = "connecting"
    RECORDING = "recording"
    RECONNECTING = "reconnecting"
    ERROR = "error"
    STOPPED = "stopped"


@dataclass
class CameraStatus:
    """What the panel and the API show about one camera's recording."""

    camera_id: int
    state: RecorderState = RecorderState.CONNECTING
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    failing_since: datetime | None = None  # when it last stopped recording; None while it records
    error: FailureKind | None = None
    fps: float = 0.0
    bitrate_kbps: float = 0.0
    bytes_written: int = 0
    last_segment_at: datetime | None = None
    restarts: int = 0
    writing: str | None = None  # the segment being written now ("recording now"), relative to the recordings folder
    writing_since: datetime | None = None  # when ffmpeg opened it


SegmentHandler = Callable[[int, Path], Awaitable[None]]
StatusHandler = Callable[[CameraStatus], None]
StreamHandler = Callable[[int, StreamInfo], Awaitable[None]]


@dataclass
class Backoff:
    """1, 2, 4 ... 30 s between restarts; back to 1 s after a healthy run."""

    delay_s: float = BACKOFF_START_S

    def next(self, ran_s: float) -> float:
        """Return how long to wait before the next start, given how long the last run lasted."""
        if ran_s >= HEALTHY_RUN_S:
            self.delay_s = BACKOFF_START_S
        delay = self.delay_s
        self.delay_s = min(self.delay_s * 2, BACKOFF_CAP_S)
        return delay


class CameraRecorder:
    """Keep one camera recording until stopped."""

    def __init__(self, plan: RecordingPlan, on_segment: SegmentHandler, on_status: StatusHandler,
                 stall_s: float = STALL_S, known: StreamInfo | None = None,
                 on_stream: StreamHandler | None = None) -> None:  # fmt: skip
        self.plan = plan
        self.on_segment = on_segment
        self.on_status = on_status
        self.on_stream = on_stream
        self.stall_s = stall_s
        self.status = CameraStatus(plan.camera_id)
        self.backoff = Backoff()
        self._proc: asyncio.subprocess.Process | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._drop_audio = False
        self._long_probe = False  # the camera's parameters did not show within the quick analysis
        # What the camera was last seen to send (remembered on its row), read again from every run's
        # input dump; None: unknown, and the run records with a plan that fits any stream.
        self._info: StreamInfo | None = known
        self._replan = False  # the run found the camera sends other video than planned: restart at once
        self._progressed = False  # the run has written video
        self._stalled = False  # the watchdog killed the run

    def start(self) -> None:
        """Start supervising in the background."""
        self._task = asyncio.get_running_loop().create_task(self._supervise(), name=f"recorder-{self.plan.camera_id}")

    async def stop(self) -> None:
        """Stop recording: SIGINT finalizes the open segment; SIGKILL if ffmpeg does not exit in time."""
        self._stopping.set()
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), STOP_GRACE_S)
            except TimeoutError:
                await kill(proc)
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, STOP_GRACE_S)
            except TimeoutError:
                self._task.cancel()
        self._set(RecorderState.STOPPED)

    async def _supervise(self) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            await self._run_once()
            if self._stopping.is_set():
                return
            if self._replan:
                self._replan = False
                delay = REPLAN_DELAY_S
            else:
                self.status.restarts += 1
                delay = self.backoff.next(time.monotonic() - started)
            if self.status.error == "unreachable":
                await self._until_reachable(delay)  # a camera back from a power cut: at once, not at +30 s
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)

    async def _until_reachable(self, delay: float) -> None:
        """Wait out the backoff, but knock on the camera's port every second and end the wait as it opens.

        A TCP connect costs the camera nothing (no RTSP session), and an unreachable camera is the common
        case of a long outage: after a 20 s power cut the backoff alone would wait up to 30 s more.
        """
        target = camera_address(self.plan.url)
        deadline = time.monotonic() + delay
        while not self._stopping.is_set() and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), min(REACH_EVERY_S, deadline - time.monotonic()))
            if target is not None and not self._stopping.is_set() and await port_open_async(*target):
                log.info("camera %d answers again", self.plan.camera_id)
                return

    async def _run_once(self) -> None:
        """Run ffmpeg until it exits or stalls, with what the camera was last seen to send."""
        plan = self._plan_for(self._info)
        self._progressed = self._stalled = False
        for day in (date.today(), date.today() + timedelta(days=1)):  # ffmpeg does not create folders
            segment_dir(plan, day).mkdir(parents=True, exist_ok=True)
        argv = recording_argv(plan)
        started = time.monotonic()
        self._proc = proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=die_with_parent,
        )
        stderr_tail: deque[str] = deque(maxlen=40)
        last_progress = [time.monotonic() + FIRST_PROGRESS_S - self.stall_s]
        readers = [
            asyncio.create_task(self._read_stdout(proc, plan, last_progress)),
            asyncio.create_task(self._read_stderr(proc, plan, stderr_tail)),
        ]
        watchdog = asyncio.create_task(self._watch(proc, last_progress))
        code = await proc.wait()
        watchdog.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        self._proc = None
        self.status.writing = self.status.writing_since = None
        tail = redact("\n".join(stderr_tail))
        if self._stopping.is_set() or self._replan:
            return
        if audio_blocked(tail):
            log.warning("camera %d: audio holds the recording up; recording without audio", plan.camera_id)
            self._drop_audio = True
        if probe_too_short(tail) and not self._long_probe:
            log.warning("camera %d: its stream parameters take longer to show; analysing it longer", plan.camera_id)
            self._long_probe = True
        kind = classify_failure(tail, waited_s=time.monotonic() - started, timeout_s=plan.rtsp_timeout_s)
        if not self._progressed and kind in ("unknown", "not_video") and self._info is not None:
            self._info = None  # the camera may have changed what it sends: the next run fits any stream
        log.warning("camera %d: ffmpeg exited (code %s, %s) after %.0f s", plan.camera_id, code, kind,
                    time.monotonic() - started)  # fmt: skip
        if kind == "unknown" and self._stalled:
            kind = "timeout"  # the watchdog killed it: the camera hangs
        elif kind == "unknown" and code == 0:
            kind = "dropped"  # ffmpeg's end of stream: the camera hung up
        self._failed(kind, tail[-300:])

    def _plan_for(self, info: StreamInfo | None) -> RecordingPlan:
        video = info.video_codec if info is not None and info.video_codec in ("h264", "hevc") else None
        audio = None if self._drop_audio or info is None else info.audio_codec
        plan = replace(self.plan, video_codec=video, audio_codec=audio)  # type: ignore[arg-type]
        if self._drop_audio:
            plan = replace(plan, audio_policy=AudioPolicy.DROP)
        if self._long_probe:
            plan = replace(plan, analyze_s=None)
        return plan

    async def _read_stdout(self, proc: asyncio.subprocess.Process, plan: RecordingPlan,
                           last_progress: list[float]) -> None:  # fmt: skip
        """Follow ffmpeg's progress blocks and segment list, both on stdout."""
        assert proc.stdout is not None
        out_time = -1
        block: dict[str, str] = {}
        async for raw in proc.stdout:
            line = raw.decode(errors="replace").strip()
            closed = parse_segment_line(line)
            if closed is not None:
                path = segment_path(plan, closed.name, datetime.now())
                self.status.last_segment_at = datetime.now(UTC)
                try:
                    await self.on_segment(plan.camera_id, path)
                except Exception:
                    log.exception("camera %d: indexing %s failed", plan.camera_id, path.name)
                continue
            key, _, value = line.partition("=")
            block[key] = value
            if key != "progress":
                continue
            current = int(block.get("out_time_us", "0") or 0) if block.get("out_time_us", "N/A") != "N/A" else 0
            if current > out_time:
                out_time = current
                last_progress[0] = time.monotonic()
                self._recording(block)
            block = {}

    async def _read_stderr(self, proc: asyncio.subprocess.Process, plan: RecordingPlan, tail: deque[str]) -> None:
        """Keep the last lines (for the failure's reason) and learn the stream from the input dump."""
        assert proc.stderr is not None
        dump = InputDump()
        async for raw in proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            tail.append(line)
            opening = _OPENING.search(line)
            if opening is not None:
                self._writing(Path(opening["path"]))
                continue
            info = dump.feed(line)
            if info is not None:
                await self._learned(proc, plan, info)

    def _writing(self, path: Path) -> None:
        """Note the segment ffmpeg has just opened: the one shown as "recording now"."""
        try:
            self.status.writing = str(path.relative_to(self.plan.output_dir))
        except ValueError:
            self.status.writing = path.name
        self.status.writing_since = datetime.now(UTC)

    async def _learned(self, proc: asyncio.subprocess.Process, plan: RecordingPlan, info: StreamInfo) -> None:
        """Remember what the camera sends; restart at once if its video needs another plan (H.265's tag)."""
        if info != self._info:
            self._info = info
            if self.on_stream is not None:
                try:
                    await self.on_stream(plan.camera_id, info)
                except Exception:
                    log.exception("camera %d: remembering its stream failed", plan.camera_id)
        if (self._plan_for(info).video_codec == "hevc") != (plan.video_codec == "hevc") and proc.returncode is None:
            log.info("camera %d sends %s: restarting its recording with the matching MP4 tag", plan.camera_id,
                     info.video_codec)  # fmt: skip
            self._replan = True
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)

    async def _watch(self, proc: asyncio.subprocess.Process, last_progress: list[float]) -> None:
        """Kill a run whose output time stops advancing (a hung camera)."""
        while proc.returncode is None:
            # sleep until the run would count as stalled, not every second: 62 cameras, few wake-ups
            await asyncio.sleep(max(0.5, last_progress[0] + self.stall_s - time.monotonic() + 0.1))
            if time.monotonic() - last_progress[0] > self.stall_s and proc.returncode is None:
                log.warning("camera %d: no new video for %.0f s; restarting", self.plan.camera_id, self.stall_s)
                self._stalled = True
                await kill(proc)
                return

    def _recording(self, block: dict[str, str]) -> None:
        s = self.status
        with contextlib.suppress(ValueError):
            s.fps = float(block.get("fps", "0") or 0)
        with contextlib.suppress(ValueError):
            s.bytes_written = int(block.get("total_size", "0") or 0)
        bitrate = block.get("bitrate", "").removesuffix("kbits/s").strip()
        with contextlib.suppress(ValueError):
            s.bitrate_kbps = float(bitrate)
        self._progressed = True
        if s.state != RecorderState.RECORDING:
            self.backoff = Backoff() if s.failing_since is None else self.backoff
            s.error, s.failing_since = None, None
            self._set(RecorderState.RECORDING)

    def _failed(self, kind: FailureKind, detail: str) -> None:
        s = self.status
        s.error = kind
        if s.failing_since is None:
            s.failing_since = datetime.now(UTC)
        log.info("camera %d not recording: %s", self.plan.camera_id, kind)
        log.debug("camera %d: %s", self.plan.camera_id, detail)
        self._set(RecorderState.ERROR if kind in ("auth", "not_found", "not_video") else RecorderState.RECONNECTING)

    def _set(self, state: RecorderState) -> None:
        if self.status.state != state:
            self.status.state = state
            self.status.since = datetime.now(UTC)
        self.on_status(self.status)
