"""In real Chromium: an admin adds a camera, tests it, sees it recording, and finds the sites on the map.

The map has no tile server (the default, for an appliance without internet): the sites are dots on a
plain background. Screenshots go to tests/artifacts/cameras.png and tests/artifacts/map.png.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from appliance.demo.cameras import BlockingSyntheticCameras
from appliance.i18n import catalog
from appliance.net import free_port
from tests.harness.appliance import RunningAppliance

pytestmark = pytest.mark.browser

VI = catalog("vi")
TIMEOUT_MS = 15_000  # a probe takes about 3 s, a camera's first recorded seconds about 5 s

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
async def page(chromium_browser: Browser) -> AsyncIterator[Page]:
    """Give the test one tab of a fresh browser profile at desktop size."""
    ctx = await chromium_browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        yield await ctx.new_page()
    finally:
        await ctx.close()


async def visit(page: Page, server: RunningAppliance, path: str) -> None:
    """Open an address and wait until NiceGUI's websocket is up."""
    await page.goto(server.url + path)
    await page.wait_for_function("window.did_handshake === true")


async def test_admin_adds_a_camera_and_finds_the_sites_on_a_map_without_tiles(
    appliance_server: RunningAppliance, page: Page, rtsp_cameras: BlockingSyntheticCameras, artifacts: Path
) -> None:
    server = appliance_server
    server.add_user("owner", "admin")
    admin = server.login("owner")
    sites = {}
    for name, lat, lon in (("Chợ Bến Thành", 10.7725, 106.6980), ("Hẻm 7 Lê Lợi", 10.7750, 106.7003),
                           ("Công viên 23/9", 10.7695, 106.6935)):  # fmt: skip
        response = admin.post("/api/sites", json={"name": name, "latitude": lat, "longitude": lon})
        assert response.status_code == 201, response.text
        sites[name] = response.json()["id"]
    nowhere = f"rtsp://127.0.0.1:{free_port()}/cam1"
    for name, url, site in (("Cổng chợ – cổng chính", rtsp_cameras.urls[0], "Chợ Bến Thành"),
                            ("Hẻm 7 – đầu hẻm", nowhere, "Hẻm 7 Lê Lợi")):  # fmt: skip
        response = admin.post("/api/cameras", json={"name": name, "main_url": url, "site_id": sites[site]})
        assert response.status_code == 201, response.text
    admin.close()

    await visit(page, server, "/login")
    await page.get_by_label(VI["field.username"]).fill("owner")
    await page.get_by_label(VI["field.password"]).fill("mat-khau-du-dai-1")
    await page.get_by_role("button", name=VI["login.submit"]).click()
    await expect(page.locator(".q-header").get_by_text("owner")).to_be_visible()

    await visit(page, server, "/cameras")
    await page.get_by_role("button", name=VI["cameras.add"]).click()
    dialog = page.locator(".q-dialog")
    await dialog.get_by_label(VI["field.camera_name"]).fill("Cổng chợ – cổng sau")
    await dialog.get_by_label(VI["field.camera_site"]).click()
    await page.get_by_role("option", name="Chợ Bến Thành").click()
    await dialog.get_by_label(VI["field.camera_main_url"]).fill(rtsp_cameras.urls[1])
    await dialog.get_by_role("button", name=VI["cameras.test.button"]).click()
    await expect(dialog.get_by_text("Luồng chính: H.264 · 640×360 · 10 hình/giây")).to_be_visible()
    await expect(dialog.locator(".q-btn--loading")).to_have_count(0)  # the spinner is gone with the answer
    await page.screenshot(path=artifacts / "camera-test-connection.png")
    await dialog.get_by_role("button", name=VI["action.save"]).click()
    await expect(page.get_by_text(VI["cameras.saved"].format(name="Cổng chợ – cổng sau"))).to_be_visible()

    cards = page.locator("[data-camera]")
    await expect(cards).to_have_count(3)
    for name in ("Cổng chợ – cổng sau", "Cổng chợ – cổng chính"):
        await expect(cards.filter(has_text=name).get_by_text(VI["recorder.state.recording"])).to_be_visible()
    offline = cards.filter(has_text="Hẻm 7 – đầu hẻm")
    await expect(offline.get_by_text(re.compile("^Mất tín hiệu từ \\d\\d:\\d\\d$"))).to_be_visible()
    await expect(offline.get_by_text(VI["recorder.failure.unreachable"])).to_be_visible()
    await page.screenshot(path=artifacts / "cameras.png", full_page=True)

    await visit(page, server, "/sites")
    the_map = page.locator(".nicegui-leaflet")
    await expect(the_map).to_be_visible()
    dots = the_map.locator("path.leaflet-interactive")
    await expect(dots).to_have_count(3)
    await expect(the_map.locator(".leaflet-tooltip")).to_have_count(3)  # each dot carries its site's name
    assert await the_map.locator("img.leaflet-tile").count() == 0  # no tile server: a plain background
    fills = sorted([await dots.nth(i).get_attribute("fill") for i in range(3)])
    assert fills == sorted(["#2E7D32", "#C62828", "#757575"]), fills  # all recording, all offline, no camera
    await page.screenshot(path=artifacts / "map.png", full_page=True)

    await the_map.locator("path.leaflet-interactive[fill='#2E7D32']").click()  # the market: all recording
    popup = the_map.locator(".leaflet-popup")
    await expect(popup).to_contain_text("Chợ Bến Thành")
    await expect(popup).to_contain_text("2 camera: 2 đang ghi, 0 mất tín hiệu")
    await popup.get_by_role("link", name=VI["sites.show_cameras"]).click()
    market = f"{server.url}/cameras?site={sites['Chợ Bến Thành']}"
    await expect(page).to_have_url(re.compile(re.escape(market) + "$"))
    await page.wait_for_function("window.did_handshake === true")
    await expect(page.locator("[data-camera]")).to_have_count(2)
    await expect(page.get_by_text("Hẻm 7 – đầu hẻm")).to_have_count(0)
