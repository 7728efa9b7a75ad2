"""/api/requests: footage requests from the police, with the same role rules as the Footage requests page.

Police (REQUEST_FOOTAGE) make requests and see only their own, on the sites granted to them; ward
admins (APPROVE_FOOTAGE) see all, approve or reject them, have their evidence packages made, and mark
them delivered and closed. Opening one request, downloading, verifying and reading the handover record
are audited. Times are ISO 8601; a time without a zone is the box's local time.

- `GET /api/requests?status=`: newest first.
- `POST /api/requests`: a new request (pending).
- `GET /api/requests/{id}`: one request (audited: `requests.viewed`).
- `POST /api/requests/{id}/approve|reject` `{"note": ...}`; `POST /api/requests/{id}/export` `{"variant": ...}`;
  `POST /api/requests/{id}/deliver|close`.
- `GET /api/requests/{id}/progress`: the export job's state and progress (0 to 1).
- `POST /api/requests/{id}/link`: a download link for the caller, working for the set time.
- `GET /api/requests/download/{token}`: the package (audited: `requests.downloaded`).
- `POST /api/requests/{id}/verify`: check the stored package (audited: `requests.verified`).
- `GET /api/requests/{id}/handover.pdf`: the handover record in the package (audited).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import FileResponse, Response

from appliance.audit_export import local_timezone
from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.db.models.requests import FootageRequest, RequestStatus, Urgency
from appliance.requests.access import downloadable, visible_request, visible_requests
from appliance.requests.desk import RequestDesk
from appliance.requests.workflow import RequestInput
from web import context
from web.access import AUTHENTICATED, declare, require

router = APIRouter(prefix="/api/requests", tags=["footage requests"])

Variant = Literal["original", "burned_in"]


def desk() -> RequestDesk:
    """Return the request desk of the running appliance."""
    appliance = context.appliance()
    return RequestDesk(appliance.settings.data_dir, appliance.audit, appliance.requests.key)


class RequestIn(BaseModel):
    """A footage request, as an officer (or staff for an officer) types it."""

    officer_name: str = Field(max_length=4000)
    officer_unit: str = Field(max_length=4000)
    officer_badge: str = Field(max_length=4000, description="Badge or ID number")
    case_number: str = Field(max_length=4000, description="Case or document number")
    reason: str = Field(max_length=8000)
    camera_ids: list[int] = Field(default_factory=list, max_length=500)
    site_id: int | None = Field(default=None, description="A whole site instead of cameras")
    start: datetime
    end: datetime
    urgency: Urgency = Urgency.NORMAL
    officer_user_id: int | None = Field(default=None, description="Staff entering it for this police user")


class RequestOut(BaseModel):
    """One footage request and what became of it."""

    id: int
    status: RequestStatus
    urgency: Urgency
    officer_name: str
    officer_unit: str
    officer_badge: str
    case_number: str
    reason: str
    site_id: int | None
    camera_ids: list[int]
    start: datetime
    end: datetime
    created_by: str
    created_at: datetime
    officer_user_id: int | None
    decided_by: str
    decided_at: datetime | None
    decision_note: str
    exported_at: datetime | None
    export_variant: str
    package_sha256: str = Field(description="SHA-256 of the signed manifest")
    package_size: int
    export_error: str
    delivered_at: datetime | None
    closed_at: datetime | None
    hold_until: datetime | None
    downloadable: bool

    @classmethod
    def of(cls, r: FootageRequest, who: Principal) -> RequestOut:
        return cls(
            id=r.id, status=r.status, urgency=r.urgency, officer_name=r.officer_name, officer_unit=r.officer_unit,
            officer_badge=r.officer_badge, case_number=r.case_number, reason=r.reason, site_id=r.site_id,
            camera_ids=list(r.camera_ids), start=r.start, end=r.end, created_by=r.created_by,
            created_at=r.created_at, officer_user_id=r.officer_user_id, decided_by=r.decided_by,
            decided_at=r.decided_at, decision_note=r.decision_note, exported_at=r.exported_at,
            export_variant=r.export_variant, package_sha256=r.package_sha256, package_size=r.package_size,
            export_error=r.export_error, delivered_at=r.delivered_at, closed_at=r.closed_at,
            hold_until=r.hold_until, downloadable=downloadable(who, r),
        )  # fmt: skip


class NoteIn(BaseModel):
    note: str = Field(default="", max_length=4000)


class ExportIn(BaseModel):
    variant: Variant = Field(default="original", description="burned_in: date, time and camera drawn in (re-encoded)")


class ProgressOut(BaseModel):
    state: str = Field(description="none, queued, working, done or failed")
    progress: float = Field(description="0 to 1")
    error: str


class LinkOut(BaseModel):
    url: str
    expires_at: datetime


class VerifyOut(BaseModel):
    ok: bool
    fingerprint: str
    files_ok: int
    problems: list[str] = Field(description="kind:file for each problem found")


def _local(value: datetime) -> datetime:
    return value.replace(tzinfo=local_timezone()) if value.tzinfo is None else value


@router.get("")
async def list_requests(
    status: RequestStatus | None = Query(None), who: Principal = require(AUTHENTICATED)
) -> list[RequestOut]:
    """List the footage requests the caller may see, newest first."""
    return [RequestOut.of(r, who) for r in await visible_requests(who, status)]


@router.post("", status_code=201)
async def create_request(
    body: RequestIn, request: Request, who: Principal = require(Permission.REQUEST_FOOTAGE)
) -> RequestOut:
    """Make a new footage request (pending until a ward admin decides)."""
    data = RequestInput(
        officer_name=body.officer_name, officer_unit=body.officer_unit, officer_badge=body.officer_badge,
        case_number=body.case_number, reason=body.reason, start=_local(body.start), end=_local(body.end),
        camera_ids=tuple(body.camera_ids), site_id=body.site_id, urgency=body.urgency,
        officer_user_id=body.officer_user_id,
    )  # fmt: skip
    created = await context.appliance().requests.workflow.create(who, data, context.client_ip(request))
    return RequestOut.of(created, who)


declare("/api/requests", AUTHENTICATED)  # GET: visibility rules; POST: REQUEST_FOOTAGE (checked again inside)


@router.get("/{request_id}")
async def get_request(request_id: int, request: Request, who: Principal = require(AUTHENTICATED)) -> RequestOut:
    """Open one request (written to the audit log)."""
    return RequestOut.of(await desk().open(who, request_id, context.client_ip(request)), who)


declare("/api/requests/{request_id}", AUTHENTICATED)


@router.post("/{request_id}/approve")
async def approve(request_id: int, body: NoteIn, request: Request,
                  who: Principal = require(Permission.APPROVE_FOOTAGE)) -> RequestOut:  # fmt: skip
    """Approve a pending request: its footage is locked as evidence at once."""
    workflow = context.appliance().requests.workflow
    return RequestOut.of(await workflow.approve(who, request_id, body.note, context.client_ip(request)), who)


@router.post("/{request_id}/reject")
async def reject(request_id: int, body: NoteIn, request: Request,
                 who: Principal = require(Permission.APPROVE_FOOTAGE)) -> RequestOut:  # fmt: skip
    """Reject a pending request; the note says why."""
    workflow = context.appliance().requests.workflow
    return RequestOut.of(await workflow.reject(who, request_id, body.note, context.client_ip(request)), who)


@router.post("/{request_id}/export", status_code=202)
async def export(request_id: int, body: ExportIn, who: Principal = require(Permission.APPROVE_FOOTAGE)) -> ProgressOut:
    """Queue the making of the request's evidence package."""
    job = await context.appliance().requests.export(who, request_id, variant=body.variant)
    return ProgressOut(state=str(job.state), progress=job.progress, error=job.error)


@router.post("/{request_id}/deliver")
async def deliver(
    request_id: int, request: Request, who: Principal = require(Permission.APPROVE_FOOTAGE)
) -> RequestOut:
    """Note that the package was handed to the police."""
    workflow = context.appliance().requests.workflow
    return RequestOut.of(await workflow.delivered(who, request_id, context.client_ip(request)), who)


@router.post("/{request_id}/close")
async def close(request_id: int, request: Request, who: Principal = require(Permission.APPROVE_FOOTAGE)) -> RequestOut:
    """Close a request; its evidence stays locked for the hold period."""
    workflow = context.appliance().requests.workflow
    return RequestOut.of(await workflow.close(who, request_id, context.client_ip(request)), who)


for _step in ("approve", "reject", "export", "deliver", "close"):
    declare(f"/api/requests/{{request_id}}/{_step}", Permission.APPROVE_FOOTAGE)


@router.get("/{request_id}/progress")
async def progress(request_id: int, who: Principal = require(AUTHENTICATED)) -> ProgressOut:
    """Tell how far the request's export is."""
    await visible_request(who, request_id)
    job = context.appliance().requests.exports.jobs.get(request_id)
    if job is None:
        return ProgressOut(state="none", progress=0.0, error="")
    return ProgressOut(state=str(job.state), progress=round(job.progress, 3), error=job.error)


declare("/api/requests/{request_id}/progress", AUTHENTICATED)


@router.post("/{request_id}/link")
async def make_link(request_id: int, who: Principal = require(AUTHENTICATED)) -> LinkOut:
    """Make a download link of the request's package for the caller; it works for the set time."""
    link = await desk().link(who, request_id)
    return LinkOut(url=f"/api/requests/download/{link.token}",
                   expires_at=datetime.fromtimestamp(link.expires_at, local_timezone()))  # fmt: skip


declare("/api/requests/{request_id}/link", AUTHENTICATED)


@router.get("/download/{token}", response_class=Response)
async def download(token: str, request: Request, who: Principal = require(AUTHENTICATED)) -> Response:
    """Download an evidence package by a link made for the caller (written to the audit log)."""
    footage, path = await desk().download(who, token, context.client_ip(request))
    name = f"wardcam-evidence-{footage.id}.zip"
    return FileResponse(path, media_type="application/zip", filename=name, headers={"Cache-Control": "no-store"})


declare("/api/requests/download/{token}", AUTHENTICATED)


@router.post("/{request_id}/verify")
async def verify(request_id: int, request: Request, who: Principal = require(AUTHENTICATED)) -> VerifyOut:
    """Check the stored package's signature and every file's hash (written to the audit log)."""
    result = await desk().verify(who, request_id, context.client_ip(request))
    return VerifyOut(ok=result.ok, fingerprint=result.fingerprint, files_ok=result.files_ok,
                     problems=[f"{p.kind}:{p.name}" for p in result.problems])  # fmt: skip


declare("/api/requests/{request_id}/verify", AUTHENTICATED)


@router.get("/{request_id}/handover.pdf", response_class=Response)
async def handover(request_id: int, request: Request, who: Principal = require(AUTHENTICATED)) -> Response:
    """Show the handover record (biên bản bàn giao) in the request's package."""
    data = await desk().handover(who, request_id, context.client_ip(request))
    headers = {"Cache-Control": "no-store", "Content-Disposition": f'inline; filename="handover-{request_id}.pdf"'}
    return Response(data, media_type="application/pdf", headers=headers)


declare("/api/requests/{request_id}/handover.pdf", AUTHENTICATED)
