"""Motion detection while the add-on runs: one watch a camera, one worker thread for the numpy, one reporter.

- A CameraWatch runs the camera's motion ffmpeg (source.py), compares each frame with the
  background in the add-on's one worker thread (compare.py), and turns the results into episodes
  (episodes.py). Frames of one camera are compared one after another; the thread is shared by all
  cameras, so the comparisons never take more than one core whatever the number of cameras.
- The Reporter sends the episodes' reports through ctx.detections, in order, with their snapshots;
  a report that fails (the database away, a picture ffmpeg cannot encode) is logged and the next one
  goes on. Nothing of this runs on the frame path: the reports wait in a queue.
- MotionDetection follows the cameras: every enabled camera whose motion settings are on is
  watched; CameraChanged events start, restart (its streams may have changed) or stop a watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from addons.motion.compare import Comparer, Measurement
from addons.motion.config import CameraMotion, CameraSettingsStore, MotionOptions
from addons.motion.episodes import EpisodeTracker, Report
from addons.motion.snapshot import SnapshotFailed, encode_jpeg
from addons.motion.source import Frame, MotionSource
from appliance.bus import CameraChanged
from appliance.db.models.cameras import Camera
from appliance.detections import DetectionReport, Detections
from appliance.errors import WardCamError
from appliance.live.service import camera_streams
from appliance.live.worker import StreamsProvider

log = logging.getLogger("addons.motion")

SOURCE = "motion"
LABEL = "motion"
TICK_S = 1.0
DRAIN_S = 5.0  # how long a stopping add-on waits for its last reports


@dataclass
class ReporterStats:
    """What the reporter has done, for the page and the tests."""

    sent: int = 0
    snapshots: int = 0
    failed: int = 0


class Reporter:
    """Send episodes' reports to the detections service one at a time, in the order they came."""

    def __init__(self, detections: Callable[[], Detections]) -> None:
        self.detections = detections
        self.stats = ReporterStats()
        self._queue: asyncio.Queue[tuple[int, Report[Frame]] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sending."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="motion-reporter")

    def put(self, camera_id: int, report: Report[Frame]) -> None:
        """Queue one report."""
        self._queue.put_nowait((camera_id, report))

    async def stop(self) -> None:
        """Send what is queued (up to DRAIN_S), then stop."""
        task, self._task = self._task, None
        if task is None:
            return
        self._queue.put_nowait(None)
        try:
            await asyncio.wait_for(task, DRAIN_S)
        except TimeoutError:
            log.warning("motion: %d reports not sent before the add-on stopped", self._queue.qsize())

    async def _run(self) -> None:
        while (item := await self._queue.get()) is not None:
            camera_id, report = item
            try:
                await self.send(camera_id, report)
            except Exception as exc:  # one failed report never stops the others
                self.stats.failed += 1
                log.warning("camera %d: motion %s report %s not stored: %s", camera_id, report.phase,
                            report.event_id, exc)  # fmt: skip

    async def send(self, camera_id: int, report: Report[Frame]) -> None:
        """Store one report, and its snapshot if it has one."""
        detections = self.detections()
        row_id = await detections.report(DetectionReport(
            source=SOURCE, external_id=report.event_id, phase=report.phase, camera_id=camera_id, label=LABEL,
            score=report.score, zones=report.zones, start=report.start, end=report.end,
        ))  # fmt: skip
        self.stats.sent += 1
        if report.snapshot is not None:
            try:
                jpeg = await encode_jpeg(report.snapshot)
                await detections.attach_snapshot(row_id, jpeg)
            except (SnapshotFailed, WardCamError, OSError) as exc:
                self.stats.failed += 1
                log.warning("camera %d: no snapshot for motion %s: %s", camera_id, report.event_id, exc)
                return
            self.stats.snapshots += 1


class CameraWatch:
    """Watch one camera for motion."""

    def __init__(self, camera_id: int, settings: CameraMotion, options: MotionOptions, pool: ThreadPoolExecutor,
                 reporter: Reporter, streams: StreamsProvider = camera_streams) -> None:  # fmt: skip
        self.camera_id = camera_id
        self.settings = settings
        self.options = options
        self.pool = pool
        self.reporter = reporter
        self.source = MotionSource(camera_id, streams, self._on_frame, fps=options.fps, width=options.width)
        self.tracker: EpisodeTracker[Frame] = EpisodeTracker(camera_id, options.quiet_s)
        self.comparer: Comparer | None = None
        self.measurement = Measurement()  # the latest frame's

    def start(self) -> None:
        """Start the camera's motion ffmpeg."""
        self.source.start()

    async def stop(self) -> None:
        """Stop the ffmpeg and end the open episode."""
        await self.source.stop()
        self._send(self.tracker.close())

    async def configure(self, settings: CameraMotion) -> None:
        """Apply new settings from the next frame on (in the worker thread, between two comparisons)."""
        self.settings = settings
        comparer = self.comparer
        if comparer is not None:
            await asyncio.get_running_loop().run_in_executor(self.pool, comparer.configure, settings)

    def tick(self, now: float) -> None:
        """End an episode that has gone quiet even when no frame comes (a camera that stopped sending)."""
        self._send(self.tracker.tick(now))

    async def _on_frame(self, frame: Frame) -> None:
        comparer = self.comparer
        size = (frame.format.width, frame.format.height)
        if comparer is None or (comparer.width, comparer.height) != size:
            comparer = self.comparer = Comparer(*size, self.settings, self.options.fps)
        self.measurement = await asyncio.get_running_loop().run_in_executor(self.pool, comparer.feed, frame.luma)
        self._send(self.tracker.feed(self.measurement, frame.at, frame))

    def _send(self, reports: list[Report[Frame]]) -> None:
        for report in reports:
            self.reporter.put(self.camera_id, report)


class MotionDetection:
    """Watch every camera that motion detection should watch, and follow camera changes."""

    def __init__(self, options: MotionOptions, store: CameraSettingsStore, detections: Callable[[], Detections],
                 streams: StreamsProvider = camera_streams) -> None:  # fmt: skip
        self.options = options
        self.store = store
        self.streams = streams
        self.reporter = Reporter(detections)
        self.watches: dict[int, CameraWatch] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # camera changes and saves one at a time

    async def start(self) -> None:
        """Read the settings and start watching the cameras."""
        self.store.load()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="motion-compare")
        self.reporter.start()
        async with self._lock:
            for camera in await Camera.filter(enabled=True).order_by("id"):
                if self.store.get(camera.id).enabled:
                    self._watch(camera.id)
        self._ticker = asyncio.get_running_loop().create_task(self._tick_loop(), name="motion-ticker")
        log.info("motion detection watches %d camera(s) at %d frames/s, %d px wide", len(self.watches),
                 self.options.fps, self.options.width)  # fmt: skip

    async def stop(self) -> None:
        """Stop every watch, send the last reports, and stop the worker thread."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        async with self._lock:
            await asyncio.gather(*(watch.stop() for watch in self.watches.values()))
            self.watches.clear()
        await self.reporter.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    async def camera_changed(self, event: CameraChanged) -> None:
        """Start, restart or stop the camera's watch after it was created, edited or deleted."""
        async with self._lock:
            camera_id = event.camera_id
            if event.change == "deleted":
                await self._unwatch(camera_id)
                self.store.forget(camera_id)
                return
            camera = await Camera.get_or_none(id=camera_id)
            wanted = camera is not None and camera.enabled and self.store.get(camera_id).enabled
            watch = self.watches.get(camera_id)
            if not wanted:
                await self._unwatch(camera_id)
            elif watch is None:
                self._watch(camera_id)
            else:
                await watch.source.restart()  # the stream addresses or the password may have changed

    async def save(self, camera_id: int, settings: CameraMotion) -> None:
        """Keep a camera's new settings and apply them at once."""
        async with self._lock:
            self.store.set(camera_id, settings)
            camera = await Camera.get_or_none(id=camera_id)
            wanted = camera is not None and camera.enabled and settings.enabled
            watch = self.watches.get(camera_id)
            if not wanted:
                await self._unwatch(camera_id)
            elif watch is None:
                self._watch(camera_id)
            else:
                await watch.configure(settings)

    def _watch(self, camera_id: int) -> None:
        assert self._pool is not None
        watch = CameraWatch(camera_id, self.store.get(camera_id), self.options, self._pool, self.reporter,
                            self.streams)  # fmt: skip
        self.watches[camera_id] = watch
        watch.start()

    async def _unwatch(self, camera_id: int) -> None:
        watch = self.watches.pop(camera_id, None)
        if watch is not None:
            await watch.stop()

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = time.time()
            for watch in list(self.watches.values()):
                watch.tick(now)
