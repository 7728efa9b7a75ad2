"""The LiveService: at most one ffmpeg of each kind per camera, started on demand.

- a keyframe relay (the grid): the camera's keyframes, copied, for browsers to decode;
- a frame source (the latest frame as a JPEG): for GET frame.jpg, and for grid tiles whose browser
  cannot decode the camera's video (H.265 in most browsers) or whose only stream is large;
- a video relay (a camera's live page): its main stream, copied.

Keyframe relays and frame sources start when someone looks and stop after FRAME_IDLE_S without
anyone looking; a video relay stops RELAY_LINGER_S after its last viewer leaves (long enough for a
page reload not to restart ffmpeg). A camera change restarts what runs for that camera with the new
settings, or stops it when the camera is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from appliance.audit import AuditLog
from appliance.bus import CameraChanged, EventBus
from appliance.cameras import stream_url_with_credentials
from appliance.db.models.cameras import Camera
from appliance.live.frames import Frame, FrameSource
from appliance.live.relay import KeyframeRelay, LiveRelay
from appliance.live.views import ViewAudit
from appliance.live.worker import CameraStreams, StreamsProvider

log = logging.getLogger(__name__)

FRAME_IDLE_S = 30.0
RELAY_LINGER_S = 5.0
REAP_EVERY_S = 1.0
BROWSER_DECODES_UP_TO = 1280  # widest stream whose keyframes go to the grid as they are (else a JPEG)


async def camera_streams(camera_id: int) -> CameraStreams | None:
    """Return a camera's stream URLs with its credentials, or None when the camera is gone."""
    camera = await Camera.get_or_none(id=camera_id)
    if camera is None:
        return None
    sub = stream_url_with_credentials(camera, sub=True) if camera.sub_url else ""
    return CameraStreams(camera.id, stream_url_with_credentials(camera), sub)


def browser_decodes(camera: Camera) -> bool:
    """Return whether the grid sends the camera's keyframes as they are (its sub stream, or a small main
    stream), rather than JPEGs that the appliance decodes and scales (a large main stream)."""
    return bool(camera.sub_url) or 0 < camera.stream_width <= BROWSER_DECODES_UP_TO


def _nothing() -> None:
    """Do nothing (the unsubscribe of a service that never started)."""


class LiveService:
    """Own every live frame source and video relay of the appliance."""

    def __init__(self, bus: EventBus, audit: AuditLog, *, streams: StreamsProvider = camera_streams,
                 frame_idle_s: float = FRAME_IDLE_S, relay_linger_s: float = RELAY_LINGER_S) -> None:  # fmt: skip
        self.bus = bus
        self.views = ViewAudit(audit)
        self.streams = streams
        self.frame_idle_s = frame_idle_s
        self.relay_linger_s = relay_linger_s
        self.sources: dict[int, FrameSource] = {}
        self.relays: dict[int, LiveRelay] = {}
        self.keyframe_relays: dict[int, KeyframeRelay] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] = _nothing

    async def start(self) -> None:
        """Follow camera changes and stop what nobody watches; nothing runs until someone looks."""
        global _current
        self._unsubscribe = self.bus.subscribe(CameraChanged, self._camera_changed)
        self._reaper = asyncio.get_running_loop().create_task(self._reap_loop(), name="live-reaper")
        _current = self

    async def stop(self) -> None:
        """Stop every ffmpeg of the live view."""
        global _current
        if _current is self:
            _current = None
        self._unsubscribe()
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        workers = [*self.sources.values(), *self.relays.values(), *self.keyframe_relays.values()]
        await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)
        self.sources.clear()
        self.relays.clear()
        self.keyframe_relays.clear()

    # --- the grid ---------------------------------------------------------------------------

    def frames(self, camera_id: int) -> FrameSource:
        """Return the camera's frame source (created idle; listen() or next_frame() starts it)."""
        source = self.sources.get(camera_id)
        if source is None:
            source = self.sources[camera_id] = FrameSource(camera_id, self.streams)
        return source

    async def latest_frame(self, camera_id: int, wait_s: float = 0.0, max_age_s: float | None = None) -> Frame | None:
        """Return the camera's latest frame, waiting up to wait_s for a first one (or one newer than max_age_s)."""
        return await self.frames(camera_id).next_frame(wait_s, max_age_s)

    def keyframes(self, camera_id: int) -> KeyframeRelay:
        """Return the camera's keyframe relay (started by its first viewer's join())."""
        relay = self.keyframe_relays.get(camera_id)
        if relay is None:
            relay = self.keyframe_relays[camera_id] = KeyframeRelay(camera_id, self.streams)
        return relay

    # --- the video --------------------------------------------------------------------------

    def relay(self, camera_id: int) -> LiveRelay:
        """Return the camera's video relay (started by its first viewer's join())."""
        relay = self.relays.get(camera_id)
        if relay is None:
            relay = self.relays[camera_id] = LiveRelay(camera_id, self.streams)
        return relay

    # --- upkeep -----------------------------------------------------------------------------

    async def reap(self) -> None:
        """Stop the frame sources and relays that nobody has watched for a while."""
        now = time.monotonic()
        for camera_id, source in list(self.sources.items()):
            if source.viewers == 0 and now - source.wanted_at >= self.frame_idle_s:
                del self.sources[camera_id]
                await source.stop()
                log.debug("camera %d: frame source stopped (nobody looks)", camera_id)
        for camera_id, relay in list(self.relays.items()):
            if not relay.viewers and now - relay.left_at >= self.relay_linger_s:
                del self.relays[camera_id]
                await relay.stop()
                log.debug("camera %d: video relay stopped (no viewer)", camera_id)
        for camera_id, keyframes in list(self.keyframe_relays.items()):
            if not keyframes.viewers and now - keyframes.wanted_at >= self.frame_idle_s:
                del self.keyframe_relays[camera_id]
                await keyframes.stop()
                log.debug("camera %d: keyframe relay stopped (nobody looks)", camera_id)

    async def _reap_loop(self) -> None:
        while True:
            await asyncio.sleep(REAP_EVERY_S)
            try:
                await self.reap()
            except Exception:
                log.exception("stopping idle live views failed")

    async def _camera_changed(self, event: CameraChanged) -> None:
        """Restart what runs for a changed camera with its new settings; stop it for a deleted one."""
        groups: tuple[dict[int, FrameSource] | dict[int, LiveRelay] | dict[int, KeyframeRelay], ...] = (
            self.sources,
            self.relays,
            self.keyframe_relays,
        )
        for workers in groups:
            worker = workers.get(event.camera_id)
            if worker is None:
                continue
            if event.change == "deleted":
                del workers[event.camera_id]
                await worker.stop()
                if isinstance(worker, LiveRelay):
                    worker.close_viewers()
            elif worker.running:
                await worker.restart()


_current: LiveService | None = None


def current() -> LiveService:
    """Return the live service of the appliance running in this process."""
    if _current is None:
        raise RuntimeError("the appliance's live service is not running")
    return _current
