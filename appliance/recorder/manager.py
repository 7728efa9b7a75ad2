"""The recorder: one CameraRecorder per enabled camera, following camera changes at runtime."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from appliance.bus import CameraChanged, CameraOffline, CameraOnline, EventBus
from appliance.cameras import stream_url_with_credentials
from appliance.db.models.cameras import Camera
from appliance.db.models.recordings import Segment
from appliance.recorder.argv import RecordingPlan
from appliance.recorder.index import index_segment
from appliance.recorder.recovery import recover
from appliance.recorder.retention import Retention, volume_usage
from appliance.recorder.streams import StreamInfo
from appliance.recorder.supervisor import STALL_S, CameraRecorder, CameraStatus, RecorderState

log = logging.getLogger(__name__)


def _nothing() -> None:
    """Do nothing (the unsubscribe of a recorder that never started)."""


OFFLINE_AFTER_S = 120.0
RETENTION_EVERY_S = 60
SPACE_CHECK_EVERY_S = 5  # 62 cameras at 2 Mbit/s write 78 MB in 5 s: far less than any guard margin


def known_stream(camera: Camera) -> StreamInfo | None:
    """Return what the camera was last seen to send, or None if it never recorded."""
    if not camera.stream_video_codec:
        return None
    return StreamInfo(video_codec=camera.stream_video_codec, audio_codec=camera.stream_audio_codec or None,
                      width=camera.stream_width or None, height=camera.stream_height or None, fps=None)  # fmt: skip


class Recorder:
    """Record every enabled camera; start, restart and stop recorders as cameras change."""

    def __init__(self, recordings_dir: Path, bus: EventBus, offline_after_s: float = OFFLINE_AFTER_S,
                 segment_seconds: int = 10, stall_s: float = STALL_S, volume_limit_bytes: int | None = None,
                 ) -> None:  # fmt: skip
        self.dir = recordings_dir
        self.retention = Retention(recordings_dir, bus, volume_usage(recordings_dir, volume_limit_bytes))
        self.bus = bus
        self.offline_after_s = offline_after_s
        self.segment_seconds = segment_seconds
        self.stall_s = stall_s
        self.recorders: dict[int, CameraRecorder] = {}
        self._offline: set[int] = set()
        self._watch: asyncio.Task[None] | None = None
        self._retain: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] = _nothing

    async def start(self) -> None:
        """Recover what a crash left, then start recording every enabled camera."""
        global _current
        self.dir.mkdir(parents=True, exist_ok=True)
        _current = self
        await recover(self.dir, self.bus)
        for camera in await Camera.filter(enabled=True):
            self._start(camera)
        self._unsubscribe = self.bus.subscribe(CameraChanged, self._camera_changed)
        self._watch = asyncio.get_running_loop().create_task(self._watch_offline())
        self._retain = asyncio.get_running_loop().create_task(self._retention_loop())

    async def stop(self) -> None:
        """Stop every recorder; each finalizes its open segment."""
        global _current
        if _current is self:
            _current = None
        self._unsubscribe()
        for task in (self._watch, self._retain):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(r.stop() for r in self.recorders.values()))
        self.recorders.clear()

    async def delete_recordings(self, camera_id: int) -> int:
        """Delete every recording of a (deleted) camera, files and index; return how many segments."""
        recorder = self.recorders.pop(camera_id, None)
        if recorder is not None:
            await recorder.stop()
        rows = await Segment.filter(path__startswith=f"{camera_id}/")
        for row in rows:
            (self.dir / row.path).unlink(missing_ok=True)
        await Segment.filter(id__in=[r.id for r in rows]).delete()
        folder = self.dir / str(camera_id)
        if folder.is_dir():
            await asyncio.to_thread(shutil.rmtree, folder, True)
        log.info("recordings of camera %d deleted (%d segments)", camera_id, len(rows))
        return len(rows)

    def set_offline_after(self, seconds: float) -> None:
        """Change, at once, how long a camera may fail to record before it is announced offline."""
        self.offline_after_s = seconds

    def online(self, camera_id: int) -> bool:
        """Return whether the camera is being recorded and has not been announced offline."""
        return camera_id in self.recorders and camera_id not in self._offline

    def status(self, camera_id: int) -> CameraStatus | None:
        """Return one camera's recording status, if it is being recorded."""
        recorder = self.recorders.get(camera_id)
        return recorder.status if recorder else None

    def _start(self, camera: Camera) -> None:
        plan = RecordingPlan(url=stream_url_with_credentials(camera), camera_id=camera.id, output_dir=self.dir,
                             audio_policy=camera.audio_policy, segment_seconds=self.segment_seconds)  # fmt: skip
        recorder = CameraRecorder(plan, self._segment_closed, self._status_changed, stall_s=self.stall_s,
                                  known=known_stream(camera), on_stream=self._stream_learned)  # fmt: skip
        self.recorders[camera.id] = recorder
        recorder.start()
        log.info("recording camera %s (%d)", camera.name, camera.id)

    async def _camera_changed(self, event: CameraChanged) -> None:
        """Apply a camera change within seconds: restart with the new settings, or stop."""
        old = self.recorders.pop(event.camera_id, None)
        if old is not None:
            await old.stop()
        camera = await Camera.get_or_none(id=event.camera_id)
        if camera is not None and camera.enabled and event.change != "deleted":
            self._start(camera)
        else:
            self._offline.discard(event.camera_id)

    async def _stream_learned(self, camera_id: int, info: StreamInfo) -> None:
        """Remember on the camera's row what it sends, for the next start and for the panel."""
        await Camera.filter(id=camera_id).update(
            stream_video_codec=info.video_codec or "", stream_audio_codec=info.audio_codec or "",
            stream_width=info.width or 0, stream_height=info.height or 0,
        )  # fmt: skip

    async def _segment_closed(self, camera_id: int, path: Path) -> None:
        await index_segment(camera_id, path, self.dir, self.bus)

    def _status_changed(self, status: CameraStatus) -> None:
        if status.state == RecorderState.RECORDING and status.camera_id in self._offline:
            self._offline.discard(status.camera_id)
            self.bus.publish(CameraOnline(camera_id=status.camera_id))

    async def _retention_loop(self) -> None:
        """Run retention every minute, and at once whenever the disk is short of space."""
        while True:
            try:
                await self.retention.run_once()
            except Exception:  # retention must never stop, and never stop recording
                log.exception("retention pass failed")
            for _ in range(RETENTION_EVERY_S // SPACE_CHECK_EVERY_S):
                await asyncio.sleep(SPACE_CHECK_EVERY_S)
                if await asyncio.to_thread(self.retention.short_of_space):
                    break

    async def _watch_offline(self) -> None:
        """Announce a camera offline once it has not recorded for offline_after_s."""
        while True:
            await asyncio.sleep(1.0)
            now = datetime.now(UTC)
            for camera_id, recorder in list(self.recorders.items()):
                since = recorder.status.failing_since
                if since is None or camera_id in self._offline:
                    continue
                if (now - since).total_seconds() >= self.offline_after_s:
                    self._offline.add(camera_id)
                    self.bus.publish(CameraOffline(camera_id=camera_id, since=since))
                    log.warning("camera %d offline since %s", camera_id, since.isoformat(timespec="seconds"))


_current: Recorder | None = None


def current() -> Recorder:
    """Return the recorder of the appliance running in this process."""
    if _current is None:
        raise RuntimeError("the appliance's recorder is not running")
    return _current
