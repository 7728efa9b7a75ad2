"""/api/events against the panel's app with a running appliance: detections reported through its store, real JPEGs."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nicegui.testing import User

from appliance.audit_export import local_timezone
from appliance.db.models import AuditEntry, Camera, Detection, Role, Site
from appliance.detections import DetectionReport
from tests.web.conftest import PASSWORD, AddUser
from web import context

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def jpeg(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real JPEG: one frame of ffmpeg's test pattern."""
    out = tmp_path_factory.mktemp("jpeg") / "snapshot.jpg"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x180",
                    "-frames:v", "1", str(out)], check=True)  # fmt: skip
    return out.read_bytes()


@dataclass
class Ward:
    gate: int  # camera ids
    lane: int
    person: int  # detection ids: a person at the gate, with a snapshot
    motorbike: int  # a motorbike in the lane, with a snapshot, still going on
    motion: int  # motion at the gate, no snapshot


async def report(event_id: str, label: str, camera: Camera, seconds_ago: float, *, ended: bool = True,
                 sub_label: str = "") -> int:  # fmt: skip
    start = NOW - timedelta(seconds=seconds_ago)
    return await context.appliance().detections.report(DetectionReport(
        source="frigate" if label != "motion" else "motion", external_id=event_id, camera_id=camera.id,
        source_camera=camera.name, label=label, sub_label=sub_label, score=0.87, zones=("cong",), start=start,
        end=start + timedelta(seconds=12) if ended else None,
    ))  # fmt: skip


@pytest.fixture
async def ward(user: User, add_user: AddUser, jpeg: bytes) -> Ward:
    """Users of every role, two cameras under two sites, and three detections reported through the store."""
    for name, role in (("to-truong", Role.ADMIN), ("truc-ban", Role.OPERATOR), ("xem", Role.VIEWER),
                       ("cong-an", Role.POLICE)):  # fmt: skip
        await add_user(name, role)
    gate = await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1/1", enabled=False,
                               site=await Site.create(name="Chợ Bàn Cờ"))  # fmt: skip
    lane = await Camera.create(name="Hẻm 5", main_url="rtsp://127.0.0.1/2", enabled=False,
                               site=await Site.create(name="Hẻm 5 Nguyễn Thiện Thuật"))  # fmt: skip
    person = await report("f-1", "person", gate, 600, sub_label="Anh Nam")
    motorbike = await report("f-2", "motorcycle", lane, 300, ended=False)
    motion = await report("m-1", "motion", gate, 60)
    detections = context.appliance().detections
    await detections.attach_snapshot(person, jpeg)
    await detections.attach_snapshot(motorbike, jpeg)
    return Ward(gate.id, lane.id, person, motorbike, motion)


async def as_user(user: User, name: str) -> None:
    response = await user.http_client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
    assert response.status_code == 200, response.text


async def events(user: User, **params: Any) -> dict[str, Any]:
    response = await user.http_client.get("/api/events", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_operator_lists_filters_and_pages_events_and_bad_filters_are_refused(user: User, ward: Ward) -> None:
    await as_user(user, "truc-ban")
    everything = await events(user)
    assert [e["id"] for e in everything["events"]] == [ward.motion, ward.motorbike, ward.person]
    assert everything["next_cursor"] is None
    bike = everything["events"][1]
    start = datetime.fromisoformat(bike["start"])
    local = (start - timedelta(seconds=5)).astimezone(local_timezone())
    assert bike | {"start": None, "acknowledged_at": None, "snapshot_url": None} == {
        "id": ward.motorbike, "source": "frigate", "camera_id": ward.lane, "camera_name": "Hẻm 5",
        "source_camera": "Hẻm 5", "site_id": bike["site_id"], "site_name": "Hẻm 5 Nguyễn Thiện Thuật",
        "label": "motorcycle", "sub_label": "", "score": 0.87, "zones": ["cong"], "start": None, "end": None,
        "ongoing": True, "has_clip": False, "acknowledged_by": None, "acknowledged_at": None, "snapshot_url": None,
        "playback_url": f"/recordings?camera={ward.lane}&day={local:%Y-%m-%d}&at={local:%H:%M:%S}",
    }  # fmt: skip
    assert start == NOW - timedelta(seconds=300)
    assert bike["snapshot_url"].startswith(f"/api/events/{ward.motorbike}/snapshot.jpg?v=")
    assert everything["events"][0]["snapshot_url"] is None, "motion came without a picture"

    only = await events(user, label=["person", "motorcycle"], camera_id=[ward.gate])
    assert [e["id"] for e in only["events"]] == [ward.person]
    assert [e["id"] for e in (await events(user, text="nam"))["events"]] == [ward.person]
    assert [e["id"] for e in (await events(user, source="motion"))["events"]] == [ward.motion]
    # a time without a zone is the box's local time
    since = (NOW - timedelta(seconds=400)).astimezone(local_timezone()).replace(tzinfo=None).isoformat()
    until = (NOW - timedelta(seconds=100)).astimezone(local_timezone()).replace(tzinfo=None).isoformat()
    assert [e["id"] for e in (await events(user, since=since, until=until))["events"]] == [ward.motorbike]

    first = await events(user, limit=2)
    assert [e["id"] for e in first["events"]] == [ward.motion, ward.motorbike]
    rest = await events(user, limit=2, cursor=first["next_cursor"])
    assert [e["id"] for e in rest["events"]] == [ward.person] and rest["next_cursor"] is None

    # what makes no sense is refused, in the user's language
    cursor = await user.http_client.get("/api/events", params={"cursor": "xyz!"})
    assert cursor.status_code == 422
    assert cursor.json()["error"]["fields"] == {"cursor": "Con trỏ trang không hợp lệ. Hãy tải lại danh sách từ đầu."}
    backwards = await user.http_client.get("/api/events", params={"since": "2026-03-02", "until": "2026-03-01"})
    assert backwards.status_code == 422
    assert backwards.json()["error"]["fields"] == {"until": "Thời điểm kết thúc phải sau thời điểm bắt đầu."}
    assert (await user.http_client.get("/api/events", params={"limit": 201})).status_code == 422
    assert (await user.http_client.get("/api/events", params={"camera_id": "cổng"})).status_code == 422


async def test_only_admins_and_operators_see_events_and_acknowledging_is_audited(user: User, ward: Ward) -> None:
    for name in ("xem", "cong-an"):  # live view is not events: viewers and police are refused
        await as_user(user, name)
        for path in ("/api/events", f"/api/events/{ward.person}", f"/api/events/{ward.person}/snapshot.jpg"):
            response = await user.http_client.get(path)
            assert response.status_code == 403, (name, path)
            assert response.json()["error"]["code"] == "error.forbidden"
        refused = await user.http_client.post("/api/events/acknowledge", json={"ids": [ward.person]})
        assert refused.status_code == 403

    await as_user(user, "truc-ban")
    done = await user.http_client.post("/api/events/acknowledge", json={"ids": [ward.person, ward.motion]})
    assert done.status_code == 200 and done.json() == {"acknowledged": 2}
    again = await user.http_client.post("/api/events/acknowledge", json={"ids": [ward.person]})
    assert again.json() == {"acknowledged": 0}
    assert (await user.http_client.post("/api/events/acknowledge", json={"ids": []})).status_code == 422

    await as_user(user, "to-truong")
    left = await events(user, acknowledged="false")
    assert [e["id"] for e in left["events"]] == [ward.motorbike]
    handled = (await events(user, acknowledged="true"))["events"]
    assert {(e["id"], e["acknowledged_by"]) for e in handled} == {(ward.person, "truc-ban"), (ward.motion, "truc-ban")}
    entries = await AuditEntry.filter(action="detections.acknowledged")
    assert [(e.actor, sorted(e.detail["ids"])) for e in entries] == [("truc-ban", sorted([ward.person, ward.motion]))]


async def test_the_snapshot_is_the_stored_jpeg_and_opening_an_event_is_audited_once_a_minute(
    user: User, ward: Ward, jpeg: bytes
) -> None:
    await as_user(user, "truc-ban")
    picture = await user.http_client.get(f"/api/events/{ward.person}/snapshot.jpg")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    assert picture.content == jpeg
    assert not await AuditEntry.filter(action="detections.viewed").exists(), "thumbnails in a list are not audited"

    for _ in range(2):
        opened = await user.http_client.get(f"/api/events/{ward.person}")
        assert opened.status_code == 200 and opened.json()["sub_label"] == "Anh Nam"
    entries = await AuditEntry.filter(action="detections.viewed")
    assert [(e.actor, e.object_id, e.detail["camera"]) for e in entries] == [("truc-ban", str(ward.person), "Cổng chợ")]


async def test_a_snapshot_path_leaving_the_snapshots_folder_is_never_served(user: User, ward: Ward) -> None:
    await as_user(user, "truc-ban")
    data = Path(context.appliance().settings.data_dir)
    outside = data / "secrets" / "audit-head.json"
    assert outside.is_file()
    (data / "snapshots").mkdir(exist_ok=True)
    os.symlink(outside, data / "snapshots" / "link.jpg")
    for path in ("../secrets/audit-head.json", "snapshots/../secrets/audit-head.json", str(outside),
                 "snapshots/link.jpg", "snapshots/0/2026-01-01/gone.jpg"):  # fmt: skip
        await Detection.filter(id=ward.person).update(snapshot_path=path)
        response = await user.http_client.get(f"/api/events/{ward.person}/snapshot.jpg")
        assert response.status_code == 404, path
        assert response.json()["error"] == {"code": "events.error.no_snapshot",
                                            "message": "Phát hiện này không có ảnh chụp."}  # fmt: skip
    no_picture = await user.http_client.get(f"/api/events/{ward.motion}/snapshot.jpg")
    assert no_picture.status_code == 404 and no_picture.json()["error"]["code"] == "events.error.no_snapshot"
    unknown = await user.http_client.get("/api/events/999999/snapshot.jpg")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "error.not_found"
    assert (await user.http_client.get("/api/events/999999")).status_code == 404
