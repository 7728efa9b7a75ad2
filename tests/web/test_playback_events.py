"""Detections on the playback timeline, in real Chromium: markers with translated labels, and a click on
one plays from a few seconds before it.

One served appliance for the module, with two cameras. The first has a minute of footage yesterday from
10:00:00 (segments made by ffmpeg with the recorder's own options and indexed by its start-up recovery);
a person was detected on it at 10:00:20 and a motorcycle at 10:00:50, and a car on the other camera at
10:00:35. A screenshot is left in tests/artifacts/playback-events.png.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from appliance.audit_export import local_timezone
from appliance.db.connection import close_database, open_database
from appliance.db.models.detections import Detection
from appliance.i18n import catalog
from appliance.recorder.argv import SEGMENT_FORMAT_OPTIONS
from appliance.recorder.mp4 import read_segment
from tests.harness.appliance import PASSWORD, RunningAppliance, start_appliance

pytestmark = pytest.mark.browser

VI = catalog("vi")
TIMEOUT_MS = 20_000
LEAD_S = 5  # a click on an event plays from this much before it
expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class Ward:
    """The served appliance, its two cameras and the day of the footage."""

    server: RunningAppliance
    camera_id: int
    day: date
    person: datetime
    motorcycle: datetime

    def cookie(self, username: str) -> str:
        with closing(self.server.login(username)) as client:
            return str(client.cookies["wardcam_session"])

    def page_url(self, extra: str = "") -> str:
        return f"{self.server.url}/recordings?camera={self.camera_id}&day={self.day.isoformat()}{extra}"


def lay_footage(recordings: Path, camera_id: int, work: Path, start: datetime) -> None:
    """Encode six 10 s segments (a keyframe every 2 s) and put them where the recorder would have, from `start`."""
    made = work / "made"
    made.mkdir()
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=10",
         "-t", "60", "-c:v", "libx264", "-preset", "ultrafast", "-g", "20", "-bf", "0", "-pix_fmt", "yuv420p",
         "-f", "segment", "-segment_time", "10", "-segment_format", "mp4", "-reset_timestamps", "1",
         "-segment_format_options", SEGMENT_FORMAT_OPTIONS, str(made / "seg%03d.mp4")],
        check=True, capture_output=True,
    )  # fmt: skip
    at = start
    for source in sorted(made.glob("seg*.mp4")):
        target = recordings / str(camera_id) / f"{at:%Y-%m-%d}" / f"{at:%H-%M-%S}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        at += timedelta(seconds=read_segment(source).duration_s)
        os.utime(target, (at.timestamp(), at.timestamp()))  # the index reads a segment's end from its last write


async def detected(data_dir: Path, *seen: tuple[int, str, datetime]) -> None:
    """Store detections as Frigate's add-on would have, straight into the stopped appliance's database."""
    await open_database(f"sqlite://{data_dir / 'wardcam.db'}")
    try:
        for number, (camera_id, label, at) in enumerate(seen):
            await Detection.create(source="frigate", external_id=f"test-{number}", camera_id=camera_id, label=label,
                                   top_score=0.9, start=at, end=at + timedelta(seconds=4))  # fmt: skip
    finally:
        await close_database()


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    """An appliance with an admin, a police officer granted the cameras' site, footage and detections."""
    work = tmp_path_factory.mktemp("playback-events")
    data = work / "data"
    server = start_appliance(data)
    try:
        server.add_user("owner", "admin")
        with closing(server.login("owner")) as admin:
            site = admin.post("/api/sites", json={"name": "Chợ Bàn Cờ"}).json()["id"]
            ids = []
            for name, port in (("Cổng chợ", 9), ("Hẻm 7", 10)):  # never recorded: footage only
                body = {"name": name, "main_url": f"rtsp://127.0.0.1:{port}/cam", "site_id": site, "enabled": False}
                response = admin.post("/api/cameras", json=body)
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])
            created = admin.post("/api/users", json={"username": "canh-sat", "password": PASSWORD, "role": "police"})
            assert created.status_code == 201, created.text
            assert admin.patch(f"/api/users/{created.json()['id']}", json={"site_ids": [site]}).status_code == 200
        server.stop()
        day = date.today() - timedelta(days=1)
        start = datetime.combine(day, time(10), tzinfo=local_timezone())
        lay_footage(data / "recordings", ids[0], work, start)
        person, motorcycle = start + timedelta(seconds=20), start + timedelta(seconds=50)
        asyncio.run(detected(data, (ids[0], "person", person), (ids[0], "motorcycle", motorcycle),
                             (ids[1], "car", start + timedelta(seconds=35))))  # fmt: skip
        server = start_appliance(data)  # the recorder's recovery indexes the footage it finds
        yield Ward(server, ids[0], day, person, motorcycle)
    finally:
        server.stop()


@pytest.fixture
async def logged_in(chromium_browser: Browser, ward: Ward) -> AsyncIterator[Any]:
    """Open browser profiles already logged in as a user."""
    contexts: list[BrowserContext] = []

    async def open_as(username: str) -> Page:
        context = await chromium_browser.new_context(viewport={"width": 1280, "height": 1000}, locale="vi-VN")
        context.set_default_timeout(TIMEOUT_MS)
        await context.add_cookies([{"name": "wardcam_session", "value": ward.cookie(username), "url": ward.server.url}])
        contexts.append(context)
        return await context.new_page()

    yield open_as
    for context in contexts:
        await context.close()


def ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


async def playing_from(page: Page) -> tuple[int, float]:
    """Wait until the player has played a second; return the moment asked for (ms) and the wall clock shown (ms)."""
    await page.wait_for_function(
        "() => { const v = document.querySelector('video[data-playback-video]');"
        " return v && !v.paused && v.currentTime > 1 && v.dataset.wallClock; }"
    )
    state: dict[str, float] = await page.evaluate(
        "(() => { const v = document.querySelector('video[data-playback-video]');"
        " return {asked: Number(v.dataset.asked), wall: Number(v.dataset.wallClock), time: v.currentTime}; })()"
    )
    return int(state["asked"]), state["wall"] - state["time"] * 1000  # the wall clock of the stream's first frame


async def test_detections_are_markers_and_a_click_plays_from_just_before_one(
    ward: Ward, logged_in: Any, artifacts: Path
) -> None:
    page = await logged_in("owner")
    await page.goto(ward.page_url())
    await expect(page.locator("[data-playback-timeline] .wardcam-range")).to_have_count(1)
    await expect(page.get_by_text(VI["recordings.events_hint"])).to_be_visible()
    # over the whole day, 30 s apart is too close to tell apart: one marker for both, the other camera's car absent
    markers = page.locator("[data-playback-timeline] .wardcam-event")
    await expect(markers).to_have_count(1)
    await expect(markers).to_have_attribute("title", "10:00:20 · Người, Xe máy")

    await page.get_by_text(VI["recordings.zoom_hour"]).click()  # the hour of the day's newest recording: 10:00
    await expect(markers).to_have_count(2)
    person = page.get_by_role("button", name="10:00:20 · Người")
    motorcycle = page.get_by_role("button", name="10:00:50 · Xe máy")
    await expect(person).to_be_visible()
    await expect(motorcycle).to_have_attribute("data-event-at", str(ms(ward.motorcycle)))

    await motorcycle.click()
    asked, first_frame = await playing_from(page)
    assert asked == ms(ward.motorcycle - timedelta(seconds=LEAD_S))
    assert ms(ward.motorcycle) - 7_100 <= first_frame <= asked + 50  # from the keyframe at or before 10:00:45
    await page.screenshot(path=artifacts / "playback-events.png", full_page=True)

    await person.focus()  # the keyboard works too
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        f"() => document.querySelector('video[data-playback-video]').dataset.asked === '{ms(ward.person) - 5000}'"
    )


async def test_police_see_the_recordings_without_the_detections(ward: Ward, logged_in: Any) -> None:
    page = await logged_in("canh-sat")  # the police role may play back but not see detections
    await page.goto(ward.page_url())
    await expect(page.locator("[data-playback-timeline] .wardcam-range")).to_have_count(1)
    await expect(page.locator("[data-playback-timeline] .wardcam-event")).to_have_count(0)
    await expect(page.get_by_text(VI["recordings.events_hint"])).to_have_count(0)


async def test_the_events_page_link_plays_from_its_moment(ward: Ward, logged_in: Any) -> None:
    page = await logged_in("owner")
    await page.goto(ward.page_url("&at=10:00:30"))
    asked, _ = await playing_from(page)
    assert asked == ms(datetime.combine(ward.day, time(10, 0, 30), tzinfo=local_timezone()))
