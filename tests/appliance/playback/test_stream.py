"""Playing recordings from any moment: one continuous fragmented MP4, checked as ffprobe and ffmpeg read it."""

from __future__ import annotations

import asyncio
import itertools
import logging
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from appliance.db.models.recordings import Segment
from appliance.playback.ffmpeg import Entry, FfmpegRun, concat_script
from appliance.playback.ranges import SegmentRow
from appliance.playback.splice import Splicer
from appliance.playback.stream import NothingRecorded, PlaybackStream, stream_argv
from appliance.recorder.argv import SEGMENT_FORMAT_OPTIONS
from appliance.recorder.mp4 import read_segment
from tests.appliance.playback.support import Footage, decode_errors, ffprobe_packets

FRAME_S = 0.1  # the synthetic camera sends 10 frames a second
GOP_S = 2.0  # and a keyframe every 20 frames


async def play(stream: PlaybackStream, out: Path, max_bytes: int | None = None) -> Path:
    """Read a stream into a file, to its end or until max_bytes (then stop reading, as a browser that leaves)."""
    written = 0
    with out.open("wb") as f:
        async for data in stream.chunks():
            f.write(data)
            written += len(data)
            if max_bytes is not None and written >= max_bytes:
                break
    return out


def assert_continuous(packets: list[dict[str, str]]) -> list[float]:
    """Check that video frames follow each other a frame apart, from a keyframe at 0; return their times."""
    times = [float(p["pts_time"]) for p in packets]
    assert packets[0]["flags"].startswith("K")
    assert times[0] == pytest.approx(0.0, abs=0.05)
    steps = [b - a for a, b in itertools.pairwise(times)]
    assert min(steps) > 0, "time goes backwards"
    assert max(steps) < 2.5 * FRAME_S, f"a jump of {max(steps):.3f} s at frame {steps.index(max(steps))}"
    return times


def ffmpeg_children() -> list[psutil.Process]:
    """Return the ffmpeg processes this test process runs."""
    return [p for p in psutil.Process().children(recursive=True) if p.name() == "ffmpeg" and p.status() != "zombie"]


async def test_playback_starts_at_the_keyframe_before_the_moment_and_runs_on_across_segments(
    footage: Footage, tmp_path: Path
) -> None:
    first, second, third = footage.segments[:3]
    at = first.end - timedelta(seconds=1.3)  # 1.3 s before the first segment ends
    stream = PlaybackStream(footage.camera.id, at, footage.dir)
    await stream.open()
    # the keyframe at or before the moment: at most one keyframe interval earlier
    assert stream.start <= at
    assert (at - stream.start).total_seconds() < GOP_S + 0.1

    out = await play(stream, tmp_path / "played.mp4")
    times = assert_continuous(ffprobe_packets(out))
    played = sum(s.duration_s for s in footage.segments) - (stream.start - first.start).total_seconds()
    assert times[-1] == pytest.approx(played, abs=2 * FRAME_S)
    assert decode_errors(out) == ""
    # the stream's clock maps to the wall clock, segment by segment
    assert [p.segment_id for p in stream.pieces] == [s.id for s in footage.segments]
    assert stream.wall_clock(0.0) == stream.start
    into_second = (first.end - stream.start).total_seconds() + 2.0
    assert stream.wall_clock(into_second) == pytest.approx(second.start + timedelta(seconds=2), abs=timedelta(0.05))
    assert third.start <= stream.wall_clock(times[-1]) <= footage.segments[-1].end  # type: ignore[operator]


async def test_each_run_of_ffmpeg_joins_the_last_without_a_jump(footage: Footage, tmp_path: Path) -> None:
    # one segment a run: every boundary is a join of two ffmpeg outputs
    stream = PlaybackStream(footage.camera.id, footage.segments[0].start + timedelta(seconds=5), footage.dir,
                            first_batch=1, batch=1)  # fmt: skip
    out = await play(stream, tmp_path / "joined.mp4")
    times = assert_continuous(ffprobe_packets(out))
    assert times[-1] > sum(s.duration_s for s in footage.segments) - 5 - GOP_S - 0.5
    assert decode_errors(out) == ""


async def test_playback_goes_on_across_midnight_and_across_a_gap(footage: Footage, tmp_path: Path) -> None:
    like = footage.segments[1]
    midnight = datetime.now(UTC).astimezone().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)
    before = await footage.place(like, midnight - timedelta(seconds=like.duration_s - 0.02))
    after = await footage.place(like, before.end)
    later = await footage.place(like, after.end + timedelta(minutes=7))  # the camera was away for 7 minutes
    assert before.path.split("/")[1] != after.path.split("/")[1]  # two days' folders

    stream = PlaybackStream(footage.camera.id, midnight - timedelta(seconds=5), footage.dir)
    out = await play(stream, tmp_path / "midnight.mp4", max_bytes=None)
    times = assert_continuous(ffprobe_packets(out))
    # it plays on into today's real footage too; the part around midnight is what is checked here
    ids = [p.segment_id for p in stream.pieces]
    assert ids[:3] == [before.id, after.id, later.id]
    assert times[-1] > 3 * like.duration_s - 5 - GOP_S
    gap_at = stream.pieces[2].at_s  # where the 7 minutes are left out
    assert stream.wall_clock(gap_at + 1) == later.start + timedelta(seconds=1)
    assert stream.wall_clock(gap_at - 1) == pytest.approx(after.end - timedelta(seconds=1), abs=timedelta(0.05))


async def test_missing_and_damaged_files_are_skipped_with_a_warning(
    footage: Footage, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    like = footage.segments[1]
    base = footage.segments[-1].end + timedelta(days=1)  # after the real footage: the stream ends with c
    a = await footage.place(like, base)
    gone = await footage.place(like, a.end)
    broken = await footage.place(like, gone.end)
    c = await footage.place(like, broken.end)
    (footage.dir / gone.path).unlink()
    data = (footage.dir / broken.path).read_bytes()
    (footage.dir / broken.path).write_bytes(data[:4000])  # torn in its first fragment

    caplog.set_level(logging.WARNING)
    stream = PlaybackStream(footage.camera.id, base, footage.dir)
    out = await play(stream, tmp_path / "skipped.mp4")
    assert_continuous(ffprobe_packets(out))
    assert decode_errors(out) == ""
    assert stream.skipped == [gone.path, broken.path]
    assert [p.segment_id for p in stream.pieces] == [a.id, c.id]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(gone.path in w for w in warnings) and any(broken.path in w for w in warnings)


async def test_a_file_ffmpeg_cannot_read_mid_run_ends_that_run_and_the_next_goes_on(
    footage: Footage, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    like = footage.segments[1]
    base = datetime(2025, 4, 2, 9, 0, tzinfo=UTC)
    a = await footage.place(like, base)
    bad = await footage.place(like, a.end)
    c = await footage.place(like, bad.end)
    # boxes intact (the index's check passes), media data garbage: only ffmpeg finds out
    data = bytearray((footage.dir / bad.path).read_bytes())
    moov_end = data.find(b"moof") - 4
    data[moov_end:] = bytes(len(data) - moov_end)
    (footage.dir / bad.path).write_bytes(bytes(data))

    caplog.set_level(logging.WARNING)
    stream = PlaybackStream(footage.camera.id, base, footage.dir)
    out = await play(stream, tmp_path / "bad-media.mp4")
    assert bad.path in stream.skipped
    times = assert_continuous(ffprobe_packets(out))
    assert times[-1] >= 2 * like.duration_s - 0.5
    assert stream.pieces[1].segment_id == c.id
    assert stream.wall_clock(stream.pieces[1].at_s + 1) == c.start + timedelta(seconds=1)


async def test_playback_starts_within_two_seconds(footage: Footage) -> None:
    began = time.perf_counter()
    stream = PlaybackStream(footage.camera.id, footage.segments[1].start + timedelta(seconds=6), footage.dir)
    received = b""
    async for data in stream.chunks():
        received += data
        if received.count(b"moof") >= 1 and b"mdat" in received[received.find(b"moof") :]:
            break
    took = time.perf_counter() - began
    assert received[4:8] == b"ftyp" and b"moov" in received
    assert took < 2.0, f"the first picture took {took:.2f} s"


async def test_a_caught_up_stream_waits_for_the_next_segment_and_plays_it(footage: Footage, tmp_path: Path) -> None:
    like = footage.segments[1]
    # the session's footage may have been recorded just now (the first playback test of a pytest-xdist worker):
    # the camera's new segments come after it, as they would
    lead_s = like.duration_s + 1
    await asyncio.sleep(max(0.0, (footage.segments[-1].end - datetime.now(UTC)).total_seconds() + lead_s))
    base = datetime.now(UTC) - timedelta(seconds=lead_s)
    a = await footage.place(like, base)
    recording = True
    stream = PlaybackStream(footage.camera.id, base, footage.dir, following=lambda: recording)

    async def camera_records_on() -> None:
        nonlocal recording
        await asyncio.sleep(1.5)
        await footage.place(like, a.end)  # the next segment closes while the stream waits
        await asyncio.sleep(1.5)
        recording = False  # the camera stops: the stream ends once it has played what there is

    recorder = asyncio.create_task(camera_records_on())
    out = await asyncio.wait_for(play(stream, tmp_path / "followed.mp4"), 20)
    await recorder
    times = assert_continuous(ffprobe_packets(out))
    assert len(stream.pieces) == 2
    assert times[-1] == pytest.approx(2 * like.duration_s, abs=2 * FRAME_S)


async def test_a_client_that_stops_reading_stops_ffmpeg(footage: Footage, tmp_path: Path) -> None:
    others = {p.pid for p in ffmpeg_children()}  # another test's ffmpeg on this pytest worker is not ours
    stream = PlaybackStream(footage.camera.id, footage.segments[0].start, footage.dir, first_batch=1, batch=1)
    chunks = stream.chunks()
    await chunks.__anext__()
    ours = [p for p in ffmpeg_children() if p.pid not in others]
    assert len(ours) == 1
    await chunks.aclose()  # what the server does when the browser goes away
    assert not ours[0].is_running() or ours[0].status() == "zombie"
    assert stream.done


async def test_a_moment_in_a_gap_plays_from_the_next_recording_and_no_recording_is_refused(footage: Footage) -> None:
    first = footage.segments[0]
    stream = PlaybackStream(footage.camera.id, first.start - timedelta(minutes=10), footage.dir)
    await stream.open()
    assert stream.start == first.start

    last = footage.segments[-1]
    # a moment in the segment being written: its newest footage on disk, the last keyframe of the last segment
    stream = PlaybackStream(footage.camera.id, last.end + timedelta(seconds=4), footage.dir)
    await stream.open()
    assert last.start < stream.start <= last.end - timedelta(seconds=0.1)
    assert (stream.start - last.start).total_seconds() == pytest.approx(last.keyframes[-1], abs=0.001)

    with pytest.raises(NothingRecorded):
        await PlaybackStream(footage.camera.id, last.end + timedelta(hours=1), footage.dir).open()
    with pytest.raises(NothingRecorded):
        await PlaybackStream(footage.camera.id + 1, first.start, footage.dir).open()


async def test_runs_with_audio_join_with_both_tracks_in_step(tmp_path: Path) -> None:
    # a camera with AAC audio: each track's decode times must move on together at every join
    await asyncio.to_thread(
        subprocess.run,
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=10",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "30", "-c:v", "libx264", "-preset",
         "ultrafast", "-g", "20", "-bf", "0", "-c:a", "aac", "-f", "segment", "-segment_time", "10",
         "-segment_format", "mp4", "-reset_timestamps", "1", "-segment_format_options", SEGMENT_FORMAT_OPTIONS,
         str(tmp_path / "seg%03d.mp4")],
        check=True, capture_output=True,
    )  # fmt: skip
    splicer = Splicer()
    out = bytearray()
    for path in await asyncio.to_thread(lambda: sorted(tmp_path.glob("seg*.mp4"))):
        info = read_segment(path)
        row = SegmentRow(0, datetime.now(UTC), datetime.now(UTC), info.duration_s, path.name)
        run = FfmpegRun(stream_argv(), concat_script([Entry(row, path, 0.0, info.duration_s)]))
        splicer.next_run()
        await run.start()
        while data := await run.read(65536):
            out += splicer.feed(data)
        assert await run.wait() == 0
    joined = tmp_path / "joined.mp4"
    joined.write_bytes(bytes(out))

    video = assert_continuous(ffprobe_packets(joined))
    audio = [float(p["pts_time"]) for p in ffprobe_packets(joined, "a:0")]
    steps = [b - a for a, b in itertools.pairwise(audio)]
    assert min(steps) > 0 and max(steps) < 0.05  # AAC frames of 1024 samples at 48 kHz are 21.3 ms
    assert video[-1] == pytest.approx(29.9, abs=0.15) and audio[-1] == pytest.approx(30.0, abs=0.1)
    assert decode_errors(joined) == ""


async def test_a_camera_whose_video_changed_ends_the_stream_where_a_new_one_takes_over(
    footage: Footage, tmp_path: Path
) -> None:
    like = footage.segments[1]
    base = footage.segments[-1].end + timedelta(days=2)  # after the real footage: nothing follows
    before = await footage.place(like, base)
    # the camera was set to a smaller picture: its next segment cannot be copied into the same stream
    small = tmp_path / "small"
    small.mkdir()
    await asyncio.to_thread(
        subprocess.run,
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=10",
         "-t", "10", "-c:v", "libx264", "-preset", "ultrafast", "-g", "20", "-bf", "0", "-f", "segment",
         "-segment_time", "10", "-segment_format", "mp4", "-reset_timestamps", "1", "-segment_format_options",
         SEGMENT_FORMAT_OPTIONS, str(small / "seg%03d.mp4")],
        check=True, capture_output=True,
    )  # fmt: skip
    info = read_segment(small / "seg000.mp4")
    local = before.end.astimezone()
    path = f"{footage.camera.id}/{local:%Y-%m-%d}/{local:%H-%M-%S}.mp4"
    (footage.dir / path).write_bytes((small / "seg000.mp4").read_bytes())
    after = await Segment.create(
        camera_id=footage.camera.id, start=before.end, end=before.end + timedelta(seconds=info.duration_s),
        duration_s=info.duration_s, size=1, path=path, video_codec="h264", width=320, height=180,
        keyframes=list(info.keyframes_s),
    )  # fmt: skip

    stream = PlaybackStream(footage.camera.id, base, footage.dir)
    out = await play(stream, tmp_path / "before.mp4")
    times = assert_continuous(ffprobe_packets(out))
    assert [p.segment_id for p in stream.pieces] == [before.id]
    assert times[-1] == pytest.approx(like.duration_s, abs=2 * FRAME_S)
    assert stream.next_start == after.start

    stream = PlaybackStream(footage.camera.id, stream.next_start, footage.dir)
    out = await play(stream, tmp_path / "after.mp4")
    assert ffprobe_packets(out) and decode_errors(out) == ""
    assert [p.segment_id for p in stream.pieces] == [after.id]
