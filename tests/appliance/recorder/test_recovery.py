"""Killing the whole appliance with SIGKILL loses almost nothing: at the next start the last segments are indexed."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from appliance.bus import EventBus
from appliance.db.models.cameras import Camera
from appliance.db.models.recordings import Segment
from appliance.recorder.index import index_segment
from appliance.recorder.recovery import recover
from tests.harness.appliance import start_appliance


def segments(data_dir: Path) -> list[tuple[str, float, str, str, int]]:
    with closing(sqlite3.connect(data_dir / "wardcam.db")) as db:
        return db.execute('SELECT path, duration_s, start, "end", recovered FROM segment ORDER BY start').fetchall()


def test_after_sigkill_the_next_start_indexes_what_was_recorded(tmp_path: Path, rtsp_server_factory: Any) -> None:
    server = rtsp_server_factory(cameras=1)
    data_dir = tmp_path / "data"
    first = start_appliance(data_dir)
    first.add_user("admin", "admin")
    admin = first.login("admin")
    assert admin.post("/api/cameras", json={"name": "Hẻm 1", "main_url": server.urls[0]}).status_code == 201
    deadline = time.monotonic() + 40
    while not segments(data_dir):
        assert time.monotonic() < deadline, "nothing was recorded"
        time.sleep(0.5)
    time.sleep(6)  # well into the next segment
    killed_at = datetime.now(UTC)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)
    before = segments(data_dir)
    on_disk = sorted(p for p in (data_dir / "recordings").glob("*/*/*.mp4"))
    assert len(on_disk) > len(before), "the open segment should be on disk, not indexed yet"

    second = start_appliance(data_dir)
    try:
        after = segments(data_dir)
        recovered = [row for row in after if row[4]]
        assert recovered, after
        assert all(duration > 3.0 for _, duration, *_ in recovered)
        # the torn segment is placed at its real time (its last write), not at the time of the recovery,
        # and lost at most the fragment being filled (a fragment a second)
        newest_end = max(datetime.fromisoformat(str(end)) for _, _, _, end, _ in after)
        lost = (killed_at - newest_end).total_seconds()
        assert -0.5 <= lost <= 2.0, f"{lost:.2f} s lost at the kill"
        assert {row[0] for row in after} >= {str(p.relative_to(data_dir / "recordings")) for p in on_disk[:-1]}
    finally:
        second.stop()


def make_segment(path: Path, seconds: int = 4) -> Path:
    """Write a real fMP4 segment the way the recorder does (a keyframe every 2 s)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=10",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "20", "-bf", "0",
         "-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof", str(path)],
        check=True,
    )  # fmt: skip
    return path


async def test_recovery_indexes_the_missing_drops_the_gone_and_skips_the_broken(db: Path) -> None:
    recordings = db / "recordings"
    camera = await Camera.create(name="Hẻm 5", main_url="rtsp://127.0.0.1:1/cam1")
    today = datetime.now().strftime("%Y-%m-%d")
    folder = recordings / str(camera.id) / today
    indexed = make_segment(folder / "10-00-00.mp4")
    await index_segment(camera.id, indexed, recordings, EventBus())
    lost_row = make_segment(folder / "10-00-10.mp4")
    await index_segment(camera.id, lost_row, recordings, EventBus())
    lost_row.unlink()  # someone deleted the file by hand
    missing = make_segment(folder / "10-00-20.mp4")  # written, never indexed: the crash
    (folder / "10-00-30.mp4").write_bytes(b"")  # empty
    (folder / "10-00-40.mp4").write_bytes(b"not a video at all" * 100)  # garbage

    report = await recover(recordings, EventBus())

    assert (report.added, report.dropped, report.skipped) == (1, 1, 2)
    paths = set(await Segment.filter(camera_id=camera.id).values_list("path", flat=True))
    assert paths == {str(p.relative_to(recordings)) for p in (indexed, missing)}
    recovered = await Segment.get(path=str(missing.relative_to(recordings)))
    assert recovered.recovered and recovered.duration_s == pytest.approx(4.0, abs=0.2)


async def test_recovery_reads_only_the_days_around_each_cameras_newest_segment(db: Path) -> None:
    """62 cameras x 30 days are 16 million files: a start reads only what a crash can have left."""
    recordings = db / "recordings"
    camera = await Camera.create(name="Ngã ba", main_url="rtsp://127.0.0.1:1/cam1")
    today = datetime.now()
    newest = make_segment(recordings / str(camera.id) / today.strftime("%Y-%m-%d") / "09-00-00.mp4")
    await index_segment(camera.id, newest, recordings, EventBus())
    old_day = (today - timedelta(days=10)).strftime("%Y-%m-%d")
    shutil.copy(newest, recordings / str(camera.id) / today.strftime("%Y-%m-%d") / "09-00-10.mp4")
    (recordings / str(camera.id) / old_day).mkdir()
    shutil.copy(newest, recordings / str(camera.id) / old_day / "09-00-00.mp4")  # unindexed, ten days old

    report = await recover(recordings, EventBus())

    assert report.added == 1  # today's, not the one ten days back
    assert not await Segment.filter(path__contains=old_day).exists()
