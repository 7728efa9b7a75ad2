"""A camera's stored password goes only to the device it was typed for.

An admin who may edit a camera but was never told its password must not be able to read it by pointing
the stream address at a server of their own and pressing Test connection or Save: a stream address
moved to another scheme, host or port drops the stored password unless a new one is typed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.bus import EventBus
from appliance.cameras import CameraInput, CameraPatch, Cameras, ConnectionTest, password_may_follow, try_connection
from appliance.db.models.audit import AuditEntry
from appliance.db.models.cameras import Camera
from appliance.db.models.users import Role
from appliance.demo.cameras import BlockingSyntheticCameras
from tests.harness.credential_trap import CredentialTrap

SECRET = "bi-mat:@/#%"
ADMIN = Principal(user_id=1, username="admin", display_name="", role=Role.ADMIN, language="vi")
MAIN = "rtsp://192.168.1.64:554/Streaming/Channels/101"
SUB = "rtsp://192.168.1.64:554/Streaming/Channels/102"


@pytest.fixture
def service(db: Path) -> Cameras:
    return Cameras(AuditLog(db / "audit-head.json"), EventBus())


async def a_camera(service: Cameras, main_url: str = MAIN, sub_url: str = SUB) -> Camera:
    data = CameraInput(name="Ngã tư – hướng Bắc", main_url=main_url, sub_url=sub_url, username="admin",
                       password=SECRET, enabled=False)  # fmt: skip
    return await service.create_camera(data, who=ADMIN)


@pytest.mark.parametrize(
    ("main_url", "sub_url"),
    [
        ("rtsp://192.168.1.64:554/Streaming/Channels/201", SUB),  # another path on the same camera
        ("rtsp://192.168.1.64/Streaming/Channels/101", ""),  # 554 is RTSP's own port; the sub stream removed
        ("RTSP://192.168.1.64:554/x", MAIN),  # the scheme and host in capitals; the sub stream swapped in
    ],
)
def test_the_password_follows_a_url_to_the_same_device(main_url: str, sub_url: str) -> None:
    assert password_may_follow((MAIN, SUB), (main_url, sub_url))


@pytest.mark.parametrize(
    ("main_url", "sub_url"),
    [
        ("rtsp://10.0.0.99:554/Streaming/Channels/101", SUB),  # another host
        ("rtsp://192.168.1.64:8554/Streaming/Channels/101", SUB),  # another port
        ("rtsps://192.168.1.64:554/Streaming/Channels/101", SUB),  # another scheme
        ("http://192.168.1.64:554/Streaming/Channels/101", SUB),
        (MAIN, "rtsp://10.0.0.99/sub"),  # only the sub stream moved
        (MAIN, "rtsp://192.168.1.64.attacker.example:554/sub"),
    ],
)
def test_the_password_stays_behind_when_a_url_moves_to_another_device(main_url: str, sub_url: str) -> None:
    assert not password_may_follow((MAIN, SUB), (main_url, sub_url))


async def test_saving_a_url_on_another_host_without_a_password_drops_the_stored_one(service: Cameras) -> None:
    camera = await a_camera(service)
    moved = await service.update_camera(camera.id, CameraPatch(main_url="rtsp://10.0.0.99:554/live"), who=ADMIN)

    assert moved.password == "" and (await Camera.get(id=camera.id)).password == ""
    entry = await AuditEntry.filter(action="camera.updated").order_by("-id").first()
    assert entry is not None and entry.detail == {"fields": ["main_url", "password"]}


@pytest.mark.parametrize(
    "patch",
    [
        CameraPatch(sub_url="rtsp://192.168.1.64:1554/sub"),  # the sub stream to another port
        CameraPatch(main_url="rtsps://192.168.1.64:554/Streaming/Channels/101"),  # to another scheme
        CameraPatch(main_url="rtsp://192.168.1.64:554/x", sub_url="rtsp://10.0.0.99/x"),
    ],
)
async def test_a_changed_port_or_scheme_of_either_stream_drops_it_too(service: Cameras, patch: CameraPatch) -> None:
    camera = await a_camera(service)
    await service.update_camera(camera.id, patch, who=ADMIN)
    assert (await Camera.get(id=camera.id)).password == ""


async def test_a_password_typed_with_the_new_url_is_stored_and_a_new_path_keeps_the_old_one(
    service: Cameras,
) -> None:
    camera = await a_camera(service)
    patch = CameraPatch(main_url="rtsp://10.0.0.99/live", sub_url="", password="mat-khau-moi")
    await service.update_camera(camera.id, patch, who=ADMIN)
    assert (await Camera.get(id=camera.id)).password == "mat-khau-moi"

    await service.update_camera(camera.id, CameraPatch(main_url="rtsp://10.0.0.99:554/other", password=""), who=ADMIN)
    assert (await Camera.get(id=camera.id)).password == "mat-khau-moi"


async def test_test_connection_sends_no_stored_password_to_another_server(
    service: Cameras, rtsp_server_factory: Callable[..., BlockingSyntheticCameras]
) -> None:
    cams = rtsp_server_factory(cameras=2, user="admin", password=SECRET)
    camera = await a_camera(service, main_url=cams.urls[0], sub_url="")

    async with CredentialTrap() as trap:
        report = await try_connection(ConnectionTest(camera_id=camera.id, main_url=trap.url, username="admin"), 8)
    assert report.main.failure == "auth"
    assert trap.received.startswith(b"OPTIONS ") or trap.received.startswith(b"DESCRIBE ")
    assert not trap.saw(SECRET), trap.credentials_sent()
    assert trap.credentials_sent() in ([], ["admin:"])

    # the same camera on another path of its own server still gets the stored password
    same_device = await try_connection(ConnectionTest(camera_id=camera.id, main_url=cams.urls[1], username="admin"))
    assert same_device.main.info is not None and same_device.main.info.video_codec == "h264"


async def test_a_password_typed_for_the_new_server_is_the_one_it_gets(service: Cameras) -> None:
    camera = await a_camera(service)
    async with CredentialTrap() as trap:
        trial = ConnectionTest(camera_id=camera.id, main_url=trap.url, username="admin", password="mat-khau-go-lai")
        await try_connection(trial, 8)
    assert trap.credentials_sent() == ["admin:mat-khau-go-lai"]
    assert not trap.saw(SECRET)
