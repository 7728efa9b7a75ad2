"""GET /api/storage: the figures of the System page's Storage section, as JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Query
from pydantic import BaseModel

from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.recorder.storage import PassLog, samples
from web import context
from web.access import declare, require

router = APIRouter(prefix="/api", tags=["storage"])


class VolumeOut(BaseModel):
    total_bytes: int
    free_bytes: int
    recordings_bytes: int
    min_free_pct: float


class CameraStorageOut(BaseModel):
    camera_id: int | None  # None: the recordings of deleted cameras
    name: str
    bytes: int
    segments: int
    oldest: datetime | None
    newest: datetime | None
    days_kept: int


class EstimateOut(BaseModel):
    days: float | None  # None: not enough history yet (basis "none"), or nothing recorded lately
    bytes_per_day: int
    usable_bytes: int
    basis: str


class DiskSampleOut(BaseModel):
    at: datetime
    total_bytes: int
    free_bytes: int
    recordings_bytes: int


class StorageOut(BaseModel):
    measured_at: datetime  # when the recordings were last measured (every few minutes, or now if fresh)
    volume: VolumeOut
    cameras: list[CameraStorageOut]
    estimate: EstimateOut
    retention: PassLog
    samples: list[DiskSampleOut]


@router.get("/storage")
async def storage(
    days: int = Query(30, ge=1, le=90, description="Disk samples of this many days"),
    fresh: bool = Query(False, description="Measure the recordings now instead of using the latest measurement"),
    _: Principal = require(Permission.MANAGE_SYSTEM),
) -> StorageOut:
    """Return recordings per camera, the volume's use over time, the days it holds and the last deletion."""
    o = await context.appliance().storage.overview(fresh)
    return StorageOut(
        measured_at=o.measured_at,
        volume=VolumeOut(total_bytes=o.usage.total, free_bytes=o.usage.free, recordings_bytes=o.recordings_bytes,
                         min_free_pct=o.settings.min_free_pct),
        cameras=[CameraStorageOut(camera_id=c.camera_id, name=c.name, bytes=c.bytes, segments=c.segments,
                                  oldest=c.oldest, newest=c.newest, days_kept=c.days_kept) for c in o.cameras],
        estimate=EstimateOut(days=o.estimate.days, bytes_per_day=o.estimate.bytes_per_day,
                             usable_bytes=o.estimate.usable_bytes, basis=o.estimate.basis),
        retention=o.passes,
        samples=[DiskSampleOut(at=at, total_bytes=total, free_bytes=free, recordings_bytes=rec)
                 for at, total, free, rec in await samples(datetime.now(UTC) - timedelta(days=days))],
    )  # fmt: skip


declare("/api/storage", Permission.MANAGE_SYSTEM)
