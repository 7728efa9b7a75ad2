"""The detection store: reports merged into rows, written in batches, one transaction per batch.

Sources can send a thousand messages a second (a busy intersection seen by Frigate sends a "new",
several "update"s and an "end" per object). One transaction per message would cap the rate at what
the disk can commit; so reports queue, and one writer task takes everything waiting (up to BATCH)
and writes it in one transaction: one SELECT of the rows concerned, one bulk INSERT of the new ones,
one bulk UPDATE of the changed ones. A report that finds the writer idle waits GATHER_S (10 ms) for
others to share its transaction; under load the batches grow by themselves, so the delay stays
about one batch's write time, and the number of commits a second stays small.

Merging is order-independent: the row keeps the earliest start, the latest end, the highest score,
every zone ever reported, the newest non-empty label and sub-label, and its camera once known.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from appliance.db.models.detections import Detection
from appliance.detections.report import DetectionReport

log = logging.getLogger(__name__)

BATCH = 500
GATHER_S = 0.01  # after a first report, how long to wait for others to write with it
STOP_WAIT_S = 10.0  # at stop, how long queued reports get to be written
QUEUE_LIMIT = 50_000  # reports waiting; beyond that report() waits (backpressure on the MQTT handler)
MERGED_FIELDS = (
    "camera_id", "source_camera", "label", "sub_label", "top_score", "zones", "start", "end", "has_clip",
)  # fmt: skip

Key = tuple[str, str]


@dataclass
class Written:
    """The outcome of one report: the row as committed, and whether this report created it."""

    row: Detection
    created: bool


def new_row(report: DetectionReport) -> Detection:
    """Make the row a first report describes."""
    end = report.end
    if end is None and report.phase == "end":
        end = datetime.now(UTC)
    return Detection(
        source=report.source,
        external_id=report.external_id,
        camera_id=report.camera_id,
        source_camera=report.source_camera,
        label=report.label,
        sub_label=report.sub_label,
        top_score=report.score,
        zones=list(dict.fromkeys(report.zones)),
        start=report.start,
        end=end if end is None or end >= report.start else report.start,
        has_clip=report.has_clip,
    )


def merge(row: Detection, report: DetectionReport) -> bool:
    """Fold a later (or earlier, or repeated) report into the row; return whether anything changed."""
    before = tuple(getattr(row, name) for name in MERGED_FIELDS)
    if row.camera_id is None and report.camera_id is not None:
        row.camera_id = report.camera_id
    row.source_camera = row.source_camera or report.source_camera
    row.label = report.label or row.label
    row.sub_label = report.sub_label or row.sub_label
    row.top_score = max(row.top_score, report.score)
    row.zones = list(dict.fromkeys([*row.zones, *report.zones]))
    row.start = min(row.start, report.start)
    end = report.end if report.end is not None else (datetime.now(UTC) if report.phase == "end" else None)
    if end is not None:
        row.end = max(row.end, end) if row.end is not None else end
    if row.end is not None and row.end < row.start:
        row.end = row.start
    row.has_clip = row.has_clip or report.has_clip
    return tuple(getattr(row, name) for name in MERGED_FIELDS) != before


@dataclass
class _Pending:
    report: DetectionReport
    done: asyncio.Future[Written]


class DetectionStore:
    """Take reports from any task; write them in batches from one writer task."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(QUEUE_LIMIT)
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.batches = 0
        self.failures = 0

    def start(self) -> None:
        """Start the writer task."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="detection-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop the writer."""
        if self._task is None:
            return
        if not self._task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), STOP_WAIT_S)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def write(self, report: DetectionReport) -> Written:
        """Queue a report and return once it is committed."""
        if self._task is None:
            raise RuntimeError("the detection store is not running")
        done: asyncio.Future[Written] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(report, done))
        return await done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if self._queue.empty():
                await asyncio.sleep(GATHER_S)  # let what arrives together share one transaction
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                results = await self._write(batch)
            except Exception as exc:  # a database error fails this batch's callers, never the writer
                self.failures += 1
                log.exception("could not store %d detection reports", len(batch))
                for pending in batch:
                    if not pending.done.done():
                        pending.done.set_exception(exc)
                    self._queue.task_done()
                continue
            for pending, result in zip(batch, results, strict=True):
                if not pending.done.done():
                    pending.done.set_result(result)
            for _ in batch:
                self._queue.task_done()

    async def _write(self, batch: list[_Pending]) -> list[Written]:
        keys = {(p.report.source, p.report.external_id) for p in batch}
        async with in_transaction() as connection:
            found = await Detection.filter(external_id__in=[k[1] for k in keys])
            rows: dict[Key, Detection] = {
                (r.source, r.external_id): r for r in found if (r.source, r.external_id) in keys
            }
            new: dict[Key, Detection] = {}
            changed: dict[Key, Detection] = {}
            created_by: list[bool] = []
            for pending in batch:
                key = (pending.report.source, pending.report.external_id)
                row = rows.get(key)
                if row is None:
                    rows[key] = new[key] = new_row(pending.report)
                    created_by.append(True)
                    continue
                created_by.append(False)
                if merge(row, pending.report) and key not in new:
                    changed[key] = row
            if new:
                await Detection.bulk_create(list(new.values()))
                await self._read_ids(new)
            if changed:
                await _update(connection, list(changed.values()))
        self.written += len(batch)
        self.batches += 1
        return [
            Written(rows[(p.report.source, p.report.external_id)], created)
            for p, created in zip(batch, created_by, strict=True)
        ]

    @staticmethod
    async def _read_ids(new: dict[Key, Detection]) -> None:
        """Fill in the ids of rows made by bulk_create (SQLite does not return them)."""
        pairs = await Detection.filter(external_id__in=[k[1] for k in new]).values_list("id", "source", "external_id")
        for row_id, source, external_id in pairs:
            row = new.get((source, external_id))
            if row is not None:
                row.id = row_id


async def _update(connection: BaseDBAsyncClient, rows: list[Detection]) -> None:
    """Write the merged fields of changed rows with one prepared UPDATE run for each (executemany).

    Tortoise's bulk_update builds one CASE expression a field over every row; at a thousand reports
    a second that SQL building was most of the writer's time.
    """
    now = datetime.now(UTC)
    columns = (*MERGED_FIELDS, "updated_at")
    fields = Detection._meta.fields_map
    sqlite = connection.capabilities.dialect == "sqlite"

    def mark(n: int) -> str:
        return "?" if sqlite else f"${n}"

    assignments = ", ".join(f'"{column}" = {mark(n)}' for n, column in enumerate(columns, 1))
    sql = f'UPDATE "detection" SET {assignments} WHERE "id" = {mark(len(columns) + 1)}'
    values = []
    for row in rows:
        row.updated_at = now
        values.append([
            row.camera_id if column == "camera_id" else fields[column].to_db_value(getattr(row, column), row)
            for column in columns
        ] + [row.id])  # fmt: skip
    await connection.execute_many(sql, values)
