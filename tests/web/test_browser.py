"""A person at the panel in real Chromium, against a real served appliance.

Each test starts `python -m appliance serve` on a fresh data directory (the `appliance_server`
fixture) and drives the pages the way the ward's staff would: by their visible Vietnamese texts.
Screenshots are left in tests/artifacts/ for people to look at.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from appliance import __version__
from appliance.i18n import LANGUAGES, catalog
from tests.harness.appliance import PASSWORD, RunningAppliance, start_appliance

pytestmark = pytest.mark.browser

VI = catalog("vi")  # the texts the panel shows, as the appliance's catalogs have them
EN = catalog("en")

OWNER_NAME = "Nguyễn Thị Hoà"  # a display name with Vietnamese diacritics
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000
TECHNICAL_WORDS = ("Traceback", "Exception", "Error", 'File "', ".py")

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
async def browser_context(chromium_browser: Browser) -> AsyncIterator[BrowserContext]:
    """Give the test a fresh browser profile (no cookies) at desktop size."""
    ctx = await chromium_browser.new_context(viewport=DESKTOP, locale="vi-VN")
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def page(browser_context: BrowserContext) -> Page:
    """Give the test one browser tab."""
    return await browser_context.new_page()


# --- what a person does ----------------------------------------------------------------------


def path_is(server: RunningAppliance, path: str) -> re.Pattern[str]:
    """Match the address of `path` on the server, with or without a query string."""
    return re.compile(re.escape(server.url + path) + r"(\?.*)?$")


async def connected(page: Page) -> None:
    """Wait until NiceGUI's websocket is up, so that typing and clicks reach the server."""
    await page.wait_for_function("window.did_handshake === true", timeout=TIMEOUT_MS)


async def visit(page: Page, server: RunningAppliance, path: str) -> None:
    """Type an address into the browser and wait until the page is live."""
    await page.goto(server.url + path)
    await connected(page)


async def onboard(page: Page, username: str = "chu-tich") -> None:
    """Fill the owner-account form in Vietnamese and submit it."""
    await page.get_by_label(VI["field.display_name"]).fill(OWNER_NAME)
    await page.get_by_label(VI["field.username"]).fill(username)
    await page.get_by_label(VI["field.password"], exact=True).fill(PASSWORD)
    await page.get_by_label(VI["field.password_confirm"]).fill(PASSWORD)
    await page.get_by_role("button", name=VI["onboarding.submit"]).click()


async def log_in(page: Page, server: RunningAppliance, username: str, password: str = PASSWORD) -> None:
    """Fill the login form and press the login button (the page must be /login already)."""
    await expect(page).to_have_url(path_is(server, "/login"))
    await connected(page)
    await page.get_by_label(VI["field.username"]).fill(username)
    await page.get_by_label(VI["field.password"]).fill(password)
    await page.get_by_role("button", name=VI["login.submit"]).click()


async def expect_dashboard(page: Page, server: RunningAppliance, display_name: str) -> None:
    """The dashboard is open, titled in Vietnamese, with the user's name in the header."""
    await expect(page).to_have_url(path_is(server, "/"))
    await expect(page.locator(".q-page-container").get_by_text(VI["nav.dashboard"], exact=True)).to_be_visible()
    await expect(page.locator(".q-header").get_by_text(display_name)).to_be_visible()
    await connected(page)


async def expect_no_traceback(page: Page) -> None:
    """Nothing technical leaks into the page: no traceback, no exception names."""
    text = await page.locator("body").inner_text()
    for word in TECHNICAL_WORDS:
        assert word not in text, f"{word!r} shown in the page:\n{text}"
    assert "Traceback" not in await page.content(), "a traceback is hidden in the page source"


async def log_in_as_admin(page: Page, server: RunningAppliance, display_name: str = "owner") -> None:
    """Create the admin through the CLI and log in through the form."""
    server.add_user("owner", "admin")
    await visit(page, server, "/login")
    await log_in(page, server, "owner")
    await expect_dashboard(page, server, display_name)


# --- the tests -------------------------------------------------------------------------------


async def test_owner_onboards_logs_out_and_logs_back_in(
    appliance_server: RunningAppliance, page: Page, artifacts: Path
) -> None:
    await page.goto(appliance_server.url + "/")
    await expect(page).to_have_url(path_is(appliance_server, "/onboarding"))
    await connected(page)
    await expect(page.get_by_text(VI["onboarding.title"], exact=True)).to_be_visible()
    assert await page.title() == f"{VI['onboarding.title']} · WardCam"
    await page.screenshot(path=artifacts / "onboarding.png", full_page=True)

    await onboard(page)
    await expect_dashboard(page, appliance_server, OWNER_NAME)
    await expect(page.get_by_text(VI["dashboard.no_cameras"])).to_be_visible()
    await page.screenshot(path=artifacts / "dashboard.png", full_page=True)

    await page.locator(".q-header").get_by_role("button", name=OWNER_NAME).click()
    await page.locator(".q-menu").get_by_text(VI["nav.logout"], exact=True).click()
    await expect(page).to_have_url(path_is(appliance_server, "/login"))
    await expect(page.get_by_text(VI["login.title"], exact=True)).to_be_visible()
    await page.screenshot(path=artifacts / "login.png", full_page=True)

    # The session is really over: the dashboard sends the browser back to the login page.
    await page.goto(appliance_server.url + "/")
    await expect(page).to_have_url(path_is(appliance_server, "/login"))

    await log_in(page, appliance_server, "chu-tich")
    await expect_dashboard(page, appliance_server, OWNER_NAME)


async def test_wrong_password_is_refused_plainly_then_throttled(appliance_server: RunningAppliance, page: Page) -> None:
    appliance_server.add_user("owner", "admin")
    await visit(page, appliance_server, "/login")
    message = page.get_by_text(VI["error.login_failed"])

    await log_in(page, appliance_server, "owner", "sai-mat-khau-roi")
    await expect(message).to_be_visible()
    await expect(page).to_have_url(path_is(appliance_server, "/login"))
    await expect(page.get_by_label(VI["field.password"])).to_have_value("")
    await expect_no_traceback(page)

    for _ in range(4):  # failures 2 to 5
        await page.get_by_label(VI["field.password"]).fill("van-sai-mat-khau")
        await page.get_by_role("button", name=VI["login.submit"]).click()
        await expect(page.get_by_label(VI["field.password"])).to_have_value("")
        await expect(message).to_be_visible()

    # The sixth try, even with the right password, is turned away for a few minutes.
    await page.get_by_label(VI["field.password"]).fill(PASSWORD)
    await page.get_by_role("button", name=VI["login.submit"]).click()
    await expect(page.get_by_text(VI["error.login_throttled"].format(minutes=5))).to_be_visible()
    await expect(page).to_have_url(path_is(appliance_server, "/login"))
    await expect_no_traceback(page)


async def test_viewer_sees_only_what_a_viewer_may_open(appliance_server: RunningAppliance, page: Page) -> None:
    appliance_server.add_user("owner", "admin")
    appliance_server.add_user("nguoi-xem", "viewer")
    await visit(page, appliance_server, "/login")
    await log_in(page, appliance_server, "nguoi-xem")
    await expect_dashboard(page, appliance_server, "nguoi-xem")

    drawer = page.locator(".q-drawer")
    await expect(drawer).to_be_visible()
    await expect(drawer.locator("[data-nav]")).to_have_count(1)
    await expect(drawer.get_by_text(VI["nav.dashboard"], exact=True)).to_be_visible()
    for key in ("nav.users", "nav.system", "nav.cameras", "nav.recordings", "nav.events", "nav.addons"):
        await expect(drawer.get_by_text(VI[key], exact=True)).to_have_count(0)

    response = await page.goto(appliance_server.url + "/users")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", name=VI["error.forbidden_title"])).to_be_visible()
    await expect(page.get_by_text(VI["error.forbidden"])).to_be_visible()
    await expect_no_traceback(page)


async def test_admin_on_a_phone_and_the_admin_pages(
    appliance_server: RunningAppliance, page: Page, artifacts: Path
) -> None:
    await page.set_viewport_size(PHONE)
    await log_in_as_admin(page, appliance_server)
    drawer = page.locator(".q-drawer")
    await expect(drawer).to_be_hidden()
    await page.screenshot(path=artifacts / "dashboard-phone.png", full_page=True)

    await page.get_by_role("button", name=VI["nav.menu"]).click()
    await expect(drawer).to_be_visible()
    await expect(drawer.get_by_text(VI["nav.users"], exact=True)).to_be_visible()
    await page.screenshot(path=artifacts / "dashboard-phone-menu.png")

    await page.set_viewport_size(DESKTOP)
    await drawer.get_by_text(VI["nav.users"], exact=True).click()
    await expect(page).to_have_url(path_is(appliance_server, "/users"))
    await expect(page.locator("[data-user=owner]")).to_be_visible()
    await expect(page.get_by_role("button", name=VI["users.add"])).to_be_visible()
    await page.screenshot(path=artifacts / "users.png", full_page=True)

    await visit(page, appliance_server, "/system")
    await expect(page.locator(".q-page-container").get_by_text(VI["nav.system"], exact=True)).to_be_visible()
    database = page.locator("[data-stat=dns]")  # the Database card (its icon)
    await expect(database).to_contain_text("SQLite")
    version = page.locator("[data-stat=info]")  # the Version card
    await expect(version).to_contain_text(__version__)
    await page.screenshot(path=artifacts / "system.png", full_page=True)


async def test_admin_switches_to_english(appliance_server: RunningAppliance, page: Page) -> None:
    await log_in_as_admin(page, appliance_server)
    await visit(page, appliance_server, "/account")
    await expect(page.get_by_text(VI["account.language"], exact=True)).to_be_visible()

    await page.get_by_label(VI["field.language"]).click()
    await page.get_by_role("option", name=LANGUAGES["en"]).click()
    await page.get_by_role("button", name=VI["action.save"]).click()

    drawer = page.locator(".q-drawer")
    await expect(drawer.get_by_text(EN["nav.users"], exact=True)).to_be_visible()
    await expect(page.locator(".q-page-container").get_by_text(EN["nav.account"], exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name=EN["action.save"], exact=True).first).to_be_visible()
    await expect(drawer.get_by_text(VI["nav.users"], exact=True)).to_have_count(0)

    # The choice is kept: the next page the admin opens is in English too.
    await visit(page, appliance_server, "/")
    await expect(page.locator(".q-page-container").get_by_text(EN["nav.dashboard"], exact=True)).to_be_visible()


def three_days_of_recordings(data_dir: Path, camera_days: dict[int, int], now: datetime) -> None:
    """Write what the recorder would have: hourly 60 MB segments for three days, and the disk samples.

    A camera that keeps 7 days also has a 500 MB segment from 8 days ago, for retention to delete.
    """
    mib = 1024**2
    rows = []
    for camera_id, days in camera_days.items():
        starts = [(now - timedelta(hours=h, minutes=30), 60 * mib) for h in range(72)]
        if days == 7:
            starts.append((now - timedelta(days=8), 500 * mib))
        for start, size in starts:
            relative = f"{camera_id}/{start:%Y-%m-%d}/{start:%H-%M-%S}.mp4"
            (data_dir / "recordings" / relative).parent.mkdir(parents=True, exist_ok=True)
            with (data_dir / "recordings" / relative).open("wb") as f:
                f.truncate(size)  # a sparse file: its size, without the writing
            rows.append((camera_id, str(start), str(start + timedelta(seconds=10)), 10.0, size, relative, str(now)))
    total = 40 * 1024**3
    samples = [(str(now - timedelta(hours=h)), total, total - (72 - h) * 3 * 60 * mib, (72 - h) * 3 * 60 * mib)
               for h in range(72, 0, -1)]  # fmt: skip
    with sqlite3.connect(data_dir / "wardcam.db") as db:
        db.execute("DELETE FROM disk_sample")  # the one taken at the first start, before there were recordings
        db.executemany(
            'INSERT INTO segment (camera_id, start, "end", duration_s, size, path, created_at, keyframes, video_codec,'
            " audio_codec, width, height, recovered) VALUES (?, ?, ?, ?, ?, ?, ?, '[]', 'h264', '', 1280, 720, 0)",
            rows,
        )
        db.executemany("INSERT INTO disk_sample (at, total_bytes, free_bytes, recordings_bytes) VALUES (?, ?, ?, ?)",
                       samples)  # fmt: skip


async def test_admin_reads_the_storage_section_of_the_system_page(tmp_path: Path, page: Page, artifacts: Path) -> None:
    data_dir = tmp_path / "data"
    env = {"WARDCAM_VOLUME_LIMIT_BYTES": str(40 * 1024**3)}  # a 40 GB recordings disk
    server = start_appliance(data_dir, env=env)
    try:
        server.add_user("owner", "admin")
        cameras = {"Cổng chợ Bến Thành": 30, "Hẻm 7 Lê Lợi": 30, "Ngã ba Nguyễn Huệ": 7}
        admin = server.login("owner")
        ids = {}
        for i, (name, days) in enumerate(cameras.items()):
            body = {"name": name, "main_url": f"rtsp://127.0.0.1:9/cam{i}", "enabled": False, "retention_days": days}
            response = admin.post("/api/cameras", json=body)
            assert response.status_code == 201, response.text
            ids[response.json()["id"]] = days
        admin.close()
        three_days_of_recordings(data_dir, ids, datetime.now(UTC).replace(microsecond=0))
        server.stop()
        server = start_appliance(data_dir, env=env)  # its first retention pass deletes the footage past its days

        await visit(page, server, "/login")
        await log_in(page, server, "owner")
        await expect_dashboard(page, server, "owner")
        await visit(page, server, "/system")
        await expect(page.get_by_text(VI["storage.title"], exact=True)).to_be_visible()
        for name in cameras:
            await expect(page.locator(".q-table").get_by_text(name, exact=True)).to_be_visible()
        # 36 GB may be used (10 % kept free) and the cameras record 4.2 GB a day: about 9 days, short of 30
        await expect(page.get_by_text(VI["storage.days"].format(days=9), exact=True)).to_be_visible()
        await expect(page.get_by_text(VI["storage.estimate_short"].format(days=30))).to_be_visible()
        await expect(page.get_by_text(VI["storage.deleted_by_age"].format(count=1))).to_be_visible()
        await expect(page.get_by_text(VI["storage.freed"].format(size="500.0 MB"))).to_be_visible()
        await expect(page.locator(".nicegui-echart canvas").first).to_be_visible()
        await expect_no_traceback(page)
        await page.get_by_text(VI["storage.title"], exact=True).scroll_into_view_if_needed()
        await page.screenshot(path=artifacts / "system-storage.png", full_page=True)
    finally:
        server.stop()
