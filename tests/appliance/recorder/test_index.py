"""Closed segments go into the index with wall-clock times that join up, as ffmpeg wrote them.

A segment's end is its file's last write, its start that minus its duration. ffmpeg sometimes writes a
segment's last fragment late (a loaded machine): then that segment, and only that one, is moved back.
"""

from __future__ import annotations

import itertools
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
LATE_S = 0.3  # how late ffmpeg wrote a segment's last fragment in the CI failure this comes from


@pytest.fixture
def segments(tmp_path: Path) -> list[Path]:
    """Record 9 s of a test picture into three 3 s segments, as the recorder's ffmpeg writes them."""
    folder = tmp_path / "recordings" / "1"
    folder.mkdir(parents=True)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=10",
         "-t", "9", "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-bf", "0",
         "-f", "segment", "-segment_time", "3", "-segment_format", "mp4",
         "-segment_format_options", SEGMENT_FORMAT_OPTIONS, str(folder / "seg%03d.mp4")],
        check=True, capture_output=True,
    )  # fmt: skip
    return sorted(folder.glob("seg*.mp4"))


def written(paths: list[Path], gaps_s: list[float] | None = None, late_s: list[float] | None = None) -> list[float]:
    """Give the files the times of a recording from NOW on: back to back, after the gaps, each written late
    by late_s. Return when each file's recording really ended."""
    gaps_s, late_s = gaps_s or [0.0] * len(paths), late_s or [0.0] * len(paths)
    ends, clock = [], NOW
    for path, gap, late in zip(paths, gaps_s, late_s, strict=True):
        clock += gap + read_segment(path).duration_s
        ends.append(clock)
        os.utime(path, (clock + late, clock + late))
    return ends


async def indexed(camera: Camera, *paths: Path) -> list[Segment]:
    """Index the files in the order given; return the camera's segments by start."""
    bus = EventBus()
    for path in paths:
        assert await index_segment(camera.id, path, path.parent.parent, bus) is not None
    return await Segment.filter(camera_id=camera.id).order_by("start")


def at(seconds: float) -> datetime:
    """Return the wall-clock time of a POSIX timestamp, as the index stores it."""
    return datetime.fromtimestamp(seconds, UTC)


def close(a: datetime, b: datetime) -> bool:
    """Say whether two stored times are the same within the index's microseconds."""
    return abs(a - b) < timedelta(milliseconds=1)


async def camera(name: str) -> Camera:
    """Add a camera to record from."""
    return await Camera.create(name=name, main_url="rtsp://127.0.0.1:8554/cam", retention_days=7)


@pytest.mark.parametrize(
    "late_s",
    [[LATE_S, 0.0, 0.0], [0.0, LATE_S, 0.0], [LATE_S, LATE_S, 0.0]],
    ids=["the first written late", "the second written late", "two in a row written late"],
)
async def test_a_segment_written_late_is_moved_back_and_the_ones_after_it_keep_their_times(
    db: Path, segments: list[Path], late_s: list[float]
) -> None:
    ends = written(segments, late_s=late_s)  # the last one on time: it tells where the others really ended

    rows = await indexed(await camera("Ngã tư Lê Lợi"), *segments)

    assert [close(row.end, at(end)) for row, end in zip(rows, ends, strict=True)] == [True, True, True]
    for earlier, later in itertools.pairwise(rows):
        assert close(earlier.end, later.start)  # back to back, as the files play one after the other
    for row, path in zip(rows, segments, strict=True):
        assert (row.end - row.start).total_seconds() == pytest.approx(read_segment(path).duration_s, abs=0.001)


async def test_after_a_crash_segments_indexed_out_of_order_still_join_up(db: Path, segments: list[Path]) -> None:
    first, middle, last = segments
    ends = written(segments, late_s=[LATE_S, LATE_S, 0.0])

    rows = await indexed(await camera("Hẻm 42"), first, last, middle)  # recovery found the middle one last

    assert [close(row.end, at(end)) for row, end in zip(rows, ends, strict=True)] == [True, True, True]


async def test_a_real_gap_between_segments_stays_a_gap(db: Path, segments: list[Path]) -> None:
    ends = written(segments, gaps_s=[0.0, 5.0, 0.0], late_s=[0.0, LATE_S, 0.0])  # the camera was gone for 5 s

    rows = await indexed(await camera("Chợ Bến Thành"), *segments)

    assert [close(row.end, at(end)) for row, end in zip(rows, ends, strict=True)] == [True, True, True]
    assert rows[1].start - rows[0].end == pytest.approx(timedelta(seconds=5), abs=timedelta(milliseconds=1))


async def test_a_clock_stepped_back_keeps_the_times_the_files_say(db: Path, segments: list[Path]) -> None:
    first, second, _ = segments
    written(segments)
    os.utime(second, (os.stat(second).st_mtime - 60,) * 2)  # the box's clock was set a minute back meanwhile

    rows = await indexed(await camera("Cổng chợ"), first, second)

    assert [row.path.rsplit("/", 1)[1] for row in rows] == ["seg001.mp4", "seg000.mp4"]
    assert rows[0].end == at(os.stat(second).st_mtime) and rows[1].end == at(os.stat(first).st_mtime)
