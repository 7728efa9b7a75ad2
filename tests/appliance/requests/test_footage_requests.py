"""Footage requests: who may ask and decide, what a request must hold, and what each step writes and announces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appliance.audit import AuditLog
from appliance.bus import EventBus, RequestStateChanged
from appliance.db.models.audit import AuditEntry
from appliance.db.models.cameras import Camera, Site
from appliance.db.models.recordings import EvidenceLock
from appliance.db.models.requests import RequestStatus, Urgency
from appliance.errors import Forbidden
from appliance.i18n import t
from appliance.requests.errors import (
    InvalidRange,
    InvalidRequestField,
    NoCameras,
    NoteRequired,
    RangeTooLong,
    WrongState,
)
from appliance.requests.policy import RequestPolicy
from appliance.requests.workflow import RequestInput, RequestWorkflow
from tests.appliance.requests.support import ADMIN, OPERATOR, officer

START = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)


def asked(**changes: object) -> RequestInput:
    values: dict[str, object] = dict(
        officer_name="Lê Văn Tâm", officer_unit="Công an phường 7", officer_badge="CA-123456",
        case_number="CV 45/2026", reason="Vụ va chạm xe máy trước cổng chợ", start=START,
        end=START + timedelta(minutes=30), camera_ids=(1,),
    )  # fmt: skip
    values.update(changes)
    return RequestInput(**values)  # type: ignore[arg-type]


@pytest.fixture
async def ward(db: Path) -> tuple[RequestWorkflow, list[RequestStateChanged]]:
    site = await Site.create(name="Chợ phường 7")
    await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1:9/a", site=site)
    await Camera.create(name="Ngã tư", main_url="rtsp://127.0.0.1:9/b", site=site)
    await Camera.create(name="UBND", main_url="rtsp://127.0.0.1:9/c")
    bus = EventBus()
    seen: list[RequestStateChanged] = []
    bus.subscribe(RequestStateChanged, seen.append)
    return RequestWorkflow(bus, AuditLog(db / "audit-head.json"), RequestPolicy()), seen


async def test_an_officer_asks_for_a_site_and_an_admin_approves_locking_every_camera_until_closed_plus_hold(
    ward: tuple[RequestWorkflow, list[RequestStateChanged]],
) -> None:
    flow, seen = ward
    request = await flow.create(officer(1), asked(camera_ids=(), site_id=1, urgency=Urgency.URGENT))
    assert request.status == RequestStatus.PENDING and request.camera_ids == [1, 2]
    assert request.created_by == "congan"
    await flow.bus.drain()
    assert [(e.request_id, e.state) for e in seen] == [(request.id, "pending")]

    approved = await flow.approve(ADMIN, request.id, note="Đồng ý cung cấp")
    assert approved.status == RequestStatus.APPROVED and approved.decided_by == "quantri"
    locks = await EvidenceLock.filter(request_id=request.id).order_by("camera_id")
    assert [(lock.camera_id, lock.start, lock.end, lock.until) for lock in locks] == [
        (1, request.start, request.end, None), (2, request.start, request.end, None),
    ]  # fmt: skip

    with pytest.raises(WrongState):
        await flow.approve(ADMIN, request.id)
    closed = await flow.close(ADMIN, request.id)
    assert closed.hold_until is not None and closed.closed_at is not None
    assert closed.hold_until - closed.closed_at == timedelta(days=90)
    assert {lock.until for lock in await EvidenceLock.filter(request_id=request.id)} == {closed.hold_until}

    await flow.bus.drain()
    assert [e.state for e in seen] == ["pending", "approved", "closed"]
    actions = await AuditEntry.filter(object_type="footage_request").order_by("id").values_list("action", "actor")
    assert actions == [("requests.created", "congan"), ("requests.approved", "quantri"), ("requests.closed", "quantri")]
    assert (await flow.audit.verify()).ok


async def test_staff_enter_a_request_for_an_officer_and_a_rejection_needs_a_note_and_locks_nothing(
    ward: tuple[RequestWorkflow, list[RequestStateChanged]],
) -> None:
    flow, _ = ward
    request = await flow.create(ADMIN, asked(camera_ids=(3,)))
    with pytest.raises(NoteRequired):
        await flow.reject(ADMIN, request.id, note="  ")
    rejected = await flow.reject(ADMIN, request.id, note="Thiếu công văn")
    assert rejected.status == RequestStatus.REJECTED and rejected.decision_note == "Thiếu công văn"
    assert await EvidenceLock.filter(request_id=request.id).count() == 0


async def test_who_may_ask_and_decide(ward: tuple[RequestWorkflow, list[RequestStateChanged]]) -> None:
    flow, _ = ward
    with pytest.raises(Forbidden):
        await flow.create(OPERATOR, asked())
    with pytest.raises(Forbidden):  # camera 3 is on no site granted to this officer
        await flow.create(officer(1), asked(camera_ids=(3,)))
    request = await flow.create(officer(1), asked())
    with pytest.raises(Forbidden):
        await flow.approve(officer(1), request.id)
    with pytest.raises(Forbidden):
        await flow.reject(OPERATOR, request.id, note="không")


async def test_a_request_must_name_the_officer_the_case_cameras_and_a_short_enough_range(
    ward: tuple[RequestWorkflow, list[RequestStateChanged]],
) -> None:
    flow, _ = ward
    with pytest.raises(InvalidRequestField) as missing:
        await flow.create(ADMIN, asked(officer_badge=" "))
    assert missing.value.field == "officer_badge"
    assert t(missing.value.key, "en", **missing.value.params) == "Please fill in this field."
    with pytest.raises(RangeTooLong) as too_long:
        await flow.create(ADMIN, asked(end=START + timedelta(hours=2, seconds=1)))
    assert t(too_long.value.key, "vi", **too_long.value.params) == "Mỗi yêu cầu chỉ được trích tối đa 2.0 giờ video."
    assert (await flow.create(ADMIN, asked(end=START + timedelta(hours=2)))).status == RequestStatus.PENDING
    with pytest.raises(InvalidRange):
        await flow.create(ADMIN, asked(end=START))
    with pytest.raises(NoCameras):
        await flow.create(ADMIN, asked(camera_ids=(99,)))
    with pytest.raises(NoCameras):
        await flow.create(ADMIN, asked(camera_ids=()))
