"""/api/cameras: everyone who watches live reads the list; admins see the configuration and change it.

No answer ever holds a camera's password (only `has_password`) or credentials inside a URL. Admins
also try a camera's streams (/api/cameras/test) and move cameras in and out as CSV (/api/cameras.csv).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import Response

from appliance import camera_csv, cameras
from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.cameras import CameraInput, CameraPatch, ConnectionTest, StreamCheck, without_credentials
from appliance.db.models.cameras import AudioPolicy, Camera
from appliance.i18n import t
from web import context
from web.access import declare, require
from web.api.errors import request_language
from web.api.sites import service

router = APIRouter(prefix="/api/cameras", tags=["cameras"])


class CameraOut(BaseModel):
    """What a user who may watch live sees of a camera."""

    id: int
    name: str
    site_id: int | None
    site_name: str | None
    enabled: bool

    @classmethod
    def of(cls, camera: Camera) -> CameraOut:
        site = camera.site
        return cls(
            id=camera.id,
            name=camera.name,
            site_id=site.id if site else None,
            site_name=site.name if site else None,
            enabled=camera.enabled,
        )


class CameraDetailOut(CameraOut):
    """A camera's whole configuration, for those who manage cameras: never its password."""

    main_url: str
    sub_url: str
    username: str
    has_password: bool
    retention_days: int
    audio_policy: AudioPolicy
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, camera: Camera) -> CameraDetailOut:
        return cls(
            **CameraOut.of(camera).model_dump(),
            main_url=without_credentials(camera.main_url),
            sub_url=without_credentials(camera.sub_url),
            username=camera.username,
            has_password=bool(camera.password),
            retention_days=camera.retention_days,
            audio_policy=camera.audio_policy,
            created_at=camera.created_at,
            updated_at=camera.updated_at,
        )


def shown(who: Principal, camera: Camera) -> CameraDetailOut | CameraOut:
    """Return the configuration to those who manage cameras, and the name, site and state to others."""
    return CameraDetailOut.of(camera) if who.can(Permission.MANAGE_CAMERAS) else CameraOut.of(camera)


@router.get("")
async def list_cameras(who: Principal = require(Permission.VIEW_LIVE)) -> list[CameraDetailOut | CameraOut]:
    """List the cameras the caller may see (police: those of the sites granted to them)."""
    return [shown(who, c) for c in await cameras.cameras_for(who)]


@router.post("", status_code=201)
async def create_camera(
    body: CameraInput, request: Request, who: Principal = require(Permission.MANAGE_CAMERAS)
) -> CameraDetailOut:
    """Create a camera; its password is stored and never shown again."""
    return CameraDetailOut.of(await service().create_camera(body, who=who, ip=context.client_ip(request)))


class StreamCheckOut(BaseModel):
    """What one stream answered to ffprobe, or why it could not be read, in plain words."""

    ok: bool
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    error: str | None = None
    error_message: str | None = None

    @classmethod
    def of(cls, check: StreamCheck, lang: str) -> StreamCheckOut:
        if check.info is None:
            kind = check.failure or "unknown"
            return cls(ok=False, error=kind, error_message=t(check.message_key, lang))
        info = check.info
        return cls(ok=True, video_codec=info.video_codec, audio_codec=info.audio_codec, width=info.width,
                   height=info.height, fps=info.fps)  # fmt: skip


class ConnectionTestOut(BaseModel):
    main: StreamCheckOut
    sub: StreamCheckOut | None


@router.post("/test")
async def connection_test(
    body: ConnectionTest, request: Request, who: Principal = require(Permission.MANAGE_CAMERAS)
) -> ConnectionTestOut:
    """Probe the main (and sub) stream for at most 10 s each; a blank password uses the camera's stored one."""
    report = await cameras.try_connection(body)
    lang = request_language(request)
    sub = StreamCheckOut.of(report.sub, lang) if report.sub is not None else None
    return ConnectionTestOut(main=StreamCheckOut.of(report.main, lang), sub=sub)


@router.get("/{camera_id}")
async def get_camera(camera_id: int, who: Principal = require(Permission.VIEW_LIVE)) -> CameraDetailOut | CameraOut:
    """Return one camera."""
    return shown(who, await cameras.camera_for(who, camera_id))


@router.patch("/{camera_id}")
async def update_camera(
    camera_id: int, body: CameraPatch, request: Request, who: Principal = require(Permission.MANAGE_CAMERAS)
) -> CameraDetailOut:
    """Change the fields given; without a password the current one stays."""
    return CameraDetailOut.of(await service().update_camera(camera_id, body, who=who, ip=context.client_ip(request)))


@router.delete("/{camera_id}", status_code=204)
async def delete_camera(
    camera_id: int,
    request: Request,
    recordings: Literal["keep", "delete"] = "keep",
    who: Principal = require(Permission.MANAGE_CAMERAS),
) -> None:
    """Delete a camera; its recordings are kept (until retention) unless `recordings=delete`."""
    appliance = context.appliance()
    await service().delete_camera(camera_id, who=who, ip=context.client_ip(request))
    if recordings == "delete":
        await appliance.recorder.delete_recordings(camera_id)


# Declared for readers; writes also need MANAGE_CAMERAS, which require() checks per endpoint (403).
class RecordingStatusOut(BaseModel):
    camera_id: int
    state: str
    since: datetime
    offline_since: datetime | None
    error: str | None
    error_message: str | None
    fps: float
    bitrate_kbps: float
    last_segment_at: datetime | None
    restarts: int
    recording_now_since: datetime | None = None  # the start of the segment being written now


@router.get("/{camera_id}/status")
async def recording_status(
    camera_id: int, request: Request, who: Principal = require(Permission.VIEW_LIVE)
) -> RecordingStatusOut:
    """Say whether a camera records now, and if not, since when and why, in plain words."""
    camera = await cameras.camera_for(who, camera_id)
    status = context.appliance().recorder.status(camera.id)
    if status is None:
        return RecordingStatusOut(camera_id=camera.id, state="stopped", since=camera.updated_at, offline_since=None,
                                  error=None, error_message=None, fps=0, bitrate_kbps=0, last_segment_at=None,
                                  restarts=0)  # fmt: skip
    lang = request_language(request)
    return RecordingStatusOut(
        camera_id=camera.id, state=status.state.value, since=status.since, offline_since=status.failing_since,
        error=status.error, error_message=t(f"recorder.failure.{status.error}", lang) if status.error else None,
        fps=status.fps, bitrate_kbps=status.bitrate_kbps, last_segment_at=status.last_segment_at,
        restarts=status.restarts, recording_now_since=status.writing_since,
    )  # fmt: skip


# --- CSV ------------------------------------------------------------------------------------------


class ImportRowOut(BaseModel):
    line: int
    name: str
    site: str
    action: camera_csv.RowAction
    new_site: bool
    changes: list[str]
    errors: dict[str, str]


class ImportSavedOut(BaseModel):
    added: int
    updated: int
    sites_added: int


class ImportOut(BaseModel):
    """The preview of an import, row by row; `saved` once it was committed."""

    rows: list[ImportRowOut]
    ignored_columns: list[str]
    to_save: int
    with_errors: int
    saved: ImportSavedOut | None = None


def _row_out(row: camera_csv.ImportRow, lang: str) -> ImportRowOut:
    errors = {p.column or "row": p.text(lang) for p in row.problems}
    return ImportRowOut(line=row.line, name=row.name, site=row.site, action=row.action, new_site=row.new_site,
                        changes=row.changes, errors=errors)  # fmt: skip


async def _body(request: Request, limit: int) -> bytes:
    """Read a request body, but no more than `limit` bytes of it (one byte more tells it is too large)."""
    content = bytearray()
    async for chunk in request.stream():
        content += chunk
        if len(content) > limit:
            break
    return bytes(content)


@router.get(".csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def export_cameras(request: Request, who: Principal = require(Permission.MANAGE_CAMERAS)) -> Response:
    """Download every camera as CSV (never a password), for a spreadsheet or another WardCam."""
    listed = await cameras.cameras_for(who)
    await context.appliance().audit.record("cameras.exported", who=who, object_type="camera",
                                           ip=context.client_ip(request), detail={"cameras": len(listed)})  # fmt: skip
    filename = f"wardcam-cameras-{datetime.now():%Y%m%d}.csv"
    return Response(camera_csv.export_csv(listed), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip


@router.post(
    ".csv",
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_cameras(
    request: Request, commit: bool = False, who: Principal = require(Permission.MANAGE_CAMERAS)
) -> ImportOut:
    """Preview a CSV file of cameras row by row; with `commit=true`, save its valid rows and skip the others."""
    plan = await camera_csv.plan_import(await _body(request, camera_csv.MAX_BYTES))
    lang = request_language(request)
    saved = None
    if commit:
        result = await camera_csv.apply_import(plan, service(), who=who, ip=context.client_ip(request))
        saved = ImportSavedOut(added=result.added, updated=result.updated, sites_added=result.sites_added)
    return ImportOut(rows=[_row_out(r, lang) for r in plan.rows], ignored_columns=plan.ignored_columns,
                     to_save=len(plan.to_save), with_errors=len(plan.with_errors), saved=saved)  # fmt: skip


declare("/api/cameras.csv", Permission.MANAGE_CAMERAS)
declare("/api/cameras/test", Permission.MANAGE_CAMERAS)
declare("/api/cameras/{camera_id}/status", Permission.VIEW_LIVE)
declare("/api/cameras", Permission.VIEW_LIVE)
declare("/api/cameras/{camera_id}", Permission.VIEW_LIVE)
