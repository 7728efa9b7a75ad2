"""Finding detections: filters, newest-first pages with a cursor, and acknowledging, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.bus import EventBus
from appliance.db.models import AuditEntry, Camera, Detection, Role, Site, User
from appliance.detections import DetectionReport, Detections
from appliance.detections.query import EventFilter, acknowledge, labels_seen, search, viewed

T0 = datetime(2026, 11, 27, 21, 30, tzinfo=UTC)


@pytest.fixture
async def detections(any_db: Path) -> AsyncIterator[Detections]:
    service = Detections(any_db, EventBus())
    await service.start()
    yield service
    await service.stop()


async def seen(detections: Detections, event_id: str, *, at: float, label: str = "person", camera: Camera | None = None,
               source: str = "frigate", sub_label: str = "", end: float | None = None) -> int:  # fmt: skip
    """Report one detection through the public store and return its row id."""
    return await detections.report(DetectionReport(
        source=source, external_id=event_id, camera_id=camera.id if camera else None, source_camera="cam",
        label=label, sub_label=sub_label, score=0.8, zones=("hem",), start=T0 + timedelta(seconds=at),
        end=None if end is None else T0 + timedelta(seconds=end),
    ))  # fmt: skip


async def person(name: str, role: Role) -> Principal:
    user = await User.create(username=name, password_hash="-", role=role)
    return Principal(user_id=user.id, username=name, display_name="", role=role, language="vi")


async def ids(f: EventFilter) -> list[int]:
    return [row.id for row in (await search(f)).rows]


async def test_each_filter_keeps_only_its_detections_with_camera_and_site_names(detections: Detections) -> None:
    market = await Site.create(name="Chợ Bàn Cờ")
    alley = await Site.create(name="Hẻm 5")
    gate = await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1/1", site=market)
    lane = await Camera.create(name="Hẻm 5 đầu", main_url="rtsp://127.0.0.1/2", site=alley)
    loose = await Camera.create(name="Không thuộc điểm", main_url="rtsp://127.0.0.1/3")
    a = await seen(detections, "a", at=0, camera=gate)
    b = await seen(detections, "b", at=60, label="motorcycle", camera=lane, sub_label="59-X1 234.56")
    c = await seen(detections, "c", at=120, label="motion", camera=loose, source="motion")
    d = await seen(detections, "d", at=180, label="car")  # a camera WardCam does not know

    assert await ids(EventFilter()) == [d, c, b, a]
    assert await ids(EventFilter(cameras=[gate.id, lane.id])) == [b, a]
    assert await ids(EventFilter(site_id=alley.id)) == [b]
    assert await ids(EventFilter(labels=["person", "car"])) == [d, a]
    assert await ids(EventFilter(source="motion")) == [c]
    assert await ids(EventFilter(since=T0 + timedelta(seconds=60), until=T0 + timedelta(seconds=180))) == [c, b]
    assert await ids(EventFilter(text="59-x1")) == [b], "the text is found whatever its case"
    assert await ids(EventFilter(labels=["bicycle"])) == []

    rows = {row.id: row for row in (await search(EventFilter())).rows}
    assert (rows[b].camera_name, rows[b].site_name, rows[b].site_id) == ("Hẻm 5 đầu", "Hẻm 5", alley.id)
    assert (rows[c].camera_name, rows[c].site_name) == ("Không thuộc điểm", None)
    assert (rows[d].camera_id, rows[d].camera_name, rows[d].source_camera) == (None, None, "cam")
    assert rows[a].start == T0 and rows[a].ongoing and rows[a].zones == ["hem"]
    assert await labels_seen() == ["car", "motion", "motorcycle", "person"]


async def test_a_page_of_names_is_one_query_not_one_per_row(
    detections: Detections, caplog: pytest.LogCaptureFixture
) -> None:
    site = await Site.create(name="Hẻm 7")
    cameras = [await Camera.create(name=f"Cam {i}", main_url=f"rtsp://127.0.0.1/{i}", site=site) for i in range(5)]
    for i in range(20):
        await seen(detections, f"e{i}", at=i, camera=cameras[i % 5])

    with caplog.at_level(logging.DEBUG, logger="tortoise"):
        caplog.clear()
        page = await search(EventFilter(limit=20))
    queries = [r.getMessage() for r in caplog.records if "SELECT" in r.getMessage().upper()]
    assert len(page.rows) == 20 and {row.site_name for row in page.rows} == {"Hẻm 7"}
    assert len(queries) == 1, queries


async def test_pages_follow_the_cursor_newest_first_without_repeats_even_as_new_ones_arrive(
    detections: Detections,
) -> None:
    # three detections at the very same moment: the id breaks the tie
    starts = [0, 10, 10, 10, 20, 30, 30.5]
    made = [await seen(detections, f"p{i}", at=at) for i, at in enumerate(starts)]
    expected = [row_id for at, row_id in sorted(zip(starts, made, strict=True), reverse=True)]

    walked: list[int] = []
    cursor = ""
    first = True
    while first or cursor:
        page = await search(EventFilter(limit=3, cursor=cursor))
        walked += [row.id for row in page.rows]
        if first:  # a newer detection arrives while the user reads: it does not shift the pages after
            await seen(detections, "late", at=90)
            first = False
        cursor = page.next_cursor or ""
    assert walked == expected
    assert len(set(walked)) == 7

    last = await search(EventFilter(limit=7))
    assert last.next_cursor is not None, "more exist: the late one"
    assert (await search(EventFilter(limit=8))).next_cursor is None


def test_a_bad_cursor_or_page_size_or_time_range_is_refused_in_words_of_its_own() -> None:
    with pytest.raises(ValidationError) as bad_cursor:
        EventFilter(cursor="not-a-cursor!")
    assert bad_cursor.value.errors()[0]["type"] == "events.error.cursor"
    with pytest.raises(ValidationError):
        EventFilter(limit=201)
    with pytest.raises(ValidationError) as backwards:
        EventFilter(since=T0, until=T0 - timedelta(hours=1))
    assert backwards.value.errors()[0]["type"] == "events.error.range"
    assert EventFilter(since=datetime(2026, 1, 1)).since == datetime(2026, 1, 1, tzinfo=UTC)


async def test_acknowledging_marks_who_and_when_once_and_is_audited(detections: Detections, any_db: Path) -> None:
    audit = AuditLog(any_db / "audit-head.json")
    operator = await person("truc-ban", Role.OPERATOR)
    admin = await person("to-truong", Role.ADMIN)
    first, second, third = [await seen(detections, f"k{i}", at=i) for i in range(3)]

    assert await acknowledge([first, second, second], operator, "127.0.0.1", audit) == 2
    assert await ids(EventFilter(acknowledged=False)) == [third]
    assert await ids(EventFilter(acknowledged=True)) == [second, first]
    # acknowledging again changes nothing: the first one to acknowledge stays on record
    assert await acknowledge([first, third], admin, "127.0.0.2", audit) == 1
    rows = {row.id: row for row in (await search(EventFilter())).rows}
    assert (rows[first].acknowledged_by, rows[third].acknowledged_by) == ("truc-ban", "to-truong")
    assert rows[first].acknowledged_at is not None and rows[first].acknowledged
    assert await acknowledge([], admin, "", audit) == 0
    assert await acknowledge([first, 999_999], admin, "", audit) == 0

    entries = await AuditEntry.filter(action="detections.acknowledged").order_by("id")
    assert [(e.actor, e.detail["ids"], e.ip) for e in entries] == [
        ("truc-ban", sorted([first, second]), "127.0.0.1"), ("to-truong", [third], "127.0.0.2")]  # fmt: skip
    assert (await audit.verify()).ok


async def test_opening_a_detection_is_audited_once_a_minute_per_user(detections: Detections, any_db: Path) -> None:
    audit = AuditLog(any_db / "audit-head.json")
    operator = await person("truc-ban-2", Role.OPERATOR)
    camera = await Camera.create(name="Cổng sau", main_url="rtsp://127.0.0.1/9")
    row_id = await seen(detections, "v1", at=0, camera=camera)
    row = (await search(EventFilter(ids=[row_id]))).rows[0]

    assert await viewed(row, operator, "127.0.0.1", audit)
    assert not await viewed(row, operator, "127.0.0.1", audit)
    entries = await AuditEntry.filter(action="detections.viewed")
    assert [(e.actor, e.object_id, e.detail["camera"]) for e in entries] == [("truc-ban-2", str(row_id), "Cổng sau")]
    assert await Detection.filter(id=row_id).exists()
