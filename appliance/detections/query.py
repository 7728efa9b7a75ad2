"""Finding detections for the Events page and /api/events, and acknowledging them.

Detections are listed newest first by (start, id), a page at a time with a keyset cursor: the next
page starts after the last row shown, so rows written meanwhile never shift or repeat a page (as an
offset would), and a deep page costs what the first one does (the (start) index does the work).
Each row comes with its camera's and site's names from one query (LEFT JOINs), never one per row.
"""

from __future__ import annotations

import base64
import binascii
import time
import weakref
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.db.models.detections import Detection

MAX_PAGE = 200
DEFAULT_PAGE = 50
MAX_ACKNOWLEDGE = 500  # ids in one acknowledgement
VIEW_AGAIN_S = 60.0  # the same user opening the same detection again within this is not a new audit entry

TIMES = ("start", "end", "acknowledged_at", "updated_at")
ROW_FIELDS = (
    "id", "source", "external_id", "camera_id", "source_camera", "label", "sub_label", "top_score", "zones",
    "start", "end", "snapshot_path", "has_clip", "acknowledged_at", "updated_at",
)  # fmt: skip
JOINED_FIELDS = {
    "camera_name": "camera__name",
    "site_id": "camera__site_id",
    "site_name": "camera__site__name",
    "acknowledged_by": "acknowledged_by__username",
}


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class Cursor(BaseModel):
    """Where the next page starts: after the row with this start and id."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    id: int

    def encode(self) -> str:
        """Return the cursor as an opaque URL-safe string."""
        micros = round(self.start.timestamp() * 1_000_000)
        return base64.urlsafe_b64encode(f"{micros}.{self.id}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Read a cursor made by encode(); ValueError for anything else."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
            micros, _, row_id = raw.partition(".")
            start = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(micros))
            return cls(start=start, id=int(row_id))
        except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
            raise ValueError("not a cursor") from exc


class EventFilter(BaseModel):
    """Which detections to list: every one when no field is set. Times are inclusive `since`, exclusive `until`."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    cameras: list[int] = Field(default_factory=list, max_length=500, description="Only these cameras (ids)")
    site_id: int | None = Field(default=None, description="Only the cameras of this site")
    labels: list[str] = Field(default_factory=list, max_length=50, description="Only these labels (person, motion...)")
    source: str = Field(default="", max_length=32, description="Only this source (frigate, motion, ...)")
    since: datetime | None = Field(default=None, description="Started at or after this time")
    until: datetime | None = Field(default=None, description="Started before this time")
    acknowledged: bool | None = Field(default=None, description="Only acknowledged (true) or not yet (false)")
    text: str = Field(default="", max_length=128, description="Text in the sub label (a name, a plate)")
    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="Detections a page")
    cursor: str = Field(default="", max_length=200, description="next_cursor of the page before")
    ids: list[int] = Field(default_factory=list, max_length=MAX_PAGE, description="Only these detections")

    @field_validator("since", "until")
    @classmethod
    def _with_zone(cls, value: datetime | None) -> datetime | None:
        return _aware(value)

    @field_validator("cursor")
    @classmethod
    def _readable_cursor(cls, value: str) -> str:
        if value:
            try:
                Cursor.decode(value)
            except ValueError:
                raise PydanticCustomError("events.error.cursor", "not a cursor") from None
        return value

    @model_validator(mode="after")
    def _ordered(self) -> EventFilter:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise PydanticCustomError("events.error.range", "until must come after since")
        return self

    def after(self) -> Cursor | None:
        """Return the decoded cursor, if any."""
        return Cursor.decode(self.cursor) if self.cursor else None


class EventRow(BaseModel):
    """One detection as lists show it, with its camera's and site's names."""

    id: int
    source: str
    external_id: str
    camera_id: int | None
    camera_name: str | None
    source_camera: str
    site_id: int | None
    site_name: str | None
    label: str
    sub_label: str
    score: float
    zones: list[str]
    start: datetime
    end: datetime | None
    snapshot_path: str
    has_clip: bool
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    updated_at: datetime

    @property
    def ongoing(self) -> bool:
        """Return whether the detection has not ended yet."""
        return self.end is None

    @property
    def acknowledged(self) -> bool:
        """Return whether someone acknowledged it."""
        return self.acknowledged_at is not None

    @classmethod
    def of(cls, values: dict[str, Any]) -> EventRow:
        row = {k: values[k] for k in (*ROW_FIELDS, *JOINED_FIELDS) if k != "top_score"}
        row.update({k: _aware(values[k]) for k in TIMES}, score=values["top_score"])
        return cls.model_validate(row)


class EventPage(BaseModel):
    """One page of detections, newest first, and the cursor of the next page (None after the last)."""

    rows: list[EventRow]
    next_cursor: str | None


def _conditions(f: EventFilter, visible_sites: Collection[int] | None) -> Q:
    q = Q()
    if f.cameras:
        q &= Q(camera_id__in=f.cameras)
    if f.site_id is not None:
        q &= Q(camera__site_id=f.site_id)
    if visible_sites is not None:
        q &= Q(camera__site_id__in=list(visible_sites))
    if f.labels:
        q &= Q(label__in=f.labels)
    if f.source:
        q &= Q(source=f.source)
    if f.since is not None:
        q &= Q(start__gte=f.since)
    if f.until is not None:
        q &= Q(start__lt=f.until)
    if f.acknowledged is not None:
        q &= Q(acknowledged_at__isnull=not f.acknowledged)
    if f.text:
        q &= Q(sub_label__icontains=f.text)
    if f.ids:
        q &= Q(id__in=f.ids)
    after = f.after()
    if after is not None:
        q &= Q(start__lt=after.start) | Q(start=after.start, id__lt=after.id)
    return q


async def search(f: EventFilter, *, visible_sites: Collection[int] | None = None) -> EventPage:
    """Return one page of the detections the filter matches, newest first.

    `visible_sites`, when given, keeps only the cameras of those sites (for a site-restricted user).
    """
    values = (
        await Detection.filter(_conditions(f, visible_sites))
        .order_by("-start", "-id")
        .limit(f.limit + 1)
        .values(*ROW_FIELDS, **JOINED_FIELDS)
    )
    rows = [EventRow.of(v) for v in values[: f.limit]]
    more = len(values) > f.limit
    next_cursor = Cursor(start=rows[-1].start, id=rows[-1].id).encode() if more and rows else None
    return EventPage(rows=rows, next_cursor=next_cursor)


async def get(detection_id: int, *, visible_sites: Collection[int] | None = None) -> EventRow | None:
    """Return one detection with its camera's and site's names, or None."""
    found = await search(EventFilter(ids=[detection_id], limit=1), visible_sites=visible_sites)
    return found.rows[0] if found.rows else None


async def labels_seen() -> list[str]:
    """Return every label stored so far, sorted (the filter's choices)."""
    labels = await Detection.all().distinct().order_by("label").values_list("label", flat=True)
    return [str(label) for label in labels]


async def acknowledge(ids: list[int], who: Principal, ip: str, audit: AuditLog) -> int:
    """Mark detections as seen and handled by `who`; return how many were not acknowledged before.

    Detections acknowledged already keep who did it first. One audit entry lists the ones acknowledged now.
    """
    wanted = sorted(set(ids))[:MAX_ACKNOWLEDGE]
    if not wanted:
        return 0
    now = datetime.now(UTC)
    async with in_transaction():
        open_rows = await Detection.filter(id__in=wanted, acknowledged_at__isnull=True).values("id")
        changed = [int(row["id"]) for row in open_rows]
        if changed:
            await Detection.filter(id__in=changed, acknowledged_at__isnull=True).update(
                acknowledged_by_id=who.user_id, acknowledged_at=now
            )
    if changed:
        await audit.record(
            "detections.acknowledged", who=who, object_type="detection",
            object_id=changed[0] if len(changed) == 1 else "", detail={"ids": changed, "count": len(changed)}, ip=ip,
        )  # fmt: skip
    return len(changed)


# when each (user, detection) was last audited as viewed, per audit log (one per appliance)
_last_views: weakref.WeakKeyDictionary[AuditLog, dict[tuple[int, int], float]] = weakref.WeakKeyDictionary()


async def viewed(row: EventRow, who: Principal, ip: str, audit: AuditLog) -> bool:
    """Write `detections.viewed` when a user opens a detection; the same one again within a minute is not new.

    Returns whether an entry was written.
    """
    now = time.monotonic()
    last = _last_views.setdefault(audit, {})
    key = (who.user_id, row.id)
    if now - last.get(key, -VIEW_AGAIN_S) < VIEW_AGAIN_S:
        return False
    if len(last) > 10_000:
        for old in [k for k, at in last.items() if now - at >= VIEW_AGAIN_S]:
            del last[old]
    last[key] = now
    await audit.record(
        "detections.viewed", who=who, object_type="detection", object_id=row.id, ip=ip,
        detail={"camera_id": row.camera_id, "camera": row.camera_name or row.source_camera, "label": row.label,
                "start": row.start.astimezone(UTC).isoformat()},
    )  # fmt: skip
    return True
