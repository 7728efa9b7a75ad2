"""In real Chromium: an admin draws a zone by clicking on a camera's picture, and saves it.

A screenshot goes to tests/artifacts/motion-zones.png.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from appliance.demo.cameras import BlockingSyntheticCameras
from appliance.i18n import catalog
from tests.harness.appliance import RunningAppliance

pytestmark = pytest.mark.browser

VI = catalog("vi")
TIMEOUT_MS = 15_000
CORNERS = ((0.1, 0.2), (0.6, 0.2), (0.6, 0.9), (0.1, 0.9))  # where the admin clicks, as shares of the picture

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
async def page(chromium_browser: Browser) -> AsyncIterator[Page]:
    """Give the test one tab of a fresh browser profile at desktop size."""
    ctx = await chromium_browser.new_context(viewport={"width": 1280, "height": 1000}, locale="vi-VN")
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        yield await ctx.new_page()
    finally:
        await ctx.close()


async def test_the_admin_clicks_the_corners_of_a_zone_on_the_picture_and_saves_it(
    appliance_server: RunningAppliance, page: Page, rtsp_cameras: BlockingSyntheticCameras, artifacts: Path
) -> None:
    server = appliance_server
    server.add_user("owner", "admin")
    with closing(server.login("owner")) as admin:
        answer = admin.post("/api/cameras", json={"name": "Hẻm 7 – đầu hẻm", "main_url": rtsp_cameras.urls[3]})
        assert answer.status_code == 201, answer.text
        camera_id = answer.json()["id"]
        assert admin.post("/api/addons/motion/enable").status_code == 200

    await page.goto(server.url + "/login")
    await page.get_by_label(VI["field.username"]).fill("owner")
    await page.get_by_label(VI["field.password"]).fill("mat-khau-du-dai-1")
    await page.get_by_role("button", name=VI["login.submit"]).click()
    await expect(page.locator(".q-header").get_by_text("owner")).to_be_visible()
    await page.goto(server.url + "/addon/motion/cameras")
    picture = page.locator(".motion-picture img").first
    await expect(picture).to_have_attribute("src", re.compile(r"^data:image/jpeg;base64,"))
    await expect(page.get_by_text("Đang theo dõi (3 hình/giây)")).to_be_visible()

    await page.get_by_label(VI["addon.motion.zone_name"]).fill("Đầu hẻm")
    box = await picture.bounding_box()
    assert box is not None and box["width"] > 300
    for x, y in CORNERS:
        await picture.click(position={"x": x * box["width"], "y": y * box["height"]})
    await expect(page.locator(".motion-picture svg circle")).to_have_count(4)
    await page.get_by_role("button", name=VI["addon.motion.finish"]).click()
    await expect(page.get_by_text('Vùng theo dõi "Đầu hẻm" (4 góc)')).to_be_visible()
    await expect(page.locator(".motion-picture svg polygon")).to_have_count(1)
    await page.get_by_role("button", name=VI["action.save"]).click()
    await expect(page.get_by_text(VI["addon.motion.saved"])).to_be_visible()
    await page.screenshot(path=str(artifacts / "motion-zones.png"))

    saved = json.loads((server.data_dir / "addons" / "motion" / "cameras.json").read_text(encoding="utf-8"))
    (zone,) = saved[str(camera_id)]["zones"]
    assert zone["name"] == "Đầu hẻm"
    corners = [coordinate for corner in zone["points"] for coordinate in corner]
    assert corners == pytest.approx([coordinate for corner in CORNERS for coordinate in corner], abs=0.01)
