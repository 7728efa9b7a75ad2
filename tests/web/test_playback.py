"""Playing back recordings in real Chromium: the Recordings page, its timeline, the player and clip downloads.

One served appliance (`python -m appliance serve`) for the module. Its camera first has a minute of
earlier footage, then a 2-minute break, then 30 s more (segments made by ffmpeg with the recorder's own
fragmented MP4 options and found on disk by the recorder's start-up recovery), and then it records the
session's synthetic RTSP camera live. A screenshot is left in tests/artifacts/playback.png.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from appliance.audit_export import local_timezone
from appliance.i18n import catalog
from appliance.recorder.argv import SEGMENT_FORMAT_OPTIONS
from appliance.recorder.mp4 import read_segment
from tests.harness.appliance import PASSWORD, RunningAppliance, start_appliance

pytestmark = pytest.mark.browser

VI = catalog("vi")
TIMEOUT_MS = 20_000
GOP_S = 2.0
expect.set_options(timeout=TIMEOUT_MS)


def make_segments(folder: Path, count: int) -> list[Path]:
    """Encode `count` 10 s fragmented MP4 segments (640x360, 10 fps, a keyframe every 2 s) as the recorder cuts them."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "testsrc=size=640x360:rate=10", "-t", str(10 * count), "-c:v", "libx264", "-preset", "ultrafast", "-g", "20",
         "-bf", "0", "-pix_fmt", "yuv420p", "-f", "segment", "-segment_time", "10", "-segment_format", "mp4",
         "-reset_timestamps", "1", "-segment_format_options", SEGMENT_FORMAT_OPTIONS, str(folder / "seg%03d.mp4")],
        check=True, capture_output=True,
    )  # fmt: skip
    return sorted(folder.glob("seg*.mp4"))


def put_footage(recordings: Path, camera_id: int, made: list[Path], first_start: datetime) -> list[datetime]:
    """Lay segments end to end from first_start, named and timed as the recorder does; return their starts."""
    starts = []
    at = first_start
    for source in made:
        duration = read_segment(source).duration_s
        local = at.astimezone(local_timezone())
        target = recordings / str(camera_id) / f"{local:%Y-%m-%d}" / f"{local:%H-%M-%S}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        end = (at + timedelta(seconds=duration)).timestamp()
        os.utime(target, (end, end))  # the index reads a segment's end from its last write
        starts.append(at)
        at += timedelta(seconds=duration)
    return starts


@dataclass
class Ward:
    """The served appliance, its camera and the footage laid out for it."""

    server: RunningAppliance
    camera_id: int
    minute_start: datetime  # a minute of footage from here
    later_start: datetime  # 30 s more after a 2-minute break
    live_since: datetime  # the camera records the RTSP server live from about here

    def cookie(self, username: str) -> str:
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
    """An appliance with an admin, a police officer granted the camera's site, a viewer, and footage."""
    work = tmp_path_factory.mktemp("playback")
    made = make_segments(work / "made", 9)
    data = work / "data"
    server = start_appliance(data)
    try:
        server.add_user("owner", "admin")
        with closing(server.login("owner")) as admin:
            for name, role in (("canh-sat", "police"), ("xem", "viewer")):
                created = admin.post("/api/users", json={"username": name, "password": PASSWORD, "role": role})
                assert created.status_code == 201, created.text
            site = admin.post("/api/sites", json={"name": "Chợ Bàn Cờ"}).json()["id"]
            body = {"name": "Cổng chợ", "main_url": rtsp_cameras.urls[1], "site_id": site, "enabled": False}
            response = admin.post("/api/cameras", json=body)
            assert response.status_code == 201, response.text
            camera_id = response.json()["id"]
            police = next(u for u in admin.get("/api/users").json() if u["username"] == "canh-sat")
            assert admin.patch(f"/api/users/{police['id']}", json={"site_ids": [site]}).status_code == 200
        server.stop()
        now = datetime.now(UTC).replace(microsecond=0)
        minute_start = now - timedelta(minutes=6)
        put_footage(data / "recordings", camera_id, made[:6], minute_start)
        later_start = minute_start + timedelta(minutes=3)
        put_footage(data / "recordings", camera_id, made[6:], later_start)
        server = start_appliance(data)  # the recorder's recovery indexes what it finds on disk
        with closing(server.login("owner")) as admin:
            assert admin.patch(f"/api/cameras/{camera_id}", json={"enabled": True}).status_code == 200
        yield Ward(server, camera_id, minute_start, later_start, datetime.now(UTC))
    finally:
        server.stop()


@pytest.fixture
async def logged_in(chromium_browser: Browser, ward: Ward) -> AsyncIterator[Any]:
    """Open browser profiles already logged in as a user (the login form has tests of its own)."""
    contexts: list[BrowserContext] = []

    async def open_as(username: str) -> Page:
        context = await chromium_browser.new_context(
            viewport={"width": 1280, "height": 1000}, locale="vi-VN", accept_downloads=True
        )
        context.set_default_timeout(TIMEOUT_MS)
        await context.add_cookies([{"name": "wardcam_session", "value": ward.cookie(username), "url": ward.server.url}])
        contexts.append(context)
        return await context.new_page()

    yield open_as
    for context in contexts:
        await context.close()


async def open_recordings(page: Page, ward: Ward) -> None:
    """Open the Recordings page, pick the camera and the footage's day."""
    await page.goto(ward.server.url + "/recordings")
    await page.get_by_label(VI["recordings.camera"]).click()
    await page.get_by_role("option", name="Cổng chợ · Chợ Bàn Cờ").click()
    footage_day = ward.minute_start.astimezone(local_timezone()).date()
    if footage_day != datetime.now(local_timezone()).date():  # just after midnight: the footage is yesterday's
        await page.get_by_role("button", name=VI["recordings.previous_day"]).click()
    await expect(page.get_by_label(VI["recordings.day"], exact=True)).to_have_value(footage_day.isoformat())
    await expect(page.locator("[data-playback-timeline] .wardcam-range").first).to_be_visible()


async def view_of(page: Page) -> tuple[float, float]:
    """Return the start and end (s since 1970) of what the timeline shows."""
    bar = page.locator("[data-playback-timeline]")
    return int(await bar.get_attribute("data-view-start") or 0) / 1000, int(
        await bar.get_attribute("data-view-end") or 0
    ) / 1000


async def zoom_to_hour(page: Page, at: datetime | None = None) -> None:
    """Show one hour on the timeline instead of the whole day (the hour of `at`, if given)."""
    await page.get_by_text(VI["recordings.zoom_hour"]).click()
    await page.wait_for_function(
        "() => { const b = document.querySelector('[data-playback-timeline]');"
        " return Number(b.dataset.viewEnd) - Number(b.dataset.viewStart) === 3600000; }"
    )
    while at is not None:
        start, end = await view_of(page)
        if start <= at.timestamp() < end:
            return
        label = VI["recordings.previous_hour"] if at.timestamp() < start else VI["recordings.next_hour"]
        await page.get_by_role("button", name=label).click()
        await page.wait_for_function(
            f"() => Number(document.querySelector('[data-playback-timeline]').dataset.viewStart) !== {start * 1000}"
        )


async def click_timeline_at(page: Page, at: datetime) -> None:
    """Click the timeline where it shows a moment."""
    bar = page.locator("[data-playback-timeline]")
    start, end = await view_of(page)
    box = await bar.bounding_box()
    assert box is not None
    await bar.click(position={"x": (at.timestamp() - start) / (end - start) * box["width"], "y": 20})


async def video_state(page: Page) -> dict[str, float]:
    """Return the player's position (s), the wall-clock time (ms) it shows there, and the moment asked for (ms)."""
    state: dict[str, float] = await page.evaluate(
        "(() => { const v = document.querySelector('video[data-playback-video]');"
        " return {time: v.currentTime, wall: WardCamPlayback.wallClock(v.currentTime) || 0,"
        " asked: Number(v.dataset.asked || 0)}; })()"
    )
    return state


async def test_a_click_on_the_timeline_plays_from_that_moment_across_segments(
    ward: Ward, logged_in: Any, artifacts: Path
) -> None:
    page = await logged_in("owner")
    await open_recordings(page, ward)
    # the day's timeline: the minute and the 30 s recorded, the break between them empty, the camera recording now
    await expect(page.locator("[data-recording-now]")).to_have_count(1)  # the timeline follows the camera
    ranges = page.locator("[data-playback-timeline] .wardcam-range:not([data-recording-now])")
    starts = [int(await r.get_attribute("data-range-start") or 0) / 1000 for r in await ranges.all()]
    assert starts[0] == pytest.approx(ward.minute_start.timestamp(), abs=0.5)
    assert starts[1] == pytest.approx(ward.later_start.timestamp(), abs=0.5)

    # zoom to the hour for a precise click, then play from 2.5 s before the first segment boundary
    moment = ward.minute_start + timedelta(seconds=7.5)
    await zoom_to_hour(page, moment)
    await click_timeline_at(page, moment)
    video = page.locator("video[data-playback-video]")
    await expect(video).to_have_js_property("paused", False)
    await expect(video).to_have_attribute("data-started-in-ms", re.compile(r"^\d+$"))
    started_in_ms = int(await video.get_attribute("data-started-in-ms") or 0)
    assert started_in_ms < 2000, f"playback started {started_in_ms} ms after the click"  # measured: 0.2-0.4 s
    await page.wait_for_function(
        "() => { const v = document.querySelector('video[data-playback-video]'); return v.currentTime > 5; }",
        timeout=TIMEOUT_MS,
    )  # across the segment boundary, about 4 s in (from the keyframe at 6 s)
    state = await video_state(page)
    asked = datetime.fromtimestamp(state["asked"] / 1000, UTC)
    assert abs((asked - moment).total_seconds()) < 1.0  # where the click landed on the bar
    # the stream's first frame is the keyframe at or before the moment asked for, and the wall-clock time
    # shown runs on with the video across the segment boundary
    started = datetime.fromtimestamp(state["wall"] / 1000, UTC) - timedelta(seconds=state["time"])
    assert started <= asked + timedelta(seconds=0.05)
    assert (asked - started).total_seconds() < GOP_S + 0.15
    shown = datetime.fromtimestamp(state["wall"] / 1000, UTC)
    clock_text = await page.locator("[data-playback-clock]").inner_text()
    match = re.fullmatch(r"Đang phát: (\d\d:\d\d:\d\d)", clock_text)
    assert match is not None, clock_text
    on_clock = datetime.combine(shown.astimezone(local_timezone()).date(),
                                datetime.strptime(match[1], "%H:%M:%S").time(), local_timezone())  # fmt: skip
    assert abs((on_clock - shown).total_seconds()) < 2
    await page.screenshot(path=artifacts / "playback.png", full_page=True)

    # a click after the break plays the later footage: the clock jumps past the break
    await click_timeline_at(page, ward.later_start + timedelta(seconds=12))
    await page.wait_for_function(
        "() => { const v = document.querySelector('video[data-playback-video]');"
        f" return v.currentTime > 1 && Number(v.dataset.wallClock) > {ward.later_start.timestamp() * 1000}; }}",
        timeout=TIMEOUT_MS,
    )
    # the admin's playback is not audited (only police and viewers are)
    assert ward.audit("recordings.played", "owner") == []


async def test_a_clip_of_a_chosen_range_downloads_with_its_progress(ward: Ward, logged_in: Any, tmp_path: Path) -> None:
    page = await logged_in("owner")
    await open_recordings(page, ward)
    start = ward.minute_start + timedelta(seconds=13)
    end = start + timedelta(seconds=30)
    local_start, local_end = start.astimezone(local_timezone()), end.astimezone(local_timezone())
    await page.get_by_label(VI["recordings.clip.from"]).fill(f"{local_start:%H:%M:%S}")
    await page.get_by_label(VI["recordings.clip.to"]).fill(f"{local_end:%H:%M:%S}")
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name=VI["recordings.clip.download"]).click()
    download = await download_info.value
    assert download.suggested_filename.startswith("Cổng-chợ_") and download.suggested_filename.endswith(".mp4")
    saved = tmp_path / "clip.mp4"
    await download.save_as(saved)
    await expect(page.get_by_text(VI["recordings.clip.ready"].split(":")[0])).to_be_visible()
    await expect(page.locator(".q-linear-progress")).to_be_visible()

    argv = ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(saved)]
    probe = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, check=True)
    duration = float(probe.stdout)
    # it starts at the keyframe at or before the start: up to one keyframe interval longer than asked
    assert 30 - 0.2 <= duration <= 30 + GOP_S + 0.2
    clips = ward.server.data_dir / "tmp" / "clips"  # where clips are made: emptied once downloaded
    for _ in range(50):
        if not any(clips.iterdir()):
            break
        await asyncio.sleep(0.1)
    assert list(clips.iterdir()) == []
    entries = ward.audit("recordings.clip_downloaded", "owner")
    assert len(entries) == 1
    assert entries[0]["object_id"] == str(ward.camera_id)
    assert entries[0]["detail"]["camera"] == "Cổng chợ"
    assert datetime.fromisoformat(entries[0]["detail"]["start"]) == start
    assert datetime.fromisoformat(entries[0]["detail"]["end"]) == end


async def test_a_drag_across_the_timeline_fills_the_clip_range(ward: Ward, logged_in: Any) -> None:
    page = await logged_in("owner")
    await open_recordings(page, ward)
    await zoom_to_hour(page)
    bar = page.locator("[data-playback-timeline]")
    start, _ = await view_of(page)
    box = await bar.bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + 20)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] * 0.40, box["y"] + 20, steps=5)
    await page.mouse.up()
    expected_from = datetime.fromtimestamp(start + 900, local_timezone())
    await expect(page.get_by_label(VI["recordings.clip.from"])).not_to_have_value("")
    value = await page.get_by_label(VI["recordings.clip.from"]).input_value()
    got = datetime.combine(expected_from.date(), datetime.strptime(value, "%H:%M:%S").time(), local_timezone())
    assert abs((got - expected_from).total_seconds()) < 15  # a quarter of the hour, within a pixel or two
    to = await page.get_by_label(VI["recordings.clip.to"]).input_value()
    assert datetime.strptime(to, "%H:%M:%S") > datetime.strptime(value, "%H:%M:%S")


async def test_moving_from_day_to_day(ward: Ward, logged_in: Any) -> None:
    page = await logged_in("owner")
    await open_recordings(page, ward)
    day = ward.minute_start.astimezone(local_timezone()).date()
    day_input = page.get_by_label(VI["recordings.day"], exact=True)
    await page.get_by_role("button", name=VI["recordings.next_day"]).click()
    await expect(day_input).to_have_value((day + timedelta(days=1)).isoformat())
    await expect(page.get_by_text(VI["recordings.nothing_this_day"])).to_be_visible()
    await expect(page.locator("[data-playback-timeline] .wardcam-range")).to_have_count(0)
    await page.get_by_role("button", name=VI["recordings.previous_day"]).click()
    await page.get_by_role("button", name=VI["recordings.previous_day"]).click()
    await expect(day_input).to_have_value((day - timedelta(days=1)).isoformat())
    await expect(page.get_by_text(VI["recordings.nothing_this_day"])).to_be_visible()
    await page.get_by_role("button", name=VI["recordings.today"]).click()
    await expect(day_input).to_have_value(datetime.now(local_timezone()).date().isoformat())
    await expect(page.locator("[data-recording-now]")).to_have_count(1)
    assert "day=" in page.url  # the address says which camera and day, for a bookmark


async def test_police_playback_is_audited_and_a_viewer_is_refused(ward: Ward, logged_in: Any) -> None:
    page = await logged_in("canh-sat")
    await open_recordings(page, ward)
    await click_timeline_at(page, ward.minute_start + timedelta(seconds=20))
    await page.wait_for_function(
        "() => document.querySelector('video[data-playback-video]').currentTime > 1", timeout=TIMEOUT_MS
    )
    entries = ward.audit("recordings.played", "canh-sat")
    assert len(entries) == 1
    entry = entries[0]
    assert entry["object_type"] == "camera" and entry["object_id"] == str(ward.camera_id)
    assert entry["detail"]["camera"] == "Cổng chợ"
    played_from = datetime.fromisoformat(entry["detail"]["from"])
    asked = datetime.fromtimestamp((await video_state(page))["asked"] / 1000, UTC)
    assert played_from <= asked and (asked - played_from).total_seconds() < GOP_S + 1  # the keyframe before it
    assert abs((datetime.fromisoformat(entry["detail"]["asked"]) - asked).total_seconds()) < 1

    # when the officer leaves, the end of the viewing is audited too: the range sent
    await page.wait_for_function("() => document.querySelector('video[data-playback-video]').currentTime > 3")
    await page.close()
    for _ in range(50):
        if ended := ward.audit("recordings.play_ended", "canh-sat"):
            break
        await asyncio.sleep(0.2)
    [end] = ended
    assert end["detail"]["from"] == entry["detail"]["from"] and end["object_id"] == str(ward.camera_id)
    # what was sent, which the video could not have played past (the stream goes as fast as the browser
    # takes it, so more may have been sent than played, and in less time than it plays)
    assert end["detail"]["sent_s"] >= 3
    until = datetime.fromisoformat(end["detail"]["until"])
    assert (until - played_from).total_seconds() >= 3  # more on the wall clock when the range spans a gap
    assert until <= datetime.now(UTC)
    assert end["detail"]["open_s"] >= 1

    # the viewer role may watch live only: the page and the API refuse playback
    viewer = await logged_in("xem")
    response = await viewer.goto(ward.server.url + "/recordings")
    assert response is not None and response.status == 403
    await expect(viewer.get_by_text(VI["error.forbidden_title"])).to_be_visible()
    params = {"camera_id": ward.camera_id, "start": ward.minute_start.isoformat()}
    with closing(ward.server.login("xem")) as client:
        for path in ("/api/recordings", "/api/recordings/play"):
            refused = client.get(path, params={**params, "end": ward.later_start.isoformat()})
            assert refused.status_code == 403
            assert refused.json()["error"]["message"] == VI["error.forbidden"]
        clip = client.get(f"/api/cameras/{ward.camera_id}/clip", params={**params, "end": ward.later_start.isoformat()})
        assert clip.status_code == 403
    assert ward.audit("recordings.played", "xem") == []


def test_the_api_lists_ranges_and_streams_from_a_moment(ward: Ward) -> None:
    with closing(ward.server.login("owner")) as admin:
        window = {"camera_id": ward.camera_id, "start": (ward.minute_start - timedelta(minutes=1)).isoformat(),
                  "end": (ward.later_start + timedelta(seconds=40)).isoformat()}  # fmt: skip
        listed = admin.get("/api/recordings", params=window).json()
        assert len(listed["segments"]) == 9
        assert [(r["segments"], r["recording_now"]) for r in listed["ranges"]] == [(6, False), (3, False)]
        assert len(listed["gaps"]) == 3  # before, the break, after
        with admin.stream("GET", "/api/recordings/play", params={"camera_id": ward.camera_id,
                          "start": ward.minute_start.isoformat(), "playback": "api-test"}) as stream:  # fmt: skip
            assert stream.headers["content-type"] == "video/mp4"
            first = next(stream.iter_bytes())
            assert first[4:8] == b"ftyp"
        mapped = admin.get("/api/recordings/play/map", params={"playback": "api-test"}).json()
        assert datetime.fromisoformat(mapped["start"]) == ward.minute_start
        # the stream would wait for the camera's next segments; the client left, so it stops at once
        deadline = time.monotonic() + 5
        while not mapped["done"] and time.monotonic() < deadline:
            time.sleep(0.1)
            mapped = admin.get("/api/recordings/play/map", params={"playback": "api-test"}).json()
        assert mapped["done"]
        missing = admin.get("/api/recordings/play", params={"camera_id": ward.camera_id,
                            "start": (datetime.now(UTC) + timedelta(hours=2)).isoformat()})  # fmt: skip
        assert missing.status_code == 404
        assert missing.json()["error"]["message"] == VI["recordings.error.nothing_recorded"]
        too_long = admin.post("/api/recordings/clips", json={"camera_id": ward.camera_id,
                              "start": ward.minute_start.isoformat(),
                              "end": (ward.minute_start + timedelta(hours=3)).isoformat()})  # fmt: skip
        assert too_long.status_code == 422
        assert too_long.json()["error"]["message"] == "Một đoạn video dài tối đa 2 giờ."


def live_recorded_minute(ward: Ward, within_s: float = 150.0) -> tuple[datetime, datetime]:
    """Wait until the recorder has closed a minute of segments from the RTSP camera; return that minute."""
    deadline = time.monotonic() + within_s
    with closing(ward.server.login("owner")) as admin:
        while True:
            window = {"camera_id": ward.camera_id, "start": ward.live_since.isoformat(),
                      "end": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}  # fmt: skip
            segments = [s for s in admin.get("/api/recordings", params=window).json()["segments"]
                        if not s.get("recording_now")]  # fmt: skip
            if segments:
                first = datetime.fromisoformat(segments[0]["start"])
                last = datetime.fromisoformat(segments[-1]["end"])
                if (last - first).total_seconds() >= 60:
                    return first, first + timedelta(seconds=60)
            assert time.monotonic() < deadline, f"no minute recorded from the camera within {within_s} s: {segments}"
            time.sleep(2)


async def test_a_minute_recorded_from_the_camera_plays_back(ward: Ward, logged_in: Any) -> None:
    """Last in the module: by now the recorder has been recording the RTSP camera for a while."""
    start, end = live_recorded_minute(ward)
    page = await logged_in("owner")
    await page.goto(ward.server.url + "/recordings")
    await page.get_by_label(VI["recordings.camera"]).click()
    await page.get_by_role("option", name="Cổng chợ · Chợ Bàn Cờ").click()
    if start.astimezone(local_timezone()).date() != datetime.now(local_timezone()).date():
        await page.get_by_role("button", name=VI["recordings.previous_day"]).click()
    moment = start + timedelta(seconds=25)  # within the minute, two segments before its end
    await zoom_to_hour(page, moment)
    await click_timeline_at(page, moment)
    video = page.locator("video[data-playback-video]")
    await expect(video).to_have_js_property("paused", False)
    await page.wait_for_function(
        "() => { const v = document.querySelector('video[data-playback-video]');"
        " return v.currentTime > 0.5 && WardCamPlayback.wallClock(v.currentTime) > 0; }"
    )
    first = await video_state(page)
    await page.wait_for_function(
        "t => document.querySelector('video[data-playback-video]').currentTime > t + 4", arg=first["time"]
    )
    later = await video_state(page)
    shown = datetime.fromtimestamp(later["wall"] / 1000, UTC)
    assert start < shown < end  # the camera's own footage of that minute, its clock running with the video
    assert later["wall"] - first["wall"] == pytest.approx((later["time"] - first["time"]) * 1000, abs=300)
