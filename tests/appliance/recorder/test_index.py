"""Closed segments go into the index with wall-clock times that join up, as ffmpeg wrote them."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appliance.bus import EventBus
from appliance.db.models.cameras import Camera
from appliance.db.models.recordings import Segment
from appliance.recorder.argv import SEGMENT_FORMAT_OPTIONS
from appliance.recorder.index import index_segment
from appliance.recorder.mp4 import read_segment

NOW = datetime(2026, 11, 29, 21, 15, tzinfo=UTC).timestamp()  # a night patrol's evening


@pytest.fixture
def two_segments(tmp_path: Path) -> tuple[Path, Path]:
    """Record 6 s of a test picture into two 3 s segments, as the recorder's ffmpeg writes them."""
    folder = tmp_path / "recordings" / "1"
    folder.mkdir(parents=True)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=10",
         "-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-bf", "0",
         "-f", "segment", "-segment_time", "3", "-segment_format", "mp4",
         "-segment_format_options", SEGMENT_FORMAT_OPTIONS, str(folder / "seg%03d.mp4")],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder / "seg000.mp4", folder / "seg001.mp4"


def written_at(path: Path, when: float) -> None:
    """Give a file the time its last fragment was written."""
    os.utime(path, (when, when))


async def indexed(camera: Camera, *paths: Path) -> list[Segment]:
    """Index the files in the order the recorder closes them; return the camera's segments by start."""
    bus = EventBus()
    for path in paths:
        assert await index_segment(camera.id, path, path.parent.parent, bus) is not None
    return await Segment.filter(camera_id=camera.id).order_by("start")


async def test_a_segment_whose_last_write_came_late_does_not_overlap_the_next_one(
    db: Path, two_segments: tuple[Path, Path]
) -> None:
    first, second = two_segments
    camera = await Camera.create(name="Ngã tư Lê Lợi", main_url="rtsp://127.0.0.1:8554/cam", retention_days=7)
    second_s = read_segment(second).duration_s
    # the first file's last fragment was written 0.3 s late (a loaded machine), the second's on time
    written_at(first, NOW)
    written_at(second, NOW + second_s - 0.3)

    one, two = await indexed(camera, first, second)

    assert two.start == one.end  # back to back, as the two files play one after the other
    assert (two.end - two.start).total_seconds() == pytest.approx(second_s, abs=0.001)
    assert one.end == datetime.fromtimestamp(NOW, UTC)


async def test_a_real_gap_between_segments_stays_a_gap(db: Path, two_segments: tuple[Path, Path]) -> None:
    first, second = two_segments
    camera = await Camera.create(name="Hẻm 42", main_url="rtsp://127.0.0.1:8554/cam", retention_days=7)
    second_s = read_segment(second).duration_s
    written_at(first, NOW)
    written_at(second, NOW + 5 + second_s)  # the camera was gone for 5 s

    one, two = await indexed(camera, first, second)

    assert two.start - one.end == timedelta(seconds=5)


async def test_a_clock_stepped_back_keeps_the_times_the_files_say(db: Path, two_segments: tuple[Path, Path]) -> None:
    first, second = two_segments
    camera = await Camera.create(name="Chợ Bến Thành", main_url="rtsp://127.0.0.1:8554/cam", retention_days=7)
    second_s = read_segment(second).duration_s
    written_at(first, NOW)
    written_at(second, NOW - 60 + second_s)  # the box's clock was set a minute back meanwhile

    earlier, later = await indexed(camera, first, second)

    assert earlier.path.endswith("seg001.mp4") and earlier.start == datetime.fromtimestamp(NOW - 60, UTC)
    assert later.end == datetime.fromtimestamp(NOW, UTC)
