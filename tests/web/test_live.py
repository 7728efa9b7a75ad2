"""Watching cameras in real Chromium: the dashboard's live grid and a camera's live video.

One served appliance (`python -m appliance serve`) for the module, with four cameras under two sites:
two from the session's synthetic RTSP server (one with a sub stream), one H.265 camera, and one whose
address answers nothing.
Screenshots are left in tests/artifacts/ for people to look at.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from appliance.demo.cameras import BlockingSyntheticCameras, CameraServerOptions
from appliance.i18n import catalog
from appliance.net import free_port
from tests.harness.appliance import RunningAppliance, start_appliance

pytestmark = pytest.mark.browser

VI = catalog("vi")
TIMEOUT_MS = 20_000
expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class Ward:
    """The served appliance and what the test set up in it."""

    server: RunningAppliance
    cameras: dict[str, int]  # name -> id
    urls: dict[str, str]  # name -> main stream URL
    sites: dict[str, int]  # name -> id
    subs: dict[str, str]  # name -> sub stream URL ("" when none)

    def cookie(self, username: str) -> str:
        """Log a user in over the API and return their session cookie."""
        with closing(self.server.login(username)) as client:
            return str(client.cookies["wardcam_session"])

    def audit(self, action: str, actor: str) -> list[dict[str, Any]]:
        """Return the audit entries of one action by one user, newest first."""
        with closing(self.server.login("owner")) as admin:
            response = admin.get("/api/audit", params={"action": action, "actor": actor})
            assert response.status_code == 200, response.text
            entries: list[dict[str, Any]] = response.json()["entries"]
            return entries


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory, rtsp_cameras: Any) -> Iterator[Ward]:
    """An appliance with an admin, a viewer and a police officer, two sites and four cameras."""
    h265 = BlockingSyntheticCameras(CameraServerOptions(cameras=1, codec="h265", width=320, height=180))
    h265.start()
    server = start_appliance(tmp_path_factory.mktemp("live") / "data")
    try:
        yield _set_up(server, rtsp_cameras.urls, h265.urls[0])
    finally:
        server.stop()
        h265.stop()


def _set_up(server: RunningAppliance, urls: list[str], h265_url: str) -> Ward:
    server.add_user("owner", "admin")
    server.add_user("xem", "viewer")
    server.add_user("canh-sat", "police")
    with closing(server.login("owner")) as admin:
        sites = {}
        for name in ("Hẻm 12 Nguyễn Trãi", "Chợ Bàn Cờ"):
            sites[name] = admin.post("/api/sites", json={"name": name}).json()["id"]
        cameras_ = {  # name: (main stream, sub stream, site)
            "Cổng chợ": (urls[0], urls[2], "Chợ Bàn Cờ"),  # the grid shows its sub stream's keyframes
            "Đầu hẻm": (urls[1], "", "Hẻm 12 Nguyễn Trãi"),
            "Cuối hẻm": (f"rtsp://127.0.0.1:{free_port()}/cam1", "", "Hẻm 12 Nguyễn Trãi"),  # does not answer
            "Ngã tư": (h265_url, "", "Chợ Bàn Cờ"),  # H.265: Chromium cannot decode it, the appliance does
        }
        cameras = {}
        for name, (main, sub, site) in cameras_.items():
            body = {"name": name, "main_url": main, "sub_url": sub, "site_id": sites[site]}
            response = admin.post("/api/cameras", json=body)
            assert response.status_code == 201, response.text
            cameras[name] = response.json()["id"]
        police = next(u for u in admin.get("/api/users").json() if u["username"] == "canh-sat")
        response = admin.patch(f"/api/users/{police['id']}", json={"site_ids": [sites["Chợ Bàn Cờ"]]})
        assert response.status_code == 200, response.text
    return Ward(server, cameras, {name: main for name, (main, _, _) in cameras_.items()}, sites,
                {name: sub for name, (_, sub, _) in cameras_.items()})  # fmt: skip


@pytest.fixture
async def logged_in(chromium_browser: Browser, ward: Ward) -> AsyncIterator[Any]:
    """Open browser profiles already logged in as a user (the login form has tests of its own)."""
    contexts: list[BrowserContext] = []

    async def open_as(username: str) -> Page:
        context = await chromium_browser.new_context(
            viewport={"width": 1280, "height": 800}, locale="vi-VN", accept_downloads=True
        )
        context.set_default_timeout(TIMEOUT_MS)
        await context.add_cookies([{"name": "wardcam_session", "value": ward.cookie(username), "url": ward.server.url}])
        contexts.append(context)
        return await context.new_page()

    yield open_as
    for context in contexts:
        await context.close()


async def picture_changes(video: Any, within_s: float) -> bool:
    """Tell whether a tile's picture changes within `within_s`, as someone looking at it would see.

    The test camera draws a moving ball and a clock, so every keyframe looks different. The picture is
    compared, not the video's playback counters: Chromium counts a keyframe as dropped after it has been
    shown (a CI run saw totalVideoFrames 3 with droppedVideoFrames 3 on a tile that had shown one).
    """
    return bool(
        await video.evaluate(
            """(v, ms) => new Promise(done => {
                const canvas = document.createElement("canvas");
                canvas.width = 64;
                canvas.height = 36;
                const g = canvas.getContext("2d", { willReadFrequently: true });
                const look = () => {
                    g.drawImage(v, 0, 0, 64, 36);
                    return g.getImageData(0, 0, 64, 36).data.join(",");
                };
                const first = look();
                const until = Date.now() + ms;
                const check = () => {
                    if (look() !== first) done(true);
                    else if (Date.now() > until) done(false);
                    else setTimeout(check, 200);
                };
                check();
            })""",
            within_s * 1000,
        )
    )


def tile(page: Page, ward: Ward, name: str) -> Any:
    """Return the grid tile of a camera."""
    return page.locator(f'[data-live-tile="{ward.cameras[name]}"]')


def grid_ffmpegs(ward: Ward, url: str) -> int:
    """Count the appliance's ffmpegs that send a camera's keyframes to the grid."""
    count = 0
    for child in psutil.Process(ward.server.process.pid).children(recursive=True):
        try:
            cmdline = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if child.name() == "ffmpeg" and url in cmdline and "noise=drop=not(key)" in cmdline:
            count += 1
    return count


async def video_time(page: Page) -> float:
    """Return the live video's playback position in seconds."""
    return float(await page.evaluate("document.querySelector('video[data-live-camera]').currentTime"))


# --- the grid ------------------------------------------------------------------------------------


async def test_the_grid_shows_every_camera_live_with_its_name_site_and_status(
    ward: Ward, logged_in: Any, artifacts: Path
) -> None:
    page = await logged_in("owner")
    await page.goto(ward.server.url + "/")
    await expect(page.locator("[data-live-tile]")).to_have_count(4)
    for name in ("Cổng chợ", "Đầu hẻm", "Ngã tư"):
        await expect(tile(page, ward, name).locator(".wardcam-shown")).to_be_visible()
        await expect(tile(page, ward, name)).to_contain_text(name)
        await expect(tile(page, ward, name).get_by_text(VI["recorder.state.recording"])).to_be_visible()
    await expect(tile(page, ward, "Đầu hẻm")).to_contain_text("Hẻm 12 Nguyễn Trãi")
    # the sub stream's keyframes as the camera sent them, decoded by the browser
    video = tile(page, ward, "Cổng chợ").locator("video.wardcam-shown")
    assert await video.evaluate("v => [v.videoWidth, v.videoHeight]") == [640, 360]
    # H.265, which this browser cannot decode: JPEGs from the appliance
    img = tile(page, ward, "Ngã tư").locator("img.wardcam-shown")
    assert await img.evaluate("img => img.naturalWidth") == 320
    # the dead camera says why there is no picture, in plain words
    await expect(tile(page, ward, "Cuối hẻm")).to_contain_text(VI["recorder.failure.unreachable"])

    # pictures keep coming: the camera sends a keyframe every 2 s, which the tile's video plays one after
    # another (seeking to each cost the browser far more)
    assert await picture_changes(video, within_s=20)
    assert await video.evaluate("v => !v.paused && v.muted")
    await page.screenshot(path=artifacts / "grid.png")

    # a second page showing the same cameras does not start a second ffmpeg per camera
    other = await logged_in("owner")
    await other.goto(ward.server.url + "/")
    await expect(tile(other, ward, "Cổng chợ").locator("video.wardcam-shown")).to_be_visible()
    assert grid_ffmpegs(ward, ward.subs["Cổng chợ"]) == 1
    await other.close()

    # filter by site
    await page.get_by_label(VI["live.filter_site"]).click()
    await page.get_by_role("option", name="Chợ Bàn Cờ").click()
    await expect(tile(page, ward, "Đầu hẻm")).to_be_hidden()
    await expect(tile(page, ward, "Cổng chợ")).to_be_visible()
    await page.get_by_label(VI["live.filter_site"]).click()
    await page.get_by_role("option", name=VI["live.all_sites"]).click()
    await expect(tile(page, ward, "Đầu hẻm")).to_be_visible()

    # wall mode: the grid alone fills the screen; Escape leaves it
    await page.get_by_role("button", name=VI["live.wall_mode"]).click()
    await expect(page.locator("html.wardcam-wall")).to_have_count(1)
    box = await page.locator("[data-live-grid]").bounding_box()
    assert box is not None and box["width"] >= 1270 and box["height"] >= 790 and box["x"] <= 1 and box["y"] <= 1
    await page.screenshot(path=artifacts / "grid-wall.png")
    await page.keyboard.press("Escape")
    await expect(page.locator("html.wardcam-wall")).to_have_count(0)


async def test_an_open_grid_shows_a_camera_switched_off_and_on_again(ward: Ward, logged_in: Any) -> None:
    page = await logged_in("owner")
    await page.goto(ward.server.url + "/")
    badge = tile(page, ward, "Đầu hẻm").locator("[data-status]")
    await expect(badge).to_have_text(VI["recorder.state.recording"])
    camera = f"/api/cameras/{ward.cameras['Đầu hẻm']}"
    with closing(ward.server.login("owner")) as admin:
        try:
            assert admin.patch(camera, json={"enabled": False}).status_code == 200
            await expect(badge).to_have_text(VI["camera.status.disabled"])  # within the badges' 5 s
            assert await badge.get_attribute("title") == VI["live.not_recorded"]
        finally:
            assert admin.patch(camera, json={"enabled": True}).status_code == 200
    await expect(badge).to_have_text(VI["recorder.state.recording"])
    assert await badge.get_attribute("title") is None


async def test_a_tile_opens_the_camera_live_and_its_video_plays(ward: Ward, logged_in: Any, artifacts: Path) -> None:
    page = await logged_in("owner")
    await page.goto(ward.server.url + "/")
    await tile(page, ward, "Đầu hẻm").click()
    await expect(page).to_have_url(f"{ward.server.url}/live/{ward.cameras['Đầu hẻm']}")
    await expect(page.locator(".q-page-container").get_by_text("Đầu hẻm", exact=True)).to_be_visible()
    await page.wait_for_function("document.querySelector('video[data-live-camera]').currentTime > 0.5")
    start, started_at = await video_time(page), time.monotonic()
    await asyncio.sleep(2)
    advanced = await video_time(page) - start
    assert 1.0 <= advanced <= 2 * (time.monotonic() - started_at) + 0.5, advanced
    size = await page.evaluate(
        "(() => { const v = document.querySelector('video'); return [v.videoWidth, v.videoHeight] })()"
    )
    assert size == [640, 360]  # the camera's own stream, not a scaled copy
    lag = await page.evaluate("WardCamLive.player.lagSeconds()")
    assert lag is not None and lag < 2.0
    await expect(page.get_by_text(VI["recorder.state.recording"])).to_be_visible()
    await page.screenshot(path=artifacts / "live.png")

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name=VI["live.snapshot"]).click()
    download = await download_info.value
    assert download.suggested_filename.startswith("Đầu-hẻm_") and download.suggested_filename.endswith(".jpg")
    snapshot = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert snapshot[:2] == b"\xff\xd8" and len(snapshot) > 5000

    await page.get_by_role("button", name=VI["live.full_screen"]).click()
    await page.wait_for_function("document.fullscreenElement?.classList.contains('wardcam-player') === true")


async def test_a_camera_that_does_not_answer_says_so_on_its_page(ward: Ward, logged_in: Any) -> None:
    page = await logged_in("xem")
    await page.goto(f"{ward.server.url}/live/{ward.cameras['Cuối hẻm']}")
    await expect(page.locator("[data-live-message]")).to_have_text(VI["recorder.failure.unreachable"])


# --- audit ---------------------------------------------------------------------------------------


async def test_a_viewer_watching_live_is_audited_once_per_opening(ward: Ward, logged_in: Any) -> None:
    camera_id = ward.cameras["Cổng chợ"]
    page = await logged_in("xem")
    await page.goto(f"{ward.server.url}/live/{camera_id}")
    await page.wait_for_function("document.querySelector('video[data-live-camera]').currentTime > 0.5")
    await page.reload()  # a reload is the same viewing
    await page.wait_for_function("document.querySelector('video[data-live-camera]').currentTime > 0.5")
    entries = [e for e in ward.audit("live.viewed", "xem") if e["object_id"] == str(camera_id)]
    assert [(e["object_type"], e["detail"]["via"]) for e in entries] == [("camera", "video")]
    assert entries[0]["detail"]["camera"] == "Cổng chợ"

    await page.goto(ward.server.url + "/")
    await expect(tile(page, ward, "Đầu hẻm").locator(".wardcam-shown")).to_be_visible()
    grid = ward.audit("live.grid_viewed", "xem")
    assert len(grid) == 1 and sorted(grid[0]["detail"]["cameras"]) == sorted(ward.cameras.values())

    # staff who are not audited viewers leave no trace of watching
    assert ward.audit("live.viewed", "owner") == [] and ward.audit("live.grid_viewed", "owner") == []


# --- who may watch -------------------------------------------------------------------------------


def ws_url(ward: Ward, path: str) -> str:
    return ward.server.url.replace("http://", "ws://") + path


async def refused(ward: Ward, path: str, headers: dict[str, str] | None = None) -> int:
    """Open a websocket that should be refused; return the HTTP status of the refusal."""
    with pytest.raises(InvalidStatus) as refusal:
        async with connect(ws_url(ward, path), additional_headers=headers or {}):
            pass
    return refusal.value.response.status_code


async def test_anonymous_users_and_other_sites_get_no_live_view(ward: Ward) -> None:
    camera_id = ward.cameras["Cổng chợ"]
    with closing(ward.server.client()) as anonymous:
        response = anonymous.get(f"/api/cameras/{camera_id}/frame.jpg")
        assert response.status_code == 401
        assert response.json()["error"]["message"] == VI["error.not_authenticated"]
    assert await refused(ward, f"/api/cameras/{camera_id}/live") == 401
    assert await refused(ward, "/api/live/frames") == 401

    viewer = {"Cookie": f"wardcam_session={ward.cookie('xem')}"}
    # a page of another site cannot use the viewer's cookie
    assert await refused(ward, f"/api/cameras/{camera_id}/live", {**viewer, "Origin": "http://example.org"}) == 403
    # police see only the cameras of the sites granted to them
    police = {"Cookie": f"wardcam_session={ward.cookie('canh-sat')}"}
    assert await refused(ward, f"/api/cameras/{ward.cameras['Đầu hẻm']}/live", police) == 404
    with closing(ward.server.login("canh-sat")) as client:
        assert client.get(f"/api/cameras/{ward.cameras['Đầu hẻm']}/frame.jpg").status_code == 404
        granted = client.get(f"/api/cameras/{camera_id}/frame.jpg")
        assert granted.status_code == 200 and granted.headers["content-type"] == "image/jpeg"

    # the viewer gets the video: a JSON init message, then the init segment
    async with connect(ws_url(ward, f"/api/cameras/{camera_id}/live"), additional_headers=viewer) as socket:
        async with asyncio.timeout(15):
            message = await socket.recv()
            while json.loads(message)["type"] != "init":
                message = await socket.recv()
            init = await socket.recv()
    assert json.loads(message)["mime"].startswith('video/mp4; codecs="avc1.')
    assert isinstance(init, bytes) and init[4:8] == b"ftyp"


def test_a_camera_without_a_picture_answers_503_in_plain_words(ward: Ward) -> None:
    with closing(ward.server.login("xem")) as client:
        response = client.get(f"/api/cameras/{ward.cameras['Cuối hẻm']}/frame.jpg")
    assert response.status_code == 503
    message = response.json()["error"]["message"]
    assert VI["recorder.failure.unreachable"] in message and "{" not in message


def test_the_latest_frame_is_a_jpeg_for_any_viewer(ward: Ward) -> None:
    with closing(ward.server.login("xem")) as client:
        response = client.get(f"/api/cameras/{ward.cameras['Đầu hẻm']}/frame.jpg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg" and response.headers["cache-control"] == "no-store"
    assert response.content[:2] == b"\xff\xd8" and len(response.content) > 3000
