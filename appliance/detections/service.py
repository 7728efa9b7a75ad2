"""The detections service: what add-ons report through ctx.detections, what the bus hears, what retention keeps."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tortoise.expressions import Q

from appliance.bus import Detection as DetectionEvent
from appliance.bus import EventBus
from appliance.db.models.cameras import Camera
from appliance.db.models.detections import Detection
from appliance.db.models.recordings import EvidenceLock, Segment
from appliance.detections import snapshots
from appliance.detections.report import DetectionReport
from appliance.detections.store import DetectionStore, Written
from appliance.errors import NotFound

log = logging.getLogger(__name__)

ORPHAN_DAYS = 30  # detections of no (or a deleted) camera are kept this long
PRUNE_BATCH = 1000


class Detections:
    """Store detection reports and their snapshots, announce them, and forget them with their footage."""

    def __init__(self, data_dir: Path, bus: EventBus) -> None:
        self.data_dir = data_dir
        self.bus = bus
        self.store = DetectionStore()

    async def start(self) -> None:
        """Start the writer; later calls to report() are written in batches."""
        global _current
        self.store.start()
        _current = self

    async def stop(self) -> None:
        """Write what is queued and stop."""
        global _current
        await self.store.stop()
        if _current is self:
            _current = None

    async def report(self, report: DetectionReport) -> int:
        """Store one report (merged into its detection's row) and return the row's id once committed."""
        written = await self.store.write(report)
        self.bus.publish(_event(written, report.phase))
        return int(written.row.id)

    async def attach_snapshot(self, detection_id: int, jpeg: bytes) -> str:
        """Keep a detection's picture on disk, replacing any earlier one; return its path under the data directory."""
        snapshots.check_jpeg(jpeg)
        row = await Detection.get_or_none(id=detection_id)
        if row is None:
            raise NotFound("error.not_found")
        relative = snapshots.relative_path(row.camera_id, row.start, row.id)
        await asyncio.to_thread(snapshots.write, self.data_dir, relative, jpeg)
        if row.snapshot_path and row.snapshot_path != relative:
            await asyncio.to_thread(snapshots.remove, self.data_dir, row.snapshot_path)
        await Detection.filter(id=row.id).update(snapshot_path=relative, updated_at=datetime.now(UTC))
        row.snapshot_path = relative
        self.bus.publish(_event(Written(row, created=False), "snapshot"))
        return relative

    def snapshot_file(self, detection: Detection) -> Path | None:
        """Return the absolute path of a detection's snapshot, or None when it has none on disk."""
        return snapshots.resolve(self.data_dir, detection.snapshot_path)

    async def prune(self, now: datetime | None = None) -> int:
        """Forget detections whose footage is gone: past the camera's days, or older than its oldest segment.

        Detections under an evidence lock stay. Snapshots go with their rows. Returns how many went.
        """
        now = now or datetime.now(UTC)
        removed = 0
        cameras = {c.id: c.retention_days for c in await Camera.all()}
        for camera_id, days in cameras.items():
            oldest = await Segment.filter(camera_id=camera_id).order_by("start").first().values_list("start", flat=True)
            cutoff = now - timedelta(days=days)
            if isinstance(oldest, datetime):
                cutoff = max(cutoff, oldest)
            removed += await self._delete_before(Q(camera_id=camera_id), cutoff, now)
        orphans = (
            Q(camera_id__isnull=True) | Q(camera_id__not_in=list(cameras)) if cameras else Q(camera_id__isnull=True)
        )
        removed += await self._delete_before(orphans, now - timedelta(days=ORPHAN_DAYS), now)
        if removed:
            log.info("retention: %d detections older than their footage forgotten", removed)
        return removed

    async def _delete_before(self, which: Q, cutoff: datetime, now: datetime) -> int:
        removed = 0
        kept: list[int] = []  # under an evidence lock
        while True:
            batch = (
                await Detection.filter(which, start__lt=cutoff)
                .exclude(id__in=kept)
                .order_by("start")
                .limit(PRUNE_BATCH)
            )
            doomed: list[Detection] = []
            for row in batch:
                if await _locked(row, now):
                    kept.append(row.id)
                else:
                    doomed.append(row)
            if doomed:
                await Detection.filter(id__in=[row.id for row in doomed]).delete()
                for row in doomed:
                    await asyncio.to_thread(snapshots.remove, self.data_dir, row.snapshot_path)
                removed += len(doomed)
            if len(batch) < PRUNE_BATCH:
                return removed


async def _locked(row: Detection, now: datetime) -> bool:
    """Return whether an evidence lock covers the detection's time on its camera."""
    if row.camera_id is None:
        return False
    end = row.end or row.start
    return await EvidenceLock.filter(
        Q(until__isnull=True) | Q(until__gt=now),
        camera_id=row.camera_id, start__lte=end, end__gte=row.start,
    ).exists()  # fmt: skip


def _event(written: Written, phase: str) -> DetectionEvent:
    row = written.row
    return DetectionEvent(
        detection_id=row.id,
        camera_id=row.camera_id,
        label=row.label,
        sub_label=row.sub_label,
        score=row.top_score,
        source=row.source,
        zones=tuple(row.zones),
        snapshot_path=row.snapshot_path,
        external_id=row.external_id,
        start=row.start,
        end=row.end,
        phase=phase,  # type: ignore[arg-type]
        created=written.created,
    )


_current: Detections | None = None


def current() -> Detections:
    """Return the detections service of the appliance running in this process."""
    if _current is None:
        raise RuntimeError("the appliance's detections service is not running")
    return _current
