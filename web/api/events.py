"""/api/events: the detections the Events page shows, their snapshots, and acknowledging them.

Who may see events (VIEW_EVENTS: admins and operators) lists and opens them; who may acknowledge
(ACK_EVENTS) marks them handled. Times are ISO 8601; a time without a zone is the box's local time.

- `GET /api/events?camera_id=&site_id=&label=&source=&since=&until=&acknowledged=&text=&limit=&cursor=`:
  newest first, `limit` (at most 200) a page; `next_cursor` asks for the next page (null after the last).
- `GET /api/events/{event_id}`: one detection; opening one is audited (`detections.viewed`).
- `GET /api/events/{event_id}/snapshot.jpg`: its picture, only ever from the data folder's snapshots.
- `POST /api/events/acknowledge` `{"ids": [...]}`: audited (`detections.acknowledged`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from starlette.responses import FileResponse, Response

from appliance.audit_export import local_timezone
from appliance.auth.principal import Principal
from appliance.auth.roles import SITE_RESTRICTED, Permission
from appliance.detections import query, snapshots
from appliance.detections.query import MAX_ACKNOWLEDGE, MAX_PAGE, EventFilter, EventRow
from appliance.errors import NotFound
from web import context
from web.access import declare, require

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/events", tags=["events"])

PLAYBACK_LEAD_S = 5  # playback starts this much before the detection, to see what led to it
QUERY_NAMES = {"cameras": "camera_id", "labels": "label"}  # EventFilter's field -> the query parameter


class NoSnapshot(NotFound):
    """The detection has no picture (or it is gone from the disk)."""

    key = "events.error.no_snapshot"


def snapshot_url(row: EventRow) -> str | None:
    """Return where a detection's picture is served (versioned, so that a newer picture is fetched again)."""
    if not row.snapshot_path:
        return None
    return f"/api/events/{row.id}/snapshot.jpg?v={int(row.updated_at.timestamp())}"


def playback_url(row: EventRow) -> str | None:
    """Return the Recordings page at the detection's camera and moment (a few seconds before it)."""
    if row.camera_id is None:
        return None
    at = (row.start - timedelta(seconds=PLAYBACK_LEAD_S)).astimezone(local_timezone())
    return f"/recordings?camera={row.camera_id}&day={at:%Y-%m-%d}&at={at:%H:%M:%S}"


def visible_sites(who: Principal) -> frozenset[int] | None:
    """Return the sites a site-restricted user may see, or None for everyone else."""
    return who.site_ids if who.role in SITE_RESTRICTED else None


class EventOut(BaseModel):
    """One detection."""

    id: int
    source: str = Field(description="frigate, motion, or an add-on's name")
    camera_id: int | None = Field(description="None when the source's camera is not one of WardCam's")
    camera_name: str | None
    source_camera: str = Field(description="The camera's name at the source")
    site_id: int | None
    site_name: str | None
    label: str
    sub_label: str
    score: float = Field(description="The highest score seen, 0 to 1")
    zones: list[str]
    start: datetime
    end: datetime | None
    ongoing: bool
    has_clip: bool
    acknowledged_by: str | None = Field(description="Who acknowledged it (user name)")
    acknowledged_at: datetime | None
    snapshot_url: str | None
    playback_url: str | None = Field(description="The Recordings page at that moment")

    @classmethod
    def of(cls, row: EventRow) -> EventOut:
        return cls(
            id=row.id, source=row.source, camera_id=row.camera_id, camera_name=row.camera_name,
            source_camera=row.source_camera, site_id=row.site_id, site_name=row.site_name, label=row.label,
            sub_label=row.sub_label, score=row.score, zones=row.zones, start=row.start, end=row.end,
            ongoing=row.ongoing, has_clip=row.has_clip, acknowledged_by=row.acknowledged_by,
            acknowledged_at=row.acknowledged_at, snapshot_url=snapshot_url(row), playback_url=playback_url(row),
        )  # fmt: skip


class EventsOut(BaseModel):
    events: list[EventOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null after the last")


def _local(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=local_timezone()) if value is not None and value.tzinfo is None else value


def _in_query(errors: list[Any]) -> list[dict[str, Any]]:
    """Put the filter's validation errors on the query parameters they came from."""
    out = []
    for error in errors:
        loc = tuple(error.get("loc", ())) or ("until",)  # the one check across fields: until after since
        out.append({**error, "loc": ("query", QUERY_NAMES.get(str(loc[0]), str(loc[0])), *loc[1:])})
    return out


def event_filter(
    camera_id: list[int] = Query([], description="Only these cameras (repeat the parameter for several)"),
    site_id: int | None = Query(None, description="Only the cameras of this site"),
    label: list[str] = Query([], description="Only these labels: person, motorcycle, car, bicycle, motion, ..."),
    source: str = Query("", max_length=32, description="Only this source: frigate, motion, ..."),
    since: datetime | None = Query(None, description="Started at or after this time (ISO 8601)"),
    until: datetime | None = Query(None, description="Started before this time (ISO 8601)"),
    acknowledged: bool | None = Query(None, description="true: acknowledged ones only; false: the others"),
    text: str = Query("", max_length=128, description="Text in the sub label (a name, a number plate)"),
    limit: int = Query(50, ge=1, le=MAX_PAGE, description="Detections a page"),
    cursor: str = Query("", max_length=200, description="The next_cursor of the page before"),
) -> EventFilter:
    """Read the filter from the query string."""
    try:
        return EventFilter(
            cameras=camera_id, site_id=site_id, labels=label, source=source, since=_local(since), until=_local(until),
            acknowledged=acknowledged, text=text, limit=limit, cursor=cursor,
        )  # fmt: skip
    except ValidationError as exc:
        raise RequestValidationError(_in_query(exc.errors())) from None


@router.get("")
async def list_events(
    f: EventFilter = Depends(event_filter), who: Principal = require(Permission.VIEW_EVENTS)
) -> EventsOut:
    """List detections, newest first, a page at a time."""
    found = await query.search(f, visible_sites=visible_sites(who))
    return EventsOut(events=[EventOut.of(row) for row in found.rows], next_cursor=found.next_cursor)


class AcknowledgeIn(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=MAX_ACKNOWLEDGE, description="The detections to acknowledge")


class AcknowledgedOut(BaseModel):
    acknowledged: int = Field(description="How many were not acknowledged before")


# before /{event_id}: a route table matches in order, and "acknowledge" fits {event_id} too
@router.post("/acknowledge")
async def acknowledge_events(
    body: AcknowledgeIn, request: Request, who: Principal = require(Permission.ACK_EVENTS)
) -> AcknowledgedOut:
    """Mark detections as seen and handled (those acknowledged already keep who did it first)."""
    count = await query.acknowledge(body.ids, who, context.client_ip(request), context.appliance().audit)
    return AcknowledgedOut(acknowledged=count)


async def _one(who: Principal, event_id: int) -> EventRow:
    row = await query.get(event_id, visible_sites=visible_sites(who))
    if row is None:
        raise NotFound()
    return row


@router.get("/{event_id}")
async def get_event(event_id: int, request: Request, who: Principal = require(Permission.VIEW_EVENTS)) -> EventOut:
    """Open one detection (audited as detections.viewed; again within a minute is not a new entry)."""
    row = await _one(who, event_id)
    await query.viewed(row, who, context.client_ip(request), context.appliance().audit)
    return EventOut.of(row)


@router.get(
    "/{event_id}/snapshot.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The detection's picture"}},
)
async def get_snapshot(event_id: int, who: Principal = require(Permission.VIEW_EVENTS)) -> Response:
    """Return a detection's picture; 404 when it has none."""
    row = await _one(who, event_id)
    path = snapshots.resolve(context.appliance().settings.data_dir, row.snapshot_path)
    if path is None:
        if row.snapshot_path and ".." in row.snapshot_path.split("/"):
            log.warning("detection %d: snapshot path %r leaves the snapshots folder; refused", row.id,
                        row.snapshot_path)  # fmt: skip
        raise NoSnapshot()
    # the URLs the API gives carry a version (?v=), so a newer picture is a new URL
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})


declare("/api/events", Permission.VIEW_EVENTS)
declare("/api/events/{event_id}", Permission.VIEW_EVENTS)
declare("/api/events/{event_id}/snapshot.jpg", Permission.VIEW_EVENTS)
declare("/api/events/acknowledge", Permission.ACK_EVENTS)
