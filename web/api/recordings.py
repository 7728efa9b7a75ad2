"""/api/recordings: what a camera recorded, playback from any moment, and clips of a range.

Everyone who may play back (VIEW_PLAYBACK) uses them; police only for the cameras of their sites.
Times are ISO 8601; a time without a zone is the appliance's local time.

- `GET /api/recordings?camera_id=&start=&end=`: segments and merged ranges (the segment being written
  now is a range flagged `recording_now`), and the gaps.
- `GET /api/recordings/play?camera_id=&start=&playback=`: one continuous fragmented MP4 from the keyframe
  at or before `start`, for as long as the client reads. `playback` is an id the client picks, under which
  `GET /api/recordings/play/map?playback=` tells which wall-clock time each stretch of the stream shows.
- `POST /api/recordings/clips`, `GET /api/recordings/clips/{clip_id}` (progress) and
  `GET /api/recordings/clips/{clip_id}/file` (the MP4, once; then deleted); or, in one call,
  `GET /api/cameras/{camera_id}/clip?start=&end=`.
"""

from __future__ import annotations

import contextlib
import re
import time
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Query, Request
from nicegui import app
from pydantic import BaseModel, Field
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from appliance import cameras
from appliance.audit_export import local_timezone
from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.playback.clip import Clip, ClipFailed, ClipNotReady, ClipState
from appliance.playback.ranges import RecordedRange, SegmentRow
from appliance.playback.service import Playback
from appliance.playback.stream import PlaybackStream
from web import context
from web.access import declare, require

if TYPE_CHECKING:
    from appliance.app import Appliance

router = APIRouter(tags=["recordings"])

_services: weakref.WeakKeyDictionary[Appliance, Playback] = weakref.WeakKeyDictionary()


def playback() -> Playback:
    """Return the playback service of the appliance the panel serves (made on first use)."""
    appliance = context.appliance()
    service = _services.get(appliance)
    if service is None:
        recorder = appliance.recorder

        def writing_since(camera_id: int) -> datetime | None:
            status = recorder.status(camera_id)
            return status.writing_since if status is not None and status.writing else None

        service = Playback(recorder.dir, appliance.settings.data_dir / "tmp" / "clips", appliance.audit, writing_since)
        _services[appliance] = service
        app.on_shutdown(service.close)
    return service


def local(value: datetime) -> datetime:
    """Return a time with its zone: one given without is the appliance's local time."""
    return value if value.tzinfo is not None else value.replace(tzinfo=local_timezone())


# --- what was recorded -------------------------------------------------------------------------------


class RangeOut(BaseModel):
    start: datetime
    end: datetime
    segments: int
    recording_now: bool

    @classmethod
    def of(cls, r: RecordedRange) -> RangeOut:
        return cls(start=r.start, end=r.end, segments=r.segments, recording_now=r.recording_now)


class GapOut(BaseModel):
    start: datetime
    end: datetime


class SegmentOut(BaseModel):
    id: int
    start: datetime
    end: datetime
    duration_s: float
    size: int
    video_codec: str
    audio_codec: str
    width: int
    height: int

    @classmethod
    def of(cls, s: SegmentRow) -> SegmentOut:
        return cls(id=s.id, start=s.start, end=s.end, duration_s=s.duration_s, size=s.size, video_codec=s.video_codec,
                   audio_codec=s.audio_codec, width=s.width, height=s.height)  # fmt: skip


class RecordingsOut(BaseModel):
    camera_id: int
    start: datetime
    end: datetime
    ranges: list[RangeOut]
    gaps: list[GapOut]
    segments: list[SegmentOut]


@router.get("/api/recordings")
async def list_recordings(
    camera_id: int,
    start: datetime = Query(description="Start of the window (ISO 8601)"),
    end: datetime = Query(description="End of the window (ISO 8601; at most 8 days after start)"),
    segments: bool = Query(True, description="List the segments too, not only the ranges"),
    who: Principal = require(Permission.VIEW_PLAYBACK),
) -> RecordingsOut:
    """List a camera's recorded ranges, gaps and segments in a window."""
    camera = await cameras.camera_for(who, camera_id)
    found = await playback().recordings(camera.id, local(start), local(end), with_segments=segments)
    return RecordingsOut(
        camera_id=camera.id, start=found.start, end=found.end, ranges=[RangeOut.of(r) for r in found.ranges],
        gaps=[GapOut(start=g.start, end=g.end) for g in found.gaps],
        segments=[SegmentOut.of(s) for s in found.segments],
    )  # fmt: skip


declare("/api/recordings", Permission.VIEW_PLAYBACK)


# --- playback ------------------------------------------------------------------------------------------


class StreamResponse(StreamingResponse):
    """A playback stream that stops its ffmpeg however the response ends (the browser leaving included)."""

    def __init__(self, stream: PlaybackStream, ended: Callable[[float], Awaitable[object]]) -> None:
        self.stream = stream
        self.ended = ended  # told how long (s) the response was open, once it ends
        self.chunks = stream.chunks()
        headers = {"Cache-Control": "no-store", "X-Playback-Start": stream.start.isoformat(timespec="milliseconds")}
        super().__init__(self.chunks, media_type="video/mp4", headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        began = time.monotonic()
        try:
            await super().__call__(scope, receive, send)
        finally:
            # a browser that leaves while a chunk is being sent leaves the generator suspended: close it now
            with contextlib.suppress(RuntimeError):
                await self.chunks.aclose()
            await self.stream.close()
            await self.ended(time.monotonic() - began)


@router.get(
    "/api/recordings/play",
    response_class=Response,
    responses={200: {"content": {"video/mp4": {}}, "description": "Fragmented MP4, continuous"}},
)
async def play(
    request: Request,
    camera_id: int,
    start: datetime = Query(description="The moment to play from (ISO 8601)"),
    playback_id: str = Query("", alias="playback", max_length=64, description="An id the client picks for /map"),
    who: Principal = require(Permission.VIEW_PLAYBACK),
) -> Response:
    """Play a camera's recordings from a moment (the keyframe at or before it), across segments and days."""
    camera = await cameras.camera_for(who, camera_id)
    service = playback()
    stream = await service.open_stream(who, camera.id, local(start), playback_id)
    ip = context.client_ip(request)
    await service.played(who, camera, stream, ip)
    return StreamResponse(stream, lambda open_s: service.play_ended(who, camera, stream, open_s, ip))


declare("/api/recordings/play", Permission.VIEW_PLAYBACK)


class PieceOut(BaseModel):
    at: float = Field(description="Seconds into the stream")
    start: datetime = Field(description="The wall-clock time shown there")
    duration: float


class PlaybackMapOut(BaseModel):
    camera_id: int
    start: datetime
    done: bool = Field(description="The stream has ended: the pieces are all there will be")
    next: datetime | None = Field(description="Where a new stream must take over (the camera's video changed)")
    pieces: list[PieceOut]


@router.get("/api/recordings/play/map")
async def playback_map(
    playback_id: str = Query(alias="playback", max_length=64), who: Principal = require(Permission.VIEW_PLAYBACK)
) -> PlaybackMapOut:
    """Tell which wall-clock time each stretch of one of the caller's streams shows (gaps are left out)."""
    stream = playback().stream(who, playback_id)
    pieces = [PieceOut(at=round(p.at_s, 3), start=p.start, duration=round(p.duration_s, 3)) for p in stream.pieces]
    return PlaybackMapOut(camera_id=stream.camera_id, start=stream.start, done=stream.done, next=stream.next_start,
                          pieces=pieces)  # fmt: skip


declare("/api/recordings/play/map", Permission.VIEW_PLAYBACK)


# --- clips -------------------------------------------------------------------------------------------


class ClipIn(BaseModel):
    camera_id: int
    start: datetime
    end: datetime


class ClipOut(BaseModel):
    id: str
    camera_id: int
    state: ClipState
    progress: float = Field(description="0 to 1")
    start: datetime
    end: datetime
    begins: datetime = Field(description="The clip's first frame: the keyframe at or before start")
    duration_s: float
    download: str

    @classmethod
    def of(cls, clip: Clip) -> ClipOut:
        return cls(id=clip.id, camera_id=clip.camera_id, state=clip.state, progress=round(clip.progress, 3),
                   start=clip.start, end=clip.end, begins=clip.begins, duration_s=round(clip.duration_s, 3),
                   download=f"/api/recordings/clips/{clip.id}/file")  # fmt: skip


@router.post("/api/recordings/clips", status_code=202)
async def create_clip(body: ClipIn, who: Principal = require(Permission.VIEW_PLAYBACK)) -> ClipOut:
    """Start making a clip of a range (at most 2 hours) by stream copy; follow it, then download it."""
    camera = await cameras.camera_for(who, body.camera_id)
    clip = await playback().clips.create(camera.id, local(body.start), local(body.end), owner_id=who.user_id)
    return ClipOut.of(clip)


declare("/api/recordings/clips", Permission.VIEW_PLAYBACK)


@router.get("/api/recordings/clips/{clip_id}")
async def clip_status(clip_id: str, who: Principal = require(Permission.VIEW_PLAYBACK)) -> ClipOut:
    """Tell how far the making of one of the caller's clips has got."""
    return ClipOut.of(playback().clips.get(clip_id, who.user_id))


declare("/api/recordings/clips/{clip_id}", Permission.VIEW_PLAYBACK)


def clip_file_name(camera_name: str, clip: Clip) -> str:
    """Return a download name: the camera's name and the clip's first moment, local time."""
    name = re.sub(r"[^\w-]+", "-", camera_name).strip("-") or "camera"
    return f"{name}_{clip.begins.astimezone(local_timezone()):%Y-%m-%d_%H-%M-%S}.mp4"


class ClipFileResponse(FileResponse):
    """A clip's file, deleted once sent (or once the download broke off)."""

    def __init__(self, clip: Clip, service: Playback, filename: str) -> None:
        self.clip = clip
        self.service = service
        super().__init__(clip.path, media_type="video/mp4", filename=filename)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.service.clips.remove(self.clip)


async def _send_clip(who: Principal, clip: Clip, request: Request) -> Response:
    """Audit the download and send the clip's file, deleted once sent."""
    service = playback()
    if clip.state == ClipState.FAILED:
        service.clips.remove(clip)
        raise ClipFailed()
    if clip.state != ClipState.READY:
        raise ClipNotReady()
    camera = await cameras.camera_for(who, clip.camera_id)
    await service.clip_downloaded(who, camera, clip, context.client_ip(request))
    service.clips.clips.pop(clip.id, None)  # one download: a second request finds nothing
    return ClipFileResponse(clip, service, filename=clip_file_name(camera.name, clip))


@router.get(
    "/api/recordings/clips/{clip_id}/file",
    response_class=Response,
    responses={200: {"content": {"video/mp4": {}}, "description": "The clip"}},
)
async def clip_file(clip_id: str, request: Request, who: Principal = require(Permission.VIEW_PLAYBACK)) -> Response:
    """Download one of the caller's clips once it is ready (it is deleted afterwards)."""
    return await _send_clip(who, playback().clips.get(clip_id, who.user_id), request)


declare("/api/recordings/clips/{clip_id}/file", Permission.VIEW_PLAYBACK)


@router.get(
    "/api/cameras/{camera_id}/clip",
    response_class=Response,
    responses={200: {"content": {"video/mp4": {}}, "description": "The clip"}},
)
async def camera_clip(
    camera_id: int,
    request: Request,
    start: datetime = Query(description="Start of the range (ISO 8601); the clip starts at the keyframe before it"),
    end: datetime = Query(description="End of the range (ISO 8601), at most 2 hours after start"),
    who: Principal = require(Permission.VIEW_PLAYBACK),
) -> Any:
    """Make a clip of a range and send it in one call (the API's way; the page shows progress instead)."""
    camera = await cameras.camera_for(who, camera_id)
    service = playback()
    clip = await service.clips.create(camera.id, local(start), local(end), owner_id=who.user_id)
    await service.clips.wait(clip)
    return await _send_clip(who, clip, request)


declare("/api/cameras/{camera_id}/clip", Permission.VIEW_PLAYBACK)
