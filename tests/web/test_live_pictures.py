"""A browser that cannot play a camera's video gets its pictures instead, about one a second, in real Chromium.

Chromium cannot decode H.265 in Media Source Extensions, so an H.265 camera (from a synthetic RTSP server
of its own) is the real case; a browser without Media Source Extensions at all (an iPhone's Safari) is
Chromium with MediaSource taken away before the page loads. One served appliance for the module. A
screenshot is left in tests/artifacts/live-pictures.png.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from appliance.demo.cameras import BlockingSyntheticCameras, CameraServerOptions
from appliance.i18n import catalog
from tests.harness.appliance import RunningAppliance, start_appliance

pytestmark = pytest.mark.browser

VI = catalog("vi")
TIMEOUT_MS = 20_000
NO_MSE = "Object.defineProperty(window, 'MediaSource', {value: undefined, configurable: true});"
expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class Ward:
    server: RunningAppliance
    h265: int  # camera ids
    h264: int

    def cookie(self, username: str) -> str:
        with closing(self.server.login(username)) as client:
            return str(client.cookies["wardcam_session"])


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory, rtsp_cameras: BlockingSyntheticCameras) -> Iterator[Ward]:
    """An appliance with a viewer, an H.265 camera and an H.264 one."""
    h265 = BlockingSyntheticCameras(CameraServerOptions(cameras=1, codec="h265", width=320, height=180))
    h265.start()
    server = start_appliance(tmp_path_factory.mktemp("live-pictures") / "data")
    try:
        server.add_user("owner", "admin")
        server.add_user("xem", "viewer")
        ids = []
        with closing(server.login("owner")) as admin:
            for name, url in (("Ngã tư", h265.urls[0]), ("Cổng chợ", rtsp_cameras.urls[3])):
                response = admin.post("/api/cameras", json={"name": name, "main_url": url, "enabled": False})
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])
        yield Ward(server, *ids)
    finally:
        server.stop()
        h265.stop()


@pytest.fixture
async def open_as(chromium_browser: Browser, ward: Ward) -> AsyncIterator[Any]:
    """Open a browser profile logged in as a user; `without_mse` takes Media Source Extensions away."""
    contexts: list[BrowserContext] = []

    async def open_page(username: str, without_mse: bool = False) -> Page:
        context = await chromium_browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
        context.set_default_timeout(TIMEOUT_MS)
        await context.add_cookies([{"name": "wardcam_session", "value": ward.cookie(username), "url": ward.server.url}])
        if without_mse:
            await context.add_init_script(NO_MSE)
        contexts.append(context)
        return await context.new_page()

    yield open_page
    for context in contexts:
        await context.close()


async def pictures_refresh(page: Page, width: int) -> None:
    """Wait for a picture of the camera, then for newer ones: a different frame, about one a second."""
    picture = page.locator("img[data-live-picture]")
    await expect(picture).to_be_visible()
    await expect(picture).to_have_attribute("data-pictures", re.compile(r"^\d+$"))
    shown = int(await picture.get_attribute("data-pictures") or 0)
    first = await picture.get_attribute("data-frame-time")
    assert await picture.evaluate("img => img.complete && img.naturalWidth") == width
    started = time.monotonic()
    await page.wait_for_function(  # the camera's newer frames (a keyframe every 1-2 s), asked about once a second
        "([shown, first]) => { const img = document.querySelector('img[data-live-picture]');"
        " return Number(img.dataset.pictures) >= shown + 3 && img.dataset.frameTime !== first; }",
        arg=[shown, first],
        timeout=8_000,
    )
    assert time.monotonic() - started > 1.5  # not a burst: about one picture a second


async def test_an_h265_camera_shows_refreshing_pictures_with_a_note_in_chromium(
    ward: Ward, open_as: Any, artifacts: Path
) -> None:
    page = await open_as("xem")
    await page.goto(f"{ward.server.url}/live/{ward.h265}")
    await expect(page.get_by_text(VI["live.pictures_only"])).to_be_visible()
    await pictures_refresh(page, 320)
    await expect(page.locator("video[data-live-camera]")).to_be_hidden()
    await expect(page.get_by_text("Chrome")).to_have_count(0)  # no advice to change browsers
    await page.screenshot(path=artifacts / "live-pictures.png", full_page=True)


async def test_a_browser_without_media_source_extensions_gets_pictures_too(ward: Ward, open_as: Any) -> None:
    page = await open_as("xem", without_mse=True)
    await page.goto(f"{ward.server.url}/live/{ward.h264}")
    await expect(page.get_by_text(VI["live.pictures_only"])).to_be_visible()
    await pictures_refresh(page, 640)

    plain = await open_as("xem")  # the same camera in a browser that plays it: video, and no note
    await plain.goto(f"{ward.server.url}/live/{ward.h264}")
    video = plain.locator("video[data-live-camera]")
    await plain.wait_for_function(
        "() => { const v = document.querySelector('video[data-live-camera]'); return v && v.currentTime > 0.5; }"
    )
    await expect(video).to_be_visible()
    await expect(plain.get_by_text(VI["live.pictures_only"])).to_be_hidden()
