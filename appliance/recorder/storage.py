"""Storage: what each camera's recordings take, the recordings volume over time, and how long it lasts.

Also the minimum free space setting (applied to retention's disk guard at once) and the last
retention pass, kept in the database so that the System page shows it after a restart too.
Every figure comes from aggregate queries: the segment index is never loaded into Python.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tortoise.functions import Count, Max, Min, Sum

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.db.models.cameras import Camera
from appliance.db.models.recordings import DiskSample, Segment
from appliance.db.models.settings import Setting
from appliance.errors import WardCamError
from appliance.recorder.retention import ORPHAN_DAYS, Retention, RetentionSummary, Usage
from appliance.validation import field_errors

log = logging.getLogger(__name__)

SETTINGS_KEY = "storage"
LAST_PASS_KEY = "retention.last"
SAMPLE_EVERY_S = 300.0
KEEP_SAMPLES_DAYS = 90
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


class StorageSettings(BaseModel):
    """How much of the recordings volume the disk guard keeps free, and when a silent camera counts as offline."""

    model_config = ConfigDict(extra="forbid")

    min_free_pct: int = Field(default=10, ge=2, le=50, title="storage.min_free_label",
                              description="storage.min_free_help")  # fmt: skip
    offline_after_min: int = Field(default=2, ge=1, le=120, title="storage.offline_after_label",
                                   description="storage.offline_after_help")  # fmt: skip


class StorageSettingsInvalid(WardCamError):
    """A storage setting did not validate; each field gets its own translated message."""

    key = "error.invalid_request"
    status = 422

    def __init__(self, errors: ValidationError) -> None:
        super().__init__()
        self.errors = errors.errors()

    def field_messages(self, message: str, lang: str | None = None) -> dict[str, str]:
        """Return one translated message per field that did not validate."""
        return field_errors(self.errors, lang)


class PassRecord(BaseModel):
    """One retention pass, as the System page shows it."""

    at: datetime
    deleted_by_age: int = 0
    deleted_by_guard: int = 0
    freed_bytes: int = 0
    kept_locked: int = 0
    only_locked_left: bool = False
    min_free_pct: float = 10.0  # the guard's minimum in force then

    @property
    def deleted(self) -> int:
        return self.deleted_by_age + self.deleted_by_guard

    @property
    def eventful(self) -> bool:
        """Return whether the pass deleted something or found only locked footage."""
        return bool(self.deleted or self.only_locked_left)

    @classmethod
    def of(cls, summary: RetentionSummary, min_free_pct: float) -> PassRecord:
        return cls(at=summary.at, deleted_by_age=summary.deleted_by_age, deleted_by_guard=summary.deleted_by_guard,
                   freed_bytes=summary.freed_bytes, kept_locked=summary.kept_locked,
                   only_locked_left=summary.only_locked_left, min_free_pct=min_free_pct)  # fmt: skip


class PassLog(BaseModel):
    """The latest retention pass, and the latest one that deleted anything."""

    latest: PassRecord | None = None
    last_deletion: PassRecord | None = None


@dataclass(frozen=True)
class CameraFigures:
    """One camera's recordings as measured in the database; camera_id None: those of deleted cameras."""

    camera_id: int | None
    bytes: int
    segments: int
    oldest: datetime | None
    newest: datetime | None
    last_day: int  # bytes of the segments that started in the 24 h before the measurement
    last_hour: int


@dataclass(frozen=True)
class Measurement:
    """Every camera's recordings at one moment: the costly part of the figures, measured in the background."""

    at: datetime
    cameras: dict[int | None, CameraFigures]

    @property
    def recordings_bytes(self) -> int:
        return sum(c.bytes for c in self.cameras.values())

    @property
    def first_start(self) -> datetime | None:
        return min((c.oldest for c in self.cameras.values() if c.oldest is not None), default=None)

    def rate(self) -> tuple[int, str]:
        """Return the bytes recorded a day and its basis: the last 24 h, the last hour times 24, or none."""
        history = self.at - self.first_start if self.first_start else timedelta(0)
        if history >= DAY:
            return sum(c.last_day for c in self.cameras.values()), "day"
        if history >= HOUR:
            return sum(c.last_hour for c in self.cameras.values()) * 24, "hour"
        return 0, "none"


@dataclass(frozen=True)
class CameraStorage:
    """One line of the Storage table: a camera's recordings and the days it keeps."""

    camera_id: int | None
    name: str  # "" for the recordings of deleted cameras
    bytes: int
    segments: int
    oldest: datetime | None
    newest: datetime | None
    days_kept: int


@dataclass(frozen=True)
class Estimate:
    """How many days the volume holds at today's bitrates; days is None while that cannot be told."""

    days: float | None
    bytes_per_day: int
    usable_bytes: int  # what recordings may take: the volume less the free minimum and other files
    basis: str  # "day": the last 24 h; "hour": the last hour times 24; "none": less than an hour recorded


@dataclass(frozen=True)
class StorageOverview:
    """Every storage figure the System page and /api/storage show."""

    measured_at: datetime
    usage: Usage
    recordings_bytes: int
    cameras: list[CameraStorage]
    estimate: Estimate
    settings: StorageSettings
    passes: PassLog


def _int(value: Any) -> int:
    return int(value or 0)  # SUM is NULL over no rows, and a Decimal on PostgreSQL


async def _sum_since(camera_id: int | None, since: datetime) -> int:
    row = (
        await Segment.filter(camera_id=camera_id, start__gte=since).annotate(total=Sum("size")).first().values("total")
    )
    return _int(row and row["total"])


async def measure_camera(camera_id: int | None, now: datetime) -> CameraFigures:
    """Measure one camera's recordings with aggregate queries over its part of the index."""
    row = await (
        Segment.filter(camera_id=camera_id)
        .annotate(total=Sum("size"), segments=Count("id"), oldest=Min("start"), newest=Max("end"))
        .first()
        .values("total", "segments", "oldest", "newest")
    )
    row = row or {}
    return CameraFigures(camera_id, _int(row.get("total")), _int(row.get("segments")), row.get("oldest"),
                         row.get("newest"), await _sum_since(camera_id, now - DAY),
                         await _sum_since(camera_id, now - HOUR))  # fmt: skip


async def measure(now: datetime | None = None) -> Measurement:
    """Measure every camera's recordings, one camera at a time so that no query holds the database long."""
    now = now or datetime.now(UTC)
    ids: list[int | None] = [camera.id for camera in await Camera.all().order_by("id").only("id")]
    ids.append(None)
    return Measurement(now, {camera_id: await measure_camera(camera_id, now) for camera_id in ids})


async def camera_storage(measurement: Measurement) -> list[CameraStorage]:
    """Return the Storage table: every camera by name with its measured recordings, then deleted cameras'."""
    out = []
    for camera in await Camera.all().order_by("name"):
        f = measurement.cameras.get(camera.id) or CameraFigures(camera.id, 0, 0, None, None, 0, 0)
        out.append(CameraStorage(camera.id, camera.name, f.bytes, f.segments, f.oldest, f.newest,
                                 camera.retention_days))  # fmt: skip
    orphans = measurement.cameras.get(None)
    if orphans is not None and orphans.segments:
        out.append(CameraStorage(None, "", orphans.bytes, orphans.segments, orphans.oldest, orphans.newest,
                                 ORPHAN_DAYS))  # fmt: skip
    return out


def estimate(usage: Usage, min_free_pct: float, measurement: Measurement) -> Estimate:
    """Estimate the days the volume holds: the space recordings may use over the bytes recorded a day."""
    per_day, basis = measurement.rate()
    other = max(0, usage.total - usage.free - measurement.recordings_bytes)  # the system, the database, ...
    usable = max(0, int(usage.total * (1 - min_free_pct / 100)) - other)
    return Estimate(usable / per_day if per_day else None, per_day, usable, basis)


async def samples(since: datetime, max_points: int = 720) -> list[tuple[datetime, int, int, int]]:
    """Return (at, total, free, recordings) of the disk samples since a moment, thinned to max_points."""
    rows: list[tuple[datetime, int, int, int]] = await (
        DiskSample.filter(at__gte=since)
        .order_by("at")
        .values_list("at", "total_bytes", "free_bytes", "recordings_bytes")
    )
    step = max(1, -(-len(rows) // max_points))
    thinned = rows[::step]
    if rows and thinned[-1] is not rows[-1]:
        thinned.append(rows[-1])  # the newest sample is always shown
    return thinned


class Storage:
    """The storage settings, the disk sampler and the kept retention summary of one appliance."""

    def __init__(self, retention: Retention, audit: AuditLog, sample_every_s: float = SAMPLE_EVERY_S,
                 keep_days: int = KEEP_SAMPLES_DAYS,
                 on_offline_after: Callable[[float], None] | None = None) -> None:  # fmt: skip
        self.retention = retention
        self.on_offline_after = on_offline_after  # given seconds: when the recorder announces a camera offline
        self.audit = audit
        self.sample_every_s = sample_every_s
        self.keep_days = keep_days
        self.settings = StorageSettings()
        self.measurement: Measurement | None = None  # the latest, measured with every disk sample
        retention.on_pass.append(self.remember_pass)

    async def load_settings(self) -> StorageSettings:
        """Read the stored settings (defaults when none or unreadable) and apply them."""
        row = await Setting.get_or_none(key=SETTINGS_KEY)
        try:
            self.settings = StorageSettings.model_validate(row.value if row else {})
        except ValidationError:
            log.warning("stored storage settings are not valid; using the defaults")
            self.settings = StorageSettings()
        self._apply(self.settings)
        return self.settings

    def _apply(self, settings: StorageSettings) -> None:
        self.retention.min_free_pct = settings.min_free_pct
        if self.on_offline_after is not None:
            self.on_offline_after(settings.offline_after_min * 60.0)

    async def save_settings(
        self, values: dict[str, Any], who: Principal | None = None, ip: str = ""
    ) -> StorageSettings:
        """Validate, store and apply new settings at once, and audit the change."""
        old = self.settings
        try:  # a form may send only the fields it shows; the others keep their values
            new = StorageSettings.model_validate({**old.model_dump(), **values})
        except ValidationError as exc:
            raise StorageSettingsInvalid(exc) from exc
        await Setting.update_or_create(key=SETTINGS_KEY, defaults={"value": new.model_dump(mode="json")})
        self.settings = new
        self._apply(new)
        changed = {name: [getattr(old, name), getattr(new, name)] for name in StorageSettings.model_fields
                   if getattr(old, name) != getattr(new, name)}  # fmt: skip
        await self.audit.record("storage.settings_changed", who=who, object_type="setting", object_id=SETTINGS_KEY,
                                ip=ip, detail=changed)  # fmt: skip
        log.info("storage settings: %s", ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items()) or "unchanged")
        return new

    async def remember_pass(self, summary: RetentionSummary) -> None:
        """Keep the latest retention pass, and the latest that deleted anything, in the database."""
        try:
            record = PassRecord.of(summary, self.retention.min_free_pct)
            passes = await self.passes()
            passes = PassLog(latest=record, last_deletion=record if record.eventful else passes.last_deletion)
            await Setting.update_or_create(key=LAST_PASS_KEY, defaults={"value": passes.model_dump(mode="json")})
        except Exception:  # the summary is for people; it must never fail the pass
            log.exception("could not keep the retention summary")

    async def passes(self) -> PassLog:
        """Return the kept retention summaries."""
        row = await Setting.get_or_none(key=LAST_PASS_KEY)
        try:
            return PassLog.model_validate(row.value if row else {})
        except ValidationError:
            return PassLog()

    async def usage(self) -> Usage:
        """Read the recordings volume's space the way the disk guard does."""
        return await asyncio.to_thread(self.retention.usage)

    async def measure(self, now: datetime | None = None) -> Measurement:
        """Measure every camera's recordings now, and keep the figures for the page."""
        self.measurement = await measure(now)
        return self.measurement

    async def sample(self, now: datetime | None = None) -> DiskSample:
        """Measure, store one disk sample, and drop the samples older than keep_days."""
        measurement = await self.measure(now)
        usage = await self.usage()
        row = await DiskSample.create(at=measurement.at, total_bytes=usage.total, free_bytes=usage.free,
                                      recordings_bytes=measurement.recordings_bytes)  # fmt: skip
        await DiskSample.filter(at__lt=measurement.at - timedelta(days=self.keep_days)).delete()
        return row

    async def run_sampler(self) -> None:
        """Sample the recordings volume now and every sample_every_s, until cancelled."""
        while True:
            try:
                await self.sample()
            except Exception:  # a missed sample is a gap in a chart, never a reason to stop
                log.exception("disk sample failed")
            await asyncio.sleep(self.sample_every_s)

    async def overview(self, fresh: bool = False) -> StorageOverview:
        """Gather every storage figure, from the latest measurement unless `fresh` (or there is none yet)."""
        measurement = self.measurement if self.measurement and not fresh else await self.measure()
        usage = await self.usage()
        return StorageOverview(measurement.at, usage, measurement.recordings_bytes, await camera_storage(measurement),
                               estimate(usage, self.settings.min_free_pct, measurement), self.settings,
                               await self.passes())  # fmt: skip
