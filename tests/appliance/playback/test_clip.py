"""Clips of a range by stream copy: the right length from the keyframe before the start, progress, and cleanup."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from appliance.i18n import t
from appliance.playback.clip import ClipEmpty, ClipNotFound, Clips, ClipState, ClipTooLong
from appliance.playback.ranges import InvalidWindow
from tests.appliance.playback.support import Footage, decode_errors, ffprobe_duration, ffprobe_packets

GOP_S = 2.0  # the synthetic camera sends a keyframe every 2 s


@pytest.fixture
def clips(footage: Footage, tmp_path: Path) -> Clips:
    return Clips(footage.dir, tmp_path / "tmp" / "clips")


async def test_a_clip_across_a_segment_boundary_lasts_as_long_as_the_range(footage: Footage, clips: Clips) -> None:
    first, second = footage.segments[:2]
    start = first.end - timedelta(seconds=1.5)  # across two boundaries: into the third segment
    end = second.end + timedelta(seconds=1.5)
    clip = await clips.create(footage.camera.id, start, end, owner_id=7)
    assert clip.state == ClipState.WORKING
    await clips.wait(clip)

    assert clip.state == ClipState.READY and clip.progress == 1.0
    assert clip.path.is_file() and clip.path.parent == clips.work_dir
    # it starts at the keyframe at or before the start: up to one keyframe interval early
    assert clip.begins <= start and (start - clip.begins).total_seconds() < GOP_S + 0.1
    asked = (end - start).total_seconds()
    duration = ffprobe_duration(clip.path)
    assert asked - 0.2 <= duration <= asked + GOP_S + 0.2
    assert duration == pytest.approx((end - clip.begins).total_seconds(), abs=0.25)
    assert ffprobe_packets(clip.path)[0]["flags"].startswith("K")
    assert decode_errors(clip.path) == ""
    assert clip.path.read_bytes()[4:8] == b"ftyp" and b"moov" in clip.path.read_bytes()[:4096]  # index first

    clips.remove(clip)  # once downloaded
    assert not clip.path.exists() and list(clips.work_dir.iterdir()) == []
    with pytest.raises(ClipNotFound):
        clips.get(clip.id, owner_id=7)


async def test_progress_is_reported_while_a_clip_is_made(footage: Footage, clips: Clips) -> None:
    start, end = footage.segments[0].start, footage.segments[-1].end
    clip = await clips.create(footage.camera.id, start, end, owner_id=7)
    seen = [clip.progress]
    while clip.state == ClipState.WORKING:
        await asyncio.sleep(0.005)
        seen.append(clip.progress)
    assert seen == sorted(seen) and seen[0] == 0.0 and seen[-1] == 1.0
    assert ffprobe_duration(clip.path) == pytest.approx(sum(s.duration_s for s in footage.segments), abs=0.3)


async def test_only_its_owner_sees_a_clip(footage: Footage, clips: Clips) -> None:
    first = footage.segments[0]
    clip = await clips.create(footage.camera.id, first.start, first.start + timedelta(seconds=5), owner_id=7)
    assert clips.get(clip.id, owner_id=7) is clip
    with pytest.raises(ClipNotFound):
        clips.get(clip.id, owner_id=8)
    await clips.wait(clip)


async def test_ranges_too_long_empty_or_backwards_are_refused_in_words(footage: Footage, clips: Clips) -> None:
    first = footage.segments[0]
    with pytest.raises(ClipTooLong) as too_long:
        await clips.create(footage.camera.id, first.start, first.start + timedelta(hours=2, seconds=1), owner_id=7)
    assert t(too_long.value.key, "en", **too_long.value.params) == "A clip can be at most 2 hours long."
    assert "2 giờ" in t(too_long.value.key, "vi", **too_long.value.params)
    with pytest.raises(ClipEmpty):
        await clips.create(footage.camera.id, first.start - timedelta(hours=1), first.start - timedelta(minutes=1), 7)
    with pytest.raises(InvalidWindow):
        await clips.create(footage.camera.id, first.start, first.start, owner_id=7)
    assert clips.clips == {}


async def test_clips_not_downloaded_in_time_and_leftovers_are_deleted(footage: Footage, tmp_path: Path) -> None:
    work = tmp_path / "tmp" / "clips"
    work.mkdir(parents=True)
    (work / "left-by-a-crash.part.mp4").write_bytes(b"x")
    clips = Clips(footage.dir, work, keep_s=0.0)
    assert list(work.iterdir()) == []
    first = footage.segments[0]
    clip = await clips.create(footage.camera.id, first.start, first.start + timedelta(seconds=5), owner_id=7)
    await clips.wait(clip)
    assert clip.path.is_file()
    clips.purge()
    assert not clip.path.exists() and clips.clips == {}

    clip = await clips.create(footage.camera.id, first.start, first.start + timedelta(seconds=5), owner_id=7)
    await clips.close()
    assert list(work.iterdir()) == []
