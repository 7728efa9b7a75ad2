"""In real Chromium: an admin links a Frigate camera to a WardCam camera and reads the Frigate config.

A served appliance, the Frigate stand-in on loopback, and the session's Chromium. The screenshot goes
to tests/artifacts/frigate.png.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from appliance.i18n import catalog
from tests.addons.frigate.fake_frigate import FakeFrigate
from tests.harness.appliance import PASSWORD, RunningAppliance

pytestmark = pytest.mark.browser

VI = catalog("vi")
CAMERA_PASSWORD = "Hẻm@5:bí/mật#%"
TIMEOUT_MS = 15_000

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
async def page(chromium_browser: Browser) -> AsyncIterator[Page]:
    """One tab of a fresh browser profile at desktop size."""
    ctx = await chromium_browser.new_context(viewport={"width": 1280, "height": 1000}, locale="vi-VN")
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        yield await ctx.new_page()
    finally:
        await ctx.close()


def prepare(server: RunningAppliance, frigate_url: str) -> None:
    """As another admin did over the API: two cameras, and the Frigate add-on pointed at Frigate and turned on."""
    server.add_user("owner", "admin")
    admin = server.login("owner")
    try:
        for name, path, extra in (("Cổng trước", "cam1", {"sub_url": "rtsp://127.0.0.1:8554/cam1_sub"}),
                                  ("Hẻm 5", "cam2", {"username": "admin", "password": CAMERA_PASSWORD})):  # fmt: skip
            answer = admin.post("/api/cameras", json={"name": name, "main_url": f"rtsp://127.0.0.1:8554/{path}",
                                                      "enabled": False, **extra})  # fmt: skip
            assert answer.status_code == 201, answer.text
        options = {"url": frigate_url, "topic_prefix": f"frigate-{uuid.uuid4().hex[:8]}"}
        assert admin.put("/api/addons/frigate/options", json=options).status_code == 200
        assert admin.post("/api/addons/frigate/enable").status_code == 200
    finally:
        admin.close()


async def test_the_admin_links_frigates_camera_to_a_wardcam_camera_and_reads_the_config(
    appliance_server: RunningAppliance, page: Page, artifacts: Path
) -> None:
    frigate = await FakeFrigate(cameras=["cong_truoc", "cam_2"]).start()
    try:
        server = appliance_server
        await asyncio.to_thread(prepare, server, frigate.url)

        await page.goto(server.url + "/login")
        await page.wait_for_function("window.did_handshake === true")
        await page.get_by_label(VI["field.username"]).fill("owner")
        await page.get_by_label(VI["field.password"]).fill(PASSWORD)
        await page.get_by_role("button", name=VI["login.submit"]).click()
        await expect(page.locator(".q-header").get_by_text("owner")).to_be_visible()

        await page.goto(server.url + "/addon/frigate/status")
        await page.wait_for_function("window.did_handshake === true")
        await expect(page.get_by_text("phiên bản 0.16.2-4d58206, 2 camera")).to_be_visible()
        await expect(page.get_by_text("Cổng trước (cùng tên)")).to_be_visible()

        await page.locator('[data-frigate-camera="cam_2"]').click()
        await page.get_by_role("option", name="Hẻm 5").click()
        await page.get_by_role("button", name=VI["addon.frigate.links_save"]).click()
        await expect(page.get_by_text(VI["addon.frigate.links_saved"])).to_be_visible()
        await expect(page.get_by_text("Hẻm 5 (đã chọn)")).to_be_visible()
        await expect(page.get_by_text("Cổng trước (cùng tên)")).to_be_visible()  # still listed after the restart

        code = page.locator(".nicegui-code")
        await expect(code).to_contain_text("roles:")
        await expect(code).to_contain_text("rtsp://admin:{FRIGATE_CAM_2_PASSWORD}@127.0.0.1:8554/cam2")
        await expect(code).to_contain_text("rtsp://127.0.0.1:8554/cam1_sub")
        await expect(page.get_by_text("FRIGATE_CAM_2_PASSWORD — mật khẩu của camera Hẻm 5")).to_be_visible()
        html = await page.content()
        assert CAMERA_PASSWORD not in html and "b%C3%AD" not in html and "Traceback" not in html
        await page.screenshot(path=str(artifacts / "frigate.png"), full_page=True)
    finally:
        await frigate.stop()
