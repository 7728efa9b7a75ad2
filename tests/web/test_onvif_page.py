"""An admin finds a camera with "Scan network", gives its password, sees its streams and adds it.

The camera is a fake ONVIF camera on loopback (tests/addons/onvif/fake_camera.py): recorded SOAP
answers over real HTTP, and a WS-Discovery responder over real UDP that the add-on's probe reaches
because the add-on is configured to probe 127.0.0.1 instead of the multicast group.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from nicegui.testing import User

from appliance.db.models.audit import AuditEntry
from appliance.db.models.cameras import Camera
from appliance.db.models.users import Role
from tests.addons.onvif.fake_camera import FakeOnvifCamera, discovery_responder, fake_camera
from tests.web.conftest import AddUser, log_in
from web import context

SEES = 50  # tries of 0.1 s: a scan listens 0.5 s, reading a camera takes under a second


@asynccontextmanager
async def camera_on_the_lan() -> AsyncIterator[FakeOnvifCamera]:
    """Run a fake camera and point the add-on's probe at it; the options form is tested on the Add-ons page."""
    async with fake_camera() as camera, discovery_responder([camera.device_url]) as responder:
        addons = context.appliance().addons
        await addons.configure("onvif", {"probe_address": "127.0.0.1", "probe_port": responder.port,
                                         "scan_timeout_s": 0.5})  # fmt: skip
        await addons.enable("onvif")
        yield camera


async def scan_and_connect(user: User) -> None:
    await user.open("/addon/onvif/scan")
    user.find(marker="onvif-scan").click()
    await user.should_see("Đã tìm thấy 1 camera.", retries=SEES)
    await user.should_see("Ngã tư Lê Lợi")
    await user.should_see("HIKVISION DS-2CD2143G2-I")
    user.find(marker="onvif-connect-0").click()
    await user.should_see("Kết nối camera Ngã tư Lê Lợi")


async def test_admin_scans_gives_the_password_sees_the_streams_and_adds_the_camera(
    user: User, add_user: AddUser, caplog: pytest.LogCaptureFixture
) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=SEES)
    async with camera_on_the_lan() as camera:
        await scan_and_connect(user)
        user.find(marker="onvif-password").type("sai-mat-khau")
        user.find(marker="onvif-read").click()
        await user.should_see("Sai tên đăng nhập hoặc mật khẩu của camera.", retries=SEES)

        user.find(marker="onvif-password").clear().type(camera.password)
        await user.should_see(camera.password)  # typed in the dialog (so the check after adding can fail)
        user.find(marker="onvif-read").click()
        await user.should_see("2560×1440", retries=SEES)
        for text in ("640×360", "1280×720", "H.264", "mainStream", "subStream", "Luồng chính", "Luồng phụ"):
            await user.should_see(text)
        await user.should_see("Luồng chính: rtsp://127.0.0.1:554/Streaming/Channels/101?transportmode=unicast")
        await user.should_see("Luồng phụ: rtsp://127.0.0.1:554/Streaming/Channels/102?transportmode=unicast")

        user.find(marker="onvif-camera-name").clear().type("Ngã tư Lê Lợi - hướng chợ")
        user.find(marker="onvif-add").click()
        await user.should_see("Đã thêm camera Ngã tư Lê Lợi - hướng chợ.", retries=SEES)

    added = await Camera.get(name="Ngã tư Lê Lợi - hướng chợ")
    assert added.main_url == "rtsp://127.0.0.1:554/Streaming/Channels/101?transportmode=unicast"
    assert added.sub_url == "rtsp://127.0.0.1:554/Streaming/Channels/102?transportmode=unicast"
    assert (added.username, added.password) == ("admin", camera.password)
    entry = await AuditEntry.get(action="camera.created")
    assert (entry.actor, entry.object_id) == ("admin", str(added.id))
    assert camera.password not in str(entry.detail)
    await user.should_not_see(marker="onvif-password")  # the dialog with the typed password is gone
    await user.should_not_see(camera.password)
    assert camera.password not in caplog.text


async def test_a_camera_that_went_away_after_the_scan_is_unreachable_in_plain_words(
    user: User, add_user: AddUser
) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=SEES)
    async with camera_on_the_lan() as camera:
        await scan_and_connect(user)
        await camera.stop()  # unplugged
        user.find(marker="onvif-password").type(camera.password)
        user.find(marker="onvif-read").click()
        await user.should_see("Không kết nối được tới camera", retries=SEES)
    await user.should_not_see("Traceback")
    assert not await Camera.exists()


async def test_a_camera_name_already_taken_is_said_beside_the_name(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=SEES)
    await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1:8554/cam1")
    async with camera_on_the_lan() as camera:
        await scan_and_connect(user)
        user.find(marker="onvif-password").type(camera.password)
        user.find(marker="onvif-read").click()
        await user.should_see("2560×1440", retries=SEES)
        user.find(marker="onvif-camera-name").clear().type("Cổng chợ")
        user.find(marker="onvif-add").click()
        await user.should_see('Đã có camera tên "Cổng chợ".', retries=SEES)
    assert await Camera.all().count() == 1


async def test_the_page_speaks_english_to_an_english_speaking_admin(user: User, add_user: AddUser) -> None:
    await add_user("anna", language="en")
    await log_in(user, "anna")
    await user.should_see("Dashboard", retries=SEES)
    async with camera_on_the_lan():
        await user.open("/addon/onvif/scan")
        await user.should_see("Find cameras on the network")
        user.find(marker="onvif-scan").click()
        await user.should_see("Found 1 camera(s).", retries=SEES)
        await user.should_see("Connect")


async def test_only_staff_who_manage_cameras_see_the_scan_page(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await add_user("xem", Role.VIEWER)
    await log_in(user, "xem")
    await user.should_see("Tổng quan", retries=SEES)
    async with camera_on_the_lan():
        await user.open("/")
        await user.should_not_see("Tìm camera trong mạng")  # no navigation entry
        response = await user.http_client.get("/addon/onvif/scan")
    assert response.status_code == 403
    assert "Quét mạng" not in response.text
