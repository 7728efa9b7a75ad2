"""/api/audit: the audit log as JSON, a page at a time, and as a CSV file for a spreadsheet."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from appliance import audit_export
from appliance.audit_export import AuditFilter
from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.db.models.audit import AuditEntry
from web import context
from web.access import declare, require

router = APIRouter(prefix="/api", tags=["audit"])


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_id: int | None
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any]
    ip: str
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            actor_id=entry.actor_id,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            detail=dict(entry.detail),
            ip=entry.ip,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )


class AuditPageOut(BaseModel):
    total: int
    limit: int
    offset: int
    entries: list[AuditEntryOut]


def audit_filter(
    actor: str = Query("", max_length=64, description="Only entries by this user"),
    action: str = Query("", max_length=64, description="Only entries of this action, e.g. auth.login"),
    since: str = Query("", max_length=40, description="From this date or ISO date and time (inclusive)"),
    until: str = Query("", max_length=40, description="Up to this date (the whole day) or ISO date and time"),
) -> AuditFilter:
    """Read the filter from the query string."""
    return audit_export.make_filter(actor, action, since, until)


@router.get("/audit")
async def list_entries(
    f: AuditFilter = Depends(audit_filter),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    _: Principal = require(Permission.VIEW_AUDIT),
) -> AuditPageOut:
    """List audit entries, newest first."""
    found = await audit_export.page(f, limit=limit, offset=offset)
    return AuditPageOut(
        total=found.total, limit=limit, offset=offset, entries=[AuditEntryOut.of(e) for e in found.entries]
    )


@router.get("/audit.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def export_entries(
    request: Request,
    f: AuditFilter = Depends(audit_filter),
    who: Principal = require(Permission.VIEW_AUDIT),
) -> Response:
    """Download the matching audit entries as CSV (UTF-8 with BOM); the export is itself audited."""
    export = await audit_export.export_csv(context.appliance().audit, f, who, ip=context.client_ip(request))
    return Response(
        export.content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


declare("/api/audit", Permission.VIEW_AUDIT)
declare("/api/audit.csv", Permission.VIEW_AUDIT)
