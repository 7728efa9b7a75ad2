"""Detections reach the store repeated, out of order and with gaps; each ends up as one right row."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appliance.bus import Detection as DetectionEvent
from appliance.bus import EventBus
from appliance.db.models import Camera, Detection, EvidenceLock, Segment
from appliance.detections import DetectionReport, Detections, SnapshotRefused
from appliance.i18n import t

T0 = datetime(2026, 11, 27, 21, 30, tzinfo=UTC)
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"


@pytest.fixture
async def detections(any_db: Path) -> AsyncIterator[Detections]:
    service = Detections(any_db, EventBus())
    await service.start()
    yield service
    await service.stop()


def frigate(event_id: str, phase: str, *, at: float = 0, end: float | None = None, score: float = 0.7,
            zones: tuple[str, ...] = (), camera_id: int | None = None, label: str = "person",
            sub_label: str = "") -> DetectionReport:  # fmt: skip
    return DetectionReport(
        source="frigate", external_id=event_id, phase=phase, camera_id=camera_id, source_camera="hem_5",
        label=label, sub_label=sub_label, score=score, zones=zones, start=T0 + timedelta(seconds=at),
        end=None if end is None else T0 + timedelta(seconds=end),
    )  # fmt: skip


def heard(bus: EventBus) -> list[DetectionEvent]:
    events: list[DetectionEvent] = []
    bus.subscribe(DetectionEvent, events.append)
    return events


async def test_a_person_seen_from_new_to_end_is_one_row_with_the_best_score_and_every_zone(
    detections: Detections,
) -> None:
    camera = await Camera.create(name="Hẻm 5", main_url="rtsp://127.0.0.1/hem5")
    events = heard(detections.bus)
    first = await detections.report(frigate("e1", "new", score=0.61, zones=("cong",), camera_id=camera.id))
    again = await detections.report(frigate("e1", "update", score=0.93, zones=("hem",), sub_label="Nam"))
    last = await detections.report(frigate("e1", "end", end=12, score=0.8))
    await detections.bus.drain()

    assert first == again == last
    row = await Detection.get(id=first)
    assert (row.camera_id, row.label, row.sub_label, row.top_score) == (camera.id, "person", "Nam", 0.93)
    assert row.zones == ["cong", "hem"]
    assert (row.start, row.end) == (T0, T0 + timedelta(seconds=12))
    assert [(e.phase, e.created, e.ended) for e in events] == [("new", True, False), ("update", False, False),
                                                                 ("end", False, True)]  # fmt: skip
    assert events[-1].score == 0.93


async def test_an_end_with_no_new_and_a_late_update_leave_the_detection_ended(detections: Detections) -> None:
    events = heard(detections.bus)
    row_id = await detections.report(frigate("e2", "end", at=3, end=20))
    await detections.report(frigate("e2", "new", at=3))  # arrives late
    await detections.report(frigate("e2", "update", at=3, score=0.9))
    await detections.report(frigate("e2", "end", at=3, end=20))  # repeated
    await detections.bus.drain()

    rows = await Detection.filter(external_id="e2")
    assert [r.id for r in rows] == [row_id]
    assert rows[0].end == T0 + timedelta(seconds=20), "a late update reopened an ended detection"
    assert rows[0].top_score == 0.9
    assert [e.created for e in events] == [True, False, False, False]


async def test_an_end_without_a_time_ends_the_detection_when_it_arrives(detections: Detections) -> None:
    before = datetime.now(UTC)
    row_id = await detections.report(frigate("e3", "end", at=-5))
    row = await Detection.get(id=row_id)
    assert row.end is not None and row.end >= before


async def test_thousands_of_reports_at_once_each_land_on_their_own_row(detections: Detections) -> None:
    ids = [f"ev{n}" for n in range(400)]
    reports = [frigate(i, phase, at=n % 60, score=round(random.random(), 3))
               for n, i in enumerate(ids) for phase in ("new", "update", "update", "end")]  # fmt: skip
    random.Random(7).shuffle(reports)

    returned = await asyncio.gather(*(detections.report(r) for r in reports))

    rows = {r.external_id: r for r in await Detection.filter(source="frigate")}
    assert len(rows) == 400
    for report, row_id in zip(reports, returned, strict=True):
        assert rows[report.external_id].id == row_id
    for i in ids:
        mine = [r.score for r in reports if r.external_id == i]
        assert rows[i].top_score == max(mine)
        assert rows[i].end is not None
    assert detections.store.batches < len(reports) / 4, "reports arriving together were not written together"


async def test_the_same_id_from_two_sources_is_two_detections(detections: Detections) -> None:
    a = await detections.report(frigate("same", "new"))
    b = await detections.report(frigate("same", "new").model_copy(update={"source": "motion", "label": "motion"}))
    assert a != b
    assert {r.source for r in await Detection.filter(external_id="same")} == {"frigate", "motion"}


async def test_a_snapshot_is_kept_on_disk_and_garbage_is_refused_in_the_users_language(
    detections: Detections, any_db: Path
) -> None:
    camera = await Camera.create(name="Ngã tư", main_url="rtsp://127.0.0.1/nga-tu")
    row_id = await detections.report(frigate("snap", "new", camera_id=camera.id))
    events = heard(detections.bus)

    path = await detections.attach_snapshot(row_id, JPEG)
    await detections.bus.drain()

    assert path == f"snapshots/{camera.id}/2026-11-27/{row_id}.jpg"
    assert (any_db / path).read_bytes() == JPEG
    row = await Detection.get(id=row_id)
    assert row.snapshot_path == path and detections.snapshot_file(row) == any_db / path
    assert [(e.phase, e.snapshot_path) for e in events] == [("snapshot", path)]

    with pytest.raises(SnapshotRefused) as refused:
        await detections.attach_snapshot(row_id, b"<html>not a picture</html>")
    assert t(refused.value.key, "vi", **refused.value.params) != refused.value.key
    assert t(refused.value.key, "en", **refused.value.params) != refused.value.key
    assert (any_db / path).read_bytes() == JPEG, "a refused picture replaced the good one"


async def test_a_snapshot_path_outside_the_snapshots_folder_is_never_served(detections: Detections) -> None:
    row_id = await detections.report(frigate("evil", "new"))
    row = await Detection.get(id=row_id)
    row.snapshot_path = "../../etc/passwd"
    assert detections.snapshot_file(row) is None


async def test_detections_go_with_their_footage_but_locked_ones_stay(detections: Detections, any_db: Path) -> None:
    now = datetime(2026, 12, 30, tzinfo=UTC)
    camera = await Camera.create(name="Chợ", main_url="rtsp://127.0.0.1/cho", retention_days=30)
    oldest_footage = now - timedelta(days=10)  # the disk guard deleted what was older
    await Segment.create(camera=camera, start=oldest_footage, end=oldest_footage + timedelta(seconds=10),
                         duration_s=10, size=1, path="1/x.mp4")  # fmt: skip

    def at(days: float) -> DetectionReport:
        report = frigate(f"d{days}", "end", camera_id=camera.id)
        start = now - timedelta(days=days)
        return report.model_copy(update={"start": start, "end": start + timedelta(seconds=5)})

    gone = await detections.report(at(12))
    await detections.attach_snapshot(gone, JPEG)
    kept = await detections.report(at(5))
    locked = await detections.report(at(20))
    await EvidenceLock.create(camera=camera, start=now - timedelta(days=20, seconds=1),
                              end=now - timedelta(days=19), reason="vụ va chạm")  # fmt: skip
    orphan_young = await detections.report(frigate("o1", "new").model_copy(update={"start": now - timedelta(days=3)}))
    orphan_old = await detections.report(frigate("o2", "new").model_copy(update={"start": now - timedelta(days=40)}))

    assert await detections.prune(now) == 2

    left = set(await Detection.all().values_list("id", flat=True))
    assert left == {kept, locked, orphan_young}
    assert gone not in left and orphan_old not in left
    assert list((any_db / "snapshots").rglob("*.jpg")) == [], "the snapshot outlived its detection"
