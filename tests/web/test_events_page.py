"""The Events page: detections from the store, filters, snapshots, playback at that moment, acknowledging.

The first tests are a person at the panel without a browser (NiceGUI's `user`, with the appliance running
in the test), where detections are reported through the running appliance's store (`appliance.detections`)
and must appear without a reload. The last one is real Chromium against a served appliance
(`python -m appliance serve`) whose detections and snapshots (JPEGs made by ffmpeg) were written
through the public store before it started; it leaves a screenshot in tests/artifacts/events.png.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from nicegui import ui
from nicegui.testing import User
from playwright.async_api import Browser, expect

from appliance.audit import AuditLog
from appliance.audit_export import local_timezone
from appliance.auth.accounts import Accounts
from appliance.bus import Detection as DetectionEvent
from appliance.bus import EventBus
from appliance.db.connection import close_database, migrate, open_database
from appliance.db.models import AuditEntry, Camera, Detection, Role, Site
from appliance.detections import DetectionReport, Detections
from appliance.i18n import catalog
from appliance.settings import Settings
from tests.harness.appliance import PASSWORD, RunningAppliance, start_appliance
from tests.web.conftest import AddUser, log_in
from web import context
from web.pages.events import Period, period_window

VI = catalog("vi")
NOW = datetime.now(UTC).replace(microsecond=0)
LIVE_S = 4.0  # the page draws what the bus announced every second
TIMEOUT_MS = 20_000
expect.set_options(timeout=TIMEOUT_MS)


def make_jpeg(folder: Path, pattern: str) -> bytes:
    """One frame of one of ffmpeg's test patterns, as a JPEG."""
    out = folder / f"{pattern}.jpg"
    if not out.exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", f"{pattern}=size=640x360",
                        "-frames:v", "1", str(out)], check=True)  # fmt: skip
    return out.read_bytes()


def frigate(event_id: str, label: str, camera_id: int | None, seconds_ago: float, *, ended: bool = True,
            source: str = "frigate") -> DetectionReport:  # fmt: skip
    start = NOW - timedelta(seconds=seconds_ago)
    return DetectionReport(
        source=source, external_id=event_id, camera_id=camera_id, source_camera="cam", label=label, score=0.91,
        zones=("cong_truoc",), start=start, end=start + timedelta(seconds=8) if ended else None,
    )  # fmt: skip


# --- a person at the panel, with the appliance in the test ------------------------------------------------


async def open_events(user: User, add_user: AddUser, role: Role = Role.OPERATOR) -> None:
    await add_user("truc-ban", role)
    await log_in(user, "truc-ban")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/events")
    await user.should_see(VI["events.filter.unacknowledged"])


def pick_date(user: User, marker: str, day: str) -> None:
    """Pick a day in a date field's calendar (the simulated user cannot type into one)."""
    assert user.client is not None
    with user.client:
        for element in user.find(marker=marker).elements:
            assert isinstance(element, ui.date_input)
            element.value = day


def cards(user: User) -> list[int]:
    """Return the ids of the detections on screen, top to bottom."""
    assert user.client is not None
    grid = next(iter(user.find(marker="events").elements))
    return [int(child.props["data-event"]) for child in grid.default_slot.children]


async def test_new_detections_appear_and_change_without_a_reload(user: User, add_user: AddUser) -> None:
    camera = await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1/1", enabled=False)
    detections = context.appliance().detections
    listeners = context.appliance().bus._subscribers[DetectionEvent]  # who listens, to see it let go
    before = len(listeners)
    older = await detections.report(frigate("old", "car", camera.id, 3600))
    await open_events(user, add_user)
    await user.should_see("Ô tô")
    assert cards(user) == [older]
    assert len(listeners) == before + 1, "the open page listens to the bus"

    person = await detections.report(frigate("p1", "person", camera.id, 5, ended=False))
    await user.should_see("Người", retries=int(LIVE_S / 0.1))
    await user.should_see("Đang diễn ra")
    assert cards(user) == [person, older]
    await detections.report(frigate("p1", "person", camera.id, 5))  # it ends
    await user.should_not_see("Đang diễn ra", retries=int(LIVE_S / 0.1))
    late = await detections.report(frigate("late", "bicycle", camera.id, 1800))  # reported late, older than person
    await user.should_see("Xe đạp", retries=int(LIVE_S / 0.1))
    assert cards(user) == [person, late, older], "a late report takes its place by time, not the top"

    assert user.client is not None
    user.client.delete()  # the tab is gone for good
    assert len(listeners) == before, "a closed page stops listening"


async def test_filters_choose_what_appears_live_and_more_pages_load_on_demand(user: User, add_user: AddUser) -> None:
    site = await Site.create(name="Hẻm 5")
    lane = await Camera.create(name="Hẻm 5 đầu", main_url="rtsp://127.0.0.1/2", enabled=False, site=site)
    gate = await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1/1", enabled=False)
    detections = context.appliance().detections
    bikes = [await detections.report(frigate(f"b{i}", "motorcycle", lane.id, 600 + i)) for i in range(50)]
    await detections.report(frigate("g1", "person", gate.id, 10))
    await open_events(user, add_user)
    await user.should_see("Đang hiển thị 48 phát hiện")
    user.find(marker="load-more").click()
    await user.should_see("Đang hiển thị 51 phát hiện")
    await user.should_not_see(marker="load-more")

    user.find(marker="label").click()
    user.find("Xe máy").click()
    await user.should_see("Đang hiển thị 48 phát hiện")
    assert cards(user) == bikes[:48]
    await detections.report(frigate("g2", "person", gate.id, 1))  # not what the filter asks for
    await detections.report(frigate("b-new", "motorcycle", lane.id, 1))
    await user.should_see("Đang hiển thị 49 phát hiện", retries=int(LIVE_S / 0.1))
    assert len(cards(user)) == 49 and cards(user)[1:] == bikes[:48]

    user.find(marker="site").click()
    user.find("Hẻm 5").click()
    await user.should_see("Đang hiển thị 48 phát hiện")
    user.find(marker="period").click()
    user.find(VI["events.period.days"]).click()
    await user.should_see(marker="from")
    yesterday = NOW.astimezone(local_timezone()).date() - timedelta(days=1)
    pick_date(user, "from", (yesterday - timedelta(days=3)).isoformat())
    pick_date(user, "to", yesterday.isoformat())
    await user.should_see(marker="no-events")
    pick_date(user, "from", NOW.astimezone(local_timezone()).date().isoformat())
    await user.should_see(VI["events.error.range"])


def test_the_time_presets_cover_today_last_nights_patrol_and_a_week_in_the_boxs_time_zone() -> None:
    zone = local_timezone()
    morning = datetime(2026, 3, 2, 9, 15, tzinfo=zone)
    night_shift = datetime(2026, 3, 2, 2, 30, tzinfo=zone)
    assert period_window(Period.TODAY, morning) == (
        datetime(2026, 3, 2, tzinfo=zone),
        datetime(2026, 3, 3, tzinfo=zone),
    )
    patrol = (datetime(2026, 3, 1, 20, tzinfo=zone), datetime(2026, 3, 2, 4, tzinfo=zone))
    assert period_window(Period.NIGHT, morning) == patrol
    assert period_window(Period.NIGHT, night_shift) == patrol, "during the patrol it is the patrol going on"
    assert period_window(Period.WEEK, morning) == (morning - timedelta(days=7), None)
    assert period_window(Period.ALL, morning) == (None, None)
    first, last = morning.date() - timedelta(days=2), morning.date()
    assert period_window(Period.DAYS, morning, first, last) == (datetime(2026, 2, 28, tzinfo=zone),
                                                                 datetime(2026, 3, 3, tzinfo=zone))  # fmt: skip


async def test_an_operator_selects_several_and_acknowledges_them_at_once(user: User, add_user: AddUser) -> None:
    camera = await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1/1", enabled=False)
    detections = context.appliance().detections
    ids = [await detections.report(frigate(f"a{i}", "person", camera.id, 60 * i)) for i in range(4)]
    await Detection.filter(id=ids[3]).update(acknowledged_at=NOW)  # handled already
    await open_events(user, add_user)
    await user.should_see("Đang hiển thị 4 phát hiện")
    user.find(marker="unacknowledged").click()
    await user.should_see("Đang hiển thị 3 phát hiện")
    user.find(marker="select-all").click()
    await user.should_see("Xác nhận 3 mục đã chọn")
    user.find(marker="acknowledge-selected").click()
    await user.should_see("Đã xác nhận 3 phát hiện.")
    await user.should_see(marker="no-events")
    rows = await Detection.filter(id__in=ids[:3]).prefetch_related("acknowledged_by")
    assert {(r.acknowledged_by.username if r.acknowledged_by else None) for r in rows} == {"truc-ban"}
    entry = await AuditEntry.get(action="detections.acknowledged")
    assert (entry.actor, sorted(entry.detail["ids"])) == ("truc-ban", sorted(ids[:3]))


async def test_the_link_in_a_notification_opens_that_detection(user: User, add_user: AddUser) -> None:
    camera = await Camera.create(name="Hẻm 12", main_url="rtsp://127.0.0.1/12", enabled=False)
    detections = context.appliance().detections
    await detections.report(frigate("older", "car", camera.id, 600))
    wanted = await detections.report(frigate("wanted", "motorcycle", camera.id, 300))
    await add_user("truc-ban", Role.OPERATOR)
    await log_in(user, "truc-ban")
    await user.should_see("Tổng quan", retries=50)

    await user.open(f"/events?id={wanted}")

    await user.should_see(marker="detail-camera")
    await user.should_see("Xe máy")
    await user.should_see("Hẻm 12")
    viewed = await AuditEntry.filter(action="detections.viewed").values_list("object_id", flat=True)
    assert str(wanted) in [str(v) for v in viewed]


# --- real Chromium against a served appliance -------------------------------------------------------------


@dataclass
class Ward:
    server: RunningAppliance
    admin: httpx.Client  # logged in as the admin, to read the audit log
    gate: int  # camera id
    person: int  # detection ids
    motorbike: int
    motion: int

    def cookie(self, username: str) -> str:
        with closing(self.server.login(username)) as client:
            return str(client.cookies["wardcam_session"])

    def audit(self, action: str, actor: str) -> list[dict[str, Any]]:
        response = self.admin.get("/api/audit", params={"action": action, "actor": actor})
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()["entries"]
        return entries


async def seed(data: Path, pictures: Path) -> dict[str, int]:
    """Write users, cameras, and detections with snapshots (through the public store) into a new appliance's data."""
    settings = Settings(data_dir=data, database_url=None)
    settings.prepare()
    url = settings.db_url
    await open_database(url)
    try:
        await migrate(url)
        accounts = Accounts(AuditLog(data / "secrets" / "audit-head.json"))
        for name, role in (("to-truong", Role.ADMIN), ("truc-ban", Role.OPERATOR)):
            await accounts.create_user(None, name, PASSWORD, role)
        market = await Site.create(name="Chợ Bàn Cờ")
        gate = await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1/1", enabled=False, site=market)
        lane = await Camera.create(name="Hẻm 5", main_url="rtsp://127.0.0.1/2", enabled=False, site=market)
        detections = Detections(data, EventBus())
        await detections.start()
        made = {
            "person": await detections.report(frigate("p", "person", gate.id, 900)),
            "motorbike": await detections.report(frigate("m", "motorcycle", lane.id, 600)),
            "car": await detections.report(frigate("c", "car", lane.id, 300)),
            "motion": await detections.report(frigate("mo", "motion", gate.id, 120, source="motion")),
        }
        for name, pattern in (("person", "testsrc"), ("motorbike", "smptebars"), ("car", "testsrc2"),
                              ("motion", "rgbtestsrc")):  # fmt: skip
            await detections.attach_snapshot(made[name], make_jpeg(pictures, pattern))
        await detections.stop()
        return {"gate": gate.id, **made}
    finally:
        await close_database()


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    work = tmp_path_factory.mktemp("events")
    data = work / "data"
    ids = asyncio.run(seed(data, work / "pictures"))
    server = start_appliance(data)
    try:
        with closing(server.login("to-truong")) as admin:
            yield Ward(server, admin, ids["gate"], ids["person"], ids["motorbike"], ids["motion"])
    finally:
        server.stop()


@pytest.mark.browser
async def test_an_operator_filters_opens_plays_back_and_acknowledges_in_chromium(
    ward: Ward, chromium_browser: Browser, artifacts: Path
) -> None:
    browser_context = await chromium_browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    await browser_context.add_cookies([{"name": "wardcam_session", "value": ward.cookie("truc-ban"),
                                        "url": ward.server.url}])  # fmt: skip
    page = await browser_context.new_page()
    await page.goto(f"{ward.server.url}/events")
    person = page.locator(f"[data-event='{ward.person}']")
    await expect(person).to_be_visible()
    await expect(page.locator("[data-event]")).to_have_count(4)
    thumbnail = person.locator("img[data-snapshot]")
    await expect(thumbnail).to_have_attribute("loading", "lazy")
    await expect(thumbnail).to_have_js_property("complete", True)
    assert await thumbnail.evaluate("img => img.naturalWidth") == 640, "the snapshot came as a real picture"
    await expect(person).to_contain_text("Người")
    await expect(person).to_contain_text("Cổng chợ · Chợ Bàn Cờ")
    await expect(person).to_contain_text("91 %")
    started = (NOW - timedelta(seconds=900)).astimezone(local_timezone())
    await expect(person).to_contain_text(f"{started:%H:%M:%S %d/%m/%Y}")
    await page.wait_for_function("[...document.querySelectorAll('img[data-snapshot]')].every(i => i.complete)")
    await page.screenshot(path=str(artifacts / "events.png"), full_page=True)

    # only people and motorbikes
    await page.get_by_label(VI["events.filter.label"]).click()
    await page.get_by_role("option", name="Người").click()
    await page.get_by_role("option", name="Xe máy").click()
    await page.keyboard.press("Escape")
    await expect(page.locator("[data-event]")).to_have_count(2)
    await expect(page.locator(f"[data-event='{ward.motion}']")).to_have_count(0)

    # open the person: the picture large, the details, audited
    await person.locator("img[data-snapshot]").click()
    dialog = page.locator("[data-event-dialog]")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("cong_truoc")
    await expect(dialog).to_contain_text(VI["events.not_acknowledged"])
    big = dialog.locator("img[data-snapshot]")
    await expect(big).to_have_js_property("complete", True)
    assert await big.evaluate("img => img.naturalWidth") == 640
    assert [e["object_id"] for e in ward.audit("detections.viewed", "truc-ban")] == [str(ward.person)]

    await dialog.locator("[data-acknowledge]").click()
    await expect(page.get_by_text("Đã xác nhận 1 phát hiện.")).to_be_visible()
    await expect(dialog).to_be_hidden()
    await expect(person).to_contain_text(VI["events.acknowledged_badge"])
    assert len(ward.audit("detections.acknowledged", "truc-ban")) == 1

    # play back that moment: the Recordings page on that camera and day, a few seconds before
    await person.locator("img[data-snapshot]").click()
    await expect(dialog).to_contain_text("truc-ban")
    await dialog.locator("[data-play-back]").click()
    moment = (NOW - timedelta(seconds=905)).astimezone(local_timezone())
    await expect(page).to_have_url(re.compile(
        rf"/recordings\?camera={ward.gate}&day={moment:%Y-%m-%d}&at={moment:%H:%M:%S}$"))  # fmt: skip
    await expect(page.get_by_text("Cổng chợ · Chợ Bàn Cờ")).to_be_visible()
    await browser_context.close()
