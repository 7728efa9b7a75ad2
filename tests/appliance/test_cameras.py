"""Staff add, change and remove sites and cameras: every change is checked, audited and announced."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from pydantic import ValidationError

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.bus import CameraChanged, EventBus
from appliance.cameras import (
    CameraInput,
    CameraNameTaken,
    CameraPatch,
    Cameras,
    InvalidStreamUrl,
    SiteInput,
    SiteNameTaken,
    SitePatch,
    UnknownSite,
    camera_for,
    cameras_for,
    check_stream_url,
    site_for,
    sites_for,
    stream_url_with_credentials,
    without_credentials,
)
from appliance.db.models.audit import AuditEntry
from appliance.db.models.cameras import AudioPolicy, Camera, Site
from appliance.db.models.users import Role
from appliance.demo.cameras import BlockingSyntheticCameras
from appliance.errors import NotFound
from appliance.i18n import t

TRICKY_PASSWORD = "p@ss:w/rd#%"
ADMIN = Principal(user_id=1, username="admin", display_name="", role=Role.ADMIN, language="vi")


class Changes:
    """Collect the CameraChanged events the bus delivers."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.seen: list[tuple[int, str]] = []
        bus.subscribe(CameraChanged, lambda e: self.seen.append((e.camera_id, e.change)))

    async def delivered(self) -> list[tuple[int, str]]:
        await self.bus.drain()
        return self.seen


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def service(db: Path, bus: EventBus) -> Cameras:
    return Cameras(AuditLog(db / "audit-head.json"), bus)


@pytest.fixture
def changes(bus: EventBus) -> Changes:
    return Changes(bus)


async def audit_trail() -> list[tuple[str, str, dict[str, object]]]:
    return [(e.action, e.object_id, e.detail) for e in await AuditEntry.all()]


async def a_camera(service: Cameras, name: str = "Ngã tư – hướng Bắc", **fields: object) -> Camera:
    data = {"name": name, "main_url": "rtsp://192.168.1.64:554/Streaming/Channels/101", **fields}
    return await service.create_camera(CameraInput.model_validate(data), who=ADMIN, ip="10.0.0.5")


async def test_a_site_and_a_camera_with_a_password_are_created_audited_and_announced(
    service: Cameras, changes: Changes
) -> None:
    site = await service.create_site(SiteInput(name="Hẻm 12 Nguyễn Trãi", latitude=21.02, longitude=105.84), who=ADMIN)
    camera = await a_camera(service, site_id=site.id, username="admin", password=TRICKY_PASSWORD)

    assert (camera.site.name, camera.username, camera.password) == ("Hẻm 12 Nguyễn Trãi", "admin", TRICKY_PASSWORD)
    assert (camera.enabled, camera.retention_days, camera.audio_policy) == (True, 30, AudioPolicy.COPY)
    assert await changes.delivered() == [(camera.id, "created")]
    trail = await audit_trail()
    assert [action for action, _, _ in trail] == ["site.created", "camera.created"]
    assert trail[1] == ("camera.created", str(camera.id), {"name": "Ngã tư – hướng Bắc", "site_id": site.id})
    assert (await AuditEntry.get(action="camera.created")).ip == "10.0.0.5"


async def test_an_update_without_a_password_keeps_it_and_the_audit_names_only_the_changed_fields(
    service: Cameras, changes: Changes
) -> None:
    camera = await a_camera(service, username="admin", password=TRICKY_PASSWORD)
    patch = CameraPatch(enabled=False, retention_days=60, password="", username="admin", name=" Ngã tư – hướng Bắc ")
    updated = await service.update_camera(camera.id, patch, who=ADMIN)

    assert (updated.enabled, updated.retention_days, updated.password) == (False, 60, TRICKY_PASSWORD)
    assert (await Camera.get(id=camera.id)).password == TRICKY_PASSWORD
    assert (await audit_trail())[-1] == ("camera.updated", str(camera.id), {"fields": ["enabled", "retention_days"]})
    assert await changes.delivered() == [(camera.id, "created"), (camera.id, "updated")]


async def test_a_new_password_replaces_the_old_one_and_no_audit_entry_shows_either(service: Cameras) -> None:
    camera = await a_camera(service, username="admin", password="cu-mat-khau")
    await service.update_camera(camera.id, CameraPatch(password=TRICKY_PASSWORD), who=ADMIN)

    assert (await Camera.get(id=camera.id)).password == TRICKY_PASSWORD
    assert (await audit_trail())[-1][2] == {"fields": ["password"]}
    everything = json.dumps(await audit_trail(), ensure_ascii=False)
    assert "cu-mat-khau" not in everything and TRICKY_PASSWORD not in everything


async def test_clear_password_removes_it_and_a_change_to_nothing_writes_nothing(
    service: Cameras, changes: Changes
) -> None:
    camera = await a_camera(service, password="mat-khau")
    await service.update_camera(camera.id, CameraPatch(clear_password=True), who=ADMIN)
    assert (await Camera.get(id=camera.id)).password == ""

    entries = await AuditEntry.all().count()
    same = CameraPatch(name=camera.name, enabled=True, password=None, site_id=None, sub_url=None)
    await service.update_camera(camera.id, same, who=ADMIN)
    assert await AuditEntry.all().count() == entries
    assert await changes.delivered() == [(camera.id, "created"), (camera.id, "updated")]


async def test_a_camera_moves_to_another_site_and_off_any_site(service: Cameras) -> None:
    north = await service.create_site(SiteInput(name="Ngã tư Lê Lợi"), who=ADMIN)
    camera = await a_camera(service, site_id=north.id, sub_url="rtsp://192.168.1.64:554/Streaming/Channels/102")
    south = await service.create_site(SiteInput(name="Chợ Bến Thành"), who=ADMIN)

    moved = await service.update_camera(camera.id, CameraPatch(site_id=south.id), who=ADMIN)
    assert moved.site.name == "Chợ Bến Thành"
    off = await service.update_camera(
        camera.id, CameraPatch.model_validate({"site_id": None, "sub_url": None}), who=ADMIN
    )
    assert (off.site, off.sub_url) == (None, "")
    assert (await audit_trail())[-1][2] == {"fields": ["site_id", "sub_url"]}


@pytest.mark.parametrize(
    "url",
    [
        "rtsp://192.168.1.64:554/Streaming/Channels/101",
        "rtsps://cam.local/live?channel=1&subtype=0",
        "http://10.0.0.7/mjpeg/1",
        "https://camera.example:8443/stream",
        "rtsp://[fe80::1]:554/h264",
    ],
)
def test_stream_urls_the_recorder_can_open_are_accepted(url: str) -> None:
    assert check_stream_url(url) == url
    assert CameraInput(name="x", main_url=url).main_url == url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("rtsp://admin:secret@192.168.1.64/stream", "credentials"),
        ("rtsp://admin@192.168.1.64/stream", "credentials"),
        ("http://10.0.0.7/snapshot.cgi?user=admin&pwd=secret", "credentials"),
        ("rtmp://192.168.1.64/live", "scheme"),
        ("192.168.1.64:554/stream", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("rtsp:///stream", "host"),
        ("rtsp://192.168.1.64:99999/stream", "port"),
        ("rtsp://192.168.1.64/my stream", "invalid"),
        ("rtsp://192.168.1.64/\nstream", "invalid"),
    ],
)
def test_stream_urls_with_a_problem_are_refused_with_a_translated_field_error(url: str, problem: str) -> None:
    with pytest.raises(InvalidStreamUrl) as raised:
        check_stream_url(url)
    assert raised.value.key == f"error.field.stream_url_{problem}"

    with pytest.raises(ValidationError) as invalid:
        CameraInput(name="x", main_url="rtsp://192.168.1.64/ok", sub_url=url)
    [error] = invalid.value.errors()
    assert (error["loc"], error["type"]) == (("sub_url",), f"stream_url_{problem}")
    assert t(f"error.field.{error['type']}", "vi") != f"error.field.{error['type']}"


def test_the_credentials_error_tells_the_user_where_to_put_them() -> None:
    text = t("error.field.stream_url_credentials", "vi")
    assert "Tên đăng nhập" in text and "Mật khẩu" in text
    assert "Username and Password" in t("error.field.stream_url_credentials", "en")


def test_out_of_range_and_overlong_input_is_refused_per_field() -> None:
    with pytest.raises(ValidationError) as invalid:
        SiteInput(name="", latitude=91, longitude=-181)
    assert {(e["loc"][0], e["type"]) for e in invalid.value.errors()} == {
        ("name", "string_too_short"),
        ("latitude", "less_than_equal"),
        ("longitude", "greater_than_equal"),
    }
    with pytest.raises(ValidationError) as invalid:
        CameraInput(name="x", main_url="rtsp://h/" + "a" * 1024, retention_days=0, password="a\r\nb", colour="red")
    assert {(e["loc"][0], e["type"]) for e in invalid.value.errors()} == {
        ("main_url", "string_too_long"),
        ("retention_days", "greater_than_equal"),
        ("password", "string_pattern_mismatch"),
        ("colour", "extra_forbidden"),
    }


async def test_duplicate_names_and_an_unknown_site_are_refused_and_change_nothing(service: Cameras) -> None:
    site = await service.create_site(SiteInput(name="Hẻm 12"), who=ADMIN)
    other = await service.create_site(SiteInput(name="Hẻm 14"), who=ADMIN)
    camera = await a_camera(service, name="Đầu hẻm", site_id=site.id)
    await a_camera(service, name="Cuối hẻm")
    before = await audit_trail()

    with pytest.raises(SiteNameTaken) as taken:
        await service.create_site(SiteInput(name="Hẻm 12"), who=ADMIN)
    assert (taken.value.field, taken.value.status) == ("name", 409)
    with pytest.raises(SiteNameTaken):
        await service.update_site(other.id, SitePatch(name="Hẻm 12"), who=ADMIN)
    with pytest.raises(CameraNameTaken):
        await a_camera(service, name="Đầu hẻm")
    with pytest.raises(CameraNameTaken):
        await service.update_camera(camera.id, CameraPatch(name="Cuối hẻm", enabled=False), who=ADMIN)
    with pytest.raises(UnknownSite) as unknown:
        await a_camera(service, name="Mới", site_id=999)
    assert (unknown.value.field, t(unknown.value.key, "vi", **unknown.value.params)) == (
        "site_id",
        "Không có điểm camera số 999.",
    )
    with pytest.raises(UnknownSite):
        await service.update_camera(camera.id, CameraPatch(site_id=999), who=ADMIN)
    with pytest.raises(NotFound):
        await service.update_camera(12345, CameraPatch(enabled=False), who=ADMIN)

    assert await audit_trail() == before
    assert [c.name for c in await Camera.all()] == ["Cuối hẻm", "Đầu hẻm"]
    assert (await Camera.get(id=camera.id)).enabled is True
    assert [s.name for s in await Site.all()] == ["Hẻm 12", "Hẻm 14"]


async def test_deleting_a_site_keeps_its_cameras_without_a_site(service: Cameras, changes: Changes) -> None:
    site = await service.create_site(SiteInput(name="Hẻm 12"), who=ADMIN)
    first = await a_camera(service, name="Đầu hẻm", site_id=site.id)
    second = await a_camera(service, name="Cuối hẻm", site_id=site.id)

    assert await service.delete_site(site.id, who=ADMIN) == [first.id, second.id]

    assert not await Site.exists(id=site.id)
    assert [(c.name, c.site) for c in await Camera.all().prefetch_related("site")] == [
        ("Cuối hẻm", None),
        ("Đầu hẻm", None),
    ]
    assert (await audit_trail())[-1] == (
        "site.deleted",
        str(site.id),
        {"name": "Hẻm 12", "cameras_unassigned": [first.id, second.id]},
    )
    assert (await changes.delivered())[-2:] == [(first.id, "updated"), (second.id, "updated")]


async def test_deleting_a_camera_is_audited_and_announced(service: Cameras, changes: Changes) -> None:
    camera = await a_camera(service)
    await service.delete_camera(camera.id, who=ADMIN, ip="10.0.0.5")

    assert not await Camera.exists(id=camera.id)
    assert (await audit_trail())[-1] == ("camera.deleted", str(camera.id), {"name": camera.name})
    assert (await changes.delivered())[-1] == (camera.id, "deleted")
    with pytest.raises(NotFound):
        await service.delete_camera(camera.id, who=ADMIN)
    assert (await service.audit.verify()).ok


async def test_police_see_only_the_sites_and_cameras_granted_to_them(service: Cameras) -> None:
    granted = await service.create_site(SiteInput(name="Hẻm 12"), who=ADMIN)
    other = await service.create_site(SiteInput(name="Hẻm 14"), who=ADMIN)
    seen = await a_camera(service, name="Đầu hẻm 12", site_id=granted.id)
    hidden = await a_camera(service, name="Đầu hẻm 14", site_id=other.id)
    unfiled = await a_camera(service, name="Chưa gán")
    police = Principal(user_id=7, username="cs", display_name="", role=Role.POLICE, language="vi",
                       site_ids=frozenset({granted.id}))  # fmt: skip
    viewer = Principal(user_id=8, username="xem", display_name="", role=Role.VIEWER, language="vi")

    assert [s.name for s in await sites_for(police)] == ["Hẻm 12"]
    assert [c.name for c in await cameras_for(police)] == ["Đầu hẻm 12"]
    assert (await camera_for(police, seen.id)).name == "Đầu hẻm 12"
    for camera_id in (hidden.id, unfiled.id):
        with pytest.raises(NotFound):
            await camera_for(police, camera_id)
    with pytest.raises(NotFound):
        await site_for(police, other.id)
    assert len(await cameras_for(viewer)) == 3 and len(await sites_for(viewer)) == 2


@pytest.mark.parametrize(
    ("username", "password"),
    [("admin", TRICKY_PASSWORD), ("người dùng", "a b?c&d=e;f"), ("u@x:y", "%41%"), ("admin", "")],
)
def test_credentials_go_into_the_stream_url_percent_encoded_and_decode_back(username: str, password: str) -> None:
    camera = Camera(main_url="rtsp://192.168.1.64:554/Streaming/Channels/101?transport=tcp#x", sub_url="",
                    username=username, password=password)  # fmt: skip
    url = stream_url_with_credentials(camera)

    parts = urlsplit(url)
    assert unquote(parts.username or "") == username
    assert unquote(parts.password or "") == password if password else parts.password is None
    assert (parts.hostname, parts.port, parts.path) == ("192.168.1.64", 554, "/Streaming/Channels/101")
    assert (parts.query, parts.fragment) == ("transport=tcp", "x")
    assert without_credentials(url) == camera.main_url


def test_a_camera_without_credentials_keeps_its_url_and_the_sub_stream_falls_back_to_the_main() -> None:
    camera = Camera(main_url="rtsp://[fe80::1]:554/main", sub_url="", username="", password="")
    assert stream_url_with_credentials(camera) == "rtsp://[fe80::1]:554/main"
    assert stream_url_with_credentials(camera, sub=True) == "rtsp://[fe80::1]:554/main"
    camera.sub_url, camera.username, camera.password = "rtsp://[fe80::1]:554/sub", "u", "p:w"
    assert stream_url_with_credentials(camera, sub=True) == "rtsp://u:p%3Aw@[fe80::1]:554/sub"


async def test_ffmpeg_opens_a_password_protected_camera_with_tricky_credentials(
    rtsp_server_factory: Callable[..., BlockingSyntheticCameras],
) -> None:
    cams = rtsp_server_factory(cameras=1, user="người dùng", password=TRICKY_PASSWORD)
    camera = Camera(main_url=cams.urls[0], sub_url="", username="người dùng", password=TRICKY_PASSWORD)
    probe = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-timeout", "5000000", "-of", "json",
        "-show_entries", "stream=codec_name", stream_url_with_credentials(camera),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(probe.communicate(), 20)
    assert probe.returncode == 0, err.decode(errors="replace")
    assert [s["codec_name"] for s in json.loads(out)["streams"]] == ["h264"]


async def test_a_camera_with_footage_locked_as_evidence_cannot_be_deleted(db: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from appliance.cameras import CameraHasEvidence
    from appliance.db.models.recordings import EvidenceLock

    service = Cameras(AuditLog(db / "audit-head.json"), EventBus())
    camera = await service.create_camera(CameraInput(name="Hẻm 9", main_url="rtsp://127.0.0.1/cam1"), who=ADMIN)
    now = datetime.now(UTC)
    await EvidenceLock.create(camera_id=camera.id, start=now - timedelta(hours=1), end=now, reason="vụ việc 12/2026")
    with pytest.raises(CameraHasEvidence):
        await service.delete_camera(camera.id, who=ADMIN)
    assert await Camera.exists(id=camera.id)
