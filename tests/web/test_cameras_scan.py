"""On the Cameras page, "Scan network" finds cameras through the ONVIF add-on, or says how to get it.

The camera is the fake ONVIF camera on loopback (tests/addons/onvif/fake_camera.py): a WS-Discovery
responder over real UDP that the add-on's probe reaches because it is configured to probe 127.0.0.1.
"""

from __future__ import annotations

from nicegui.testing import User

from tests.addons.onvif.fake_camera import discovery_responder, fake_camera
from tests.web.conftest import AddUser, log_in
from web import context

SEES = 50
NEEDS_ADDON = 'Để quét mạng tìm camera, hãy bật tiện ích "Tìm camera ONVIF" trên trang Tiện ích'


async def open_cameras_page(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=SEES)
    await user.open("/cameras")


async def test_without_the_onvif_addon_the_button_says_to_enable_it_and_links_there(
    user: User, add_user: AddUser
) -> None:
    await open_cameras_page(user, add_user)
    user.find(marker="scan-network").click()
    await user.should_see(NEEDS_ADDON)
    await user.should_see("Cần bật tiện ích tìm camera")
    user.find(marker="open-addons").click()
    await user.should_not_see(NEEDS_ADDON, retries=SEES)  # the dialog is gone with the Cameras page
    await user.should_see("Tìm camera ONVIF", retries=SEES)  # the Add-ons page lists it, to be enabled


async def test_with_the_onvif_addon_the_button_opens_its_scan_page_which_finds_the_camera(
    user: User, add_user: AddUser
) -> None:
    async with fake_camera() as camera, discovery_responder([camera.device_url]) as responder:
        addons = context.appliance().addons
        await addons.configure("onvif", {"probe_address": "127.0.0.1", "probe_port": responder.port,
                                         "scan_timeout_s": 0.5})  # fmt: skip
        await addons.enable("onvif")
        await open_cameras_page(user, add_user)
        user.find(marker="scan-network").click()
        await user.should_see(marker="onvif-scan", retries=SEES)
        user.find(marker="onvif-scan").click()
        await user.should_see("Đã tìm thấy 1 camera.", retries=SEES)
        await user.should_see("Ngã tư Lê Lợi")
        await user.should_see(marker="onvif-connect-0")  # where its password is typed and it is added

        await addons.disable("onvif")  # turned off meanwhile: the button explains again
        await user.open("/cameras")
        user.find(marker="scan-network").click()
        await user.should_see(NEEDS_ADDON)
