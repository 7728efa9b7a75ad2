"""What a camera recorded in a window: ranges, gaps and "recording now", from the real index."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from appliance.db.models.cameras import Camera
from appliance.db.models.recordings import Segment
from appliance.playback.ranges import InvalidWindow, recordings, segments_between
from tests.appliance.playback.support import Footage


async def test_recorded_segments_make_one_range_with_gaps_around_it(footage: Footage) -> None:
    first, last = footage.segments[0], footage.segments[-1]
    window_start, window_end = first.start - timedelta(minutes=5), last.end + timedelta(minutes=5)
    found = await recordings(footage.camera.id, window_start, window_end, now=last.end + timedelta(minutes=10))

    assert len(found.segments) == len(footage.segments)
    assert [s.path for s in found.segments] == [s.path for s in footage.segments]
    # the recorder's segments follow each other without a break: one range
    assert len(found.ranges) == 1
    recorded = found.ranges[0]
    assert recorded.start == first.start and recorded.end == last.end
    assert recorded.segments == len(footage.segments) and not recorded.recording_now
    assert [(g.start, g.end) for g in found.gaps] == [(window_start, first.start), (last.end, window_end)]


async def test_a_break_of_a_second_or_more_is_a_gap_and_less_is_not(footage: Footage) -> None:
    like = footage.segments[1]
    base = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    a = await footage.place(like, base)
    b = await footage.place(like, a.end + timedelta(seconds=0.4))  # the frame between two segments
    c = await footage.place(like, b.end + timedelta(seconds=5))  # the camera dropped for 5 s
    found = await recordings(footage.camera.id, base, base + timedelta(hours=1), now=base + timedelta(days=1))

    assert [(r.start, r.end, r.segments) for r in found.ranges] == [(a.start, b.end, 2), (c.start, c.end, 1)]
    assert [(g.start, g.end) for g in found.gaps] == [(b.end, c.start), (c.end, base + timedelta(hours=1))]


async def test_the_segment_being_written_is_a_range_that_ends_now(footage: Footage) -> None:
    last = footage.segments[-1]
    now = last.end + timedelta(seconds=6)
    found = await recordings(footage.camera.id, last.start - timedelta(hours=1), last.start + timedelta(hours=1),
                             writing_since=last.end - timedelta(seconds=0.2), now=now)  # fmt: skip

    assert len(found.ranges) == 2
    closed, writing = found.ranges
    assert not closed.recording_now and closed.end == last.end
    assert writing.recording_now and writing.start == last.end and writing.end == now
    # nothing after now is called a gap: it has not happened yet
    assert found.gaps[-1].end <= now


async def test_a_window_cuts_the_segments_that_overlap_its_edges(footage: Footage) -> None:
    middle = footage.segments[1]
    start = middle.start + timedelta(seconds=1)
    end = middle.end - timedelta(seconds=1)
    found = await recordings(footage.camera.id, start, end, now=end + timedelta(hours=1))

    assert [s.path for s in found.segments] == [middle.path]
    assert [(r.start, r.end) for r in found.ranges] == [(start, end)]
    assert found.gaps == []
    with_keyframes = await segments_between(footage.camera.id, start, end, keyframes=True)
    assert with_keyframes[0].keyframes == tuple(middle.keyframes)


async def test_a_whole_day_of_one_camera_is_answered_quickly(any_db: str) -> None:
    camera = await Camera.create(name="Chợ", main_url="rtsp://127.0.0.1:9/cam1")
    other = await Camera.create(name="Hẻm", main_url="rtsp://127.0.0.1:9/cam2")
    day = datetime(2025, 3, 2, tzinfo=UTC)
    rows = []
    for cam in (camera, other):
        for i in range(8640):
            start = day + timedelta(seconds=10 * i)
            if cam is camera and 4000 <= i < 4100:  # the camera was away for about 17 minutes
                continue
            rows.append(Segment(camera_id=cam.id, start=start, end=start + timedelta(seconds=10), duration_s=10.0,
                                size=1000, path=f"{cam.id}/2025-03-02/{i:05d}.mp4", keyframes=[0.0, 2.0]))  # fmt: skip
    await Segment.bulk_create(rows, batch_size=2000)

    began = time.perf_counter()
    found = await recordings(camera.id, day, day + timedelta(days=1), now=day + timedelta(days=2), with_segments=False)
    took = time.perf_counter() - began

    assert [(r.start, r.end) for r in found.ranges] == [
        (day, day + timedelta(seconds=40_000)),
        (day + timedelta(seconds=41_000), day + timedelta(days=1)),
    ]
    assert sum(r.segments for r in found.ranges) == 8540
    assert took < 1.0, f"a day's ranges took {took:.2f} s"

    began = time.perf_counter()
    listed = await recordings(camera.id, day, day + timedelta(days=1), now=day + timedelta(days=2))
    assert len(listed.segments) == 8540
    assert time.perf_counter() - began < 2.0


async def test_a_window_that_ends_before_it_starts_is_refused(db: object) -> None:
    now = datetime.now(UTC)
    with pytest.raises(InvalidWindow):
        await recordings(1, now, now - timedelta(seconds=1))
    with pytest.raises(InvalidWindow):
        await recordings(1, now, now + timedelta(days=30))
