"""The live grid's frames against a real RTSP server and real ffmpeg: one ffmpeg per camera however many
look, started when someone looks and stopped when nobody does, and a camera that fails says why."""

from __future__ import annotations

import os
import random
import signal
import struct
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from appliance.audit import AuditLog
from appliance.bus import CameraChanged, EventBus
from appliance.db.models.cameras import Camera
from appliance.live.frames import Frame, FrameSource, JpegSplitter
from appliance.live.service import LiveService
from appliance.live.worker import LiveState
from appliance.net import free_port
from tests.appliance.live.support import ffmpegs_reading, fixed_streams
from tests.harness.waiting import until


def jpeg_size(jpeg: bytes) -> tuple[int, int]:
    """Return (width, height) from a JPEG's start-of-frame segment."""
    pos = 2
    while pos + 4 <= len(jpeg):
        marker, length = jpeg[pos + 1], struct.unpack(">H", jpeg[pos + 2 : pos + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", jpeg[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    raise AssertionError("no start-of-frame in the JPEG")


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[LiveService]:
    """A live service whose frame sources stop after 2 s without anyone looking; cameras from `streams`."""
    live = LiveService(EventBus(), AuditLog(tmp_path / "audit-head.json"), frame_idle_s=2)
    await live.start()
    yield live
    await live.stop()


async def test_three_viewers_of_a_camera_share_one_ffmpeg_that_stops_when_nobody_looks(
    service: LiveService, rtsp_server_factory: Any
) -> None:
    server = rtsp_server_factory(cameras=1, width=1280, height=720, fps=10)
    url = server.urls[0]
    service.streams = fixed_streams(url)
    seen: list[list[Frame]] = [[], [], []]
    source = service.frames(7)
    stops = [source.listen(frames.append) for frames in seen]

    await until(lambda: all(len(frames) >= 2 for frames in seen), 15, "two frames for each of three viewers")
    assert len(ffmpegs_reading(url)) == 1
    assert source.runs == 1 and source.state == LiveState.LIVE and source.error is None
    assert [f.seq for f in seen[0][:2]] == [f.seq for f in seen[1][:2]]  # the same frames, not one decode each
    for frame in seen[0]:
        assert frame.jpeg.startswith(b"\xff\xd8") and frame.jpeg.endswith(b"\xff\xd9")
        assert jpeg_size(frame.jpeg) == (640, 360)  # the 720p main stream, scaled down for a tile
        assert 3_000 < len(frame.jpeg) < 200_000

    # a fourth look (an API client fetching the latest frame) joins the same ffmpeg
    latest = await service.latest_frame(7, wait_s=1)
    assert latest is not None and latest.seq >= seen[0][-1].seq - 1
    assert len(ffmpegs_reading(url)) == 1

    for stop in stops:
        stop()
    await until(lambda: 7 not in service.sources, 5, "the idle frame source stopped")
    await until(lambda: not ffmpegs_reading(url), 5, "its ffmpeg gone")
    await until(lambda: source.state == LiveState.IDLE, 5, "the source idle")  # once its supervision has ended


async def test_the_sub_stream_is_used_and_the_main_stream_when_the_sub_stream_fails(
    service: LiveService, rtsp_server_factory: Any
) -> None:
    server = rtsp_server_factory(cameras=2, width=320, height=180)
    main, sub = server.urls
    service.streams = fixed_streams(main, sub)
    assert await service.latest_frame(1, wait_s=10) is not None
    assert len(ffmpegs_reading(sub)) == 1 and not ffmpegs_reading(main)

    broken_sub = sub.replace("/cam2", "/no-such-path")
    service.streams = fixed_streams(main, broken_sub)
    frames: list[Frame] = []
    stop = service.frames(2).listen(frames.append)
    await until(lambda: frames, 15, "a frame from the main stream")
    assert jpeg_size(frames[0].jpeg) == (320, 180)
    assert len(ffmpegs_reading(main)) == 1 and not ffmpegs_reading(broken_sub)
    assert service.sources[2].runs == 2  # one refused run on the sub stream, then the main stream
    stop()


async def test_a_camera_that_cannot_be_reached_gives_no_frame_and_a_reason_not_a_crash(service: LiveService) -> None:
    url = f"rtsp://127.0.0.1:{free_port()}/cam1"  # nobody listens there
    service.streams = fixed_streams(url)
    assert await service.latest_frame(3, wait_s=2) is None
    source = service.sources[3]
    await until(lambda: source.error == "unreachable", 5, "the reason")
    assert source.state in (LiveState.FAILING, LiveState.CONNECTING)
    await until(lambda: source.runs >= 2, 5, "a retry after the backoff")
    assert source.running  # still supervised, ready for when the camera comes back


async def test_a_camera_that_goes_away_and_comes_back_gives_frames_again(
    service: LiveService, rtsp_server_factory: Any
) -> None:
    port = free_port()
    server = rtsp_server_factory(cameras=1, width=320, height=180, port=port)
    service.streams = fixed_streams(server.urls[0])
    frames: list[Frame] = []
    stop = service.frames(4).listen(frames.append)
    await until(lambda: frames, 10, "a first frame")
    source = service.sources[4]

    server.stop()
    await until(lambda: source.state == LiveState.FAILING and source.error == "unreachable", 10, "the drop noticed")
    count = len(frames)
    rtsp_server_factory(cameras=1, width=320, height=180, port=port)
    await until(lambda: len(frames) > count, 15, "frames again")
    assert source.state == LiveState.LIVE and source.error is None
    stop()


async def test_a_camera_that_hangs_is_noticed_by_the_watchdog(rtsp_server_factory: Any) -> None:
    server = rtsp_server_factory(cameras=1, width=320, height=180)
    source = FrameSource(1, fixed_streams(server.urls[0]), stall_s=3)
    try:
        assert await source.next_frame(10) is not None
        os.kill(server.pid, signal.SIGSTOP)  # the camera hangs with its connection open
        await until(lambda: source.state == LiveState.FAILING, 8, "the stall noticed")
        assert source.error == "timeout"
    finally:
        os.kill(server.pid, signal.SIGCONT)
        await source.stop()
    assert not ffmpegs_reading(server.urls[0])


async def test_a_camera_changed_or_deleted_restarts_or_stops_its_frames(db: Path, rtsp_server_factory: Any) -> None:
    server = rtsp_server_factory(cameras=1, width=320, height=180, user="quản lý", password="p@ss:w/o#r%d")
    camera = await Camera.create(name="Hẻm 5", main_url=server.urls[0], username="quản lý", password="wrong")
    bus = EventBus()
    service = LiveService(bus, AuditLog(db / "audit-head.json"))
    await service.start()
    try:
        assert await service.latest_frame(camera.id, wait_s=3) is None
        await until(lambda: service.sources[camera.id].error == "auth", 5, "the wrong password noticed")

        camera.password = "p@ss:w/o#r%d"  # the admin types the right one
        await camera.save()
        bus.publish(CameraChanged(camera_id=camera.id, change="updated"))
        await bus.drain()
        assert await service.latest_frame(camera.id, wait_s=10) is not None
        assert service.sources[camera.id].error is None

        await camera.delete()
        bus.publish(CameraChanged(camera_id=camera.id, change="deleted"))
        await bus.drain()
        assert camera.id not in service.sources
        await until(lambda: not ffmpegs_reading(server.credential_urls[0]), 5, "its ffmpeg gone")
    finally:
        await service.stop()


def test_jpegs_are_cut_whole_from_any_chunks_even_with_end_markers_inside_their_tables(tmp_path: Path) -> None:
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=5",
         "-frames:v", "3", "-q:v", "5", "-f", "image2pipe", "-c:v", "mjpeg", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    first_end = out.index(b"\xff\xd9") + 2
    images = [out[:first_end]]
    rest = out[first_end:]
    while rest:
        end = JpegSplitter().feed(rest)[0]
        images.append(end)
        rest = rest[len(end) :]
    assert len(images) == 3
    # a comment segment that holds the bytes of an end-of-image marker must not cut the image there
    tricky = images[1][:2] + b"\xff\xfe\x00\x06\xff\xd9\xff\xd9" + images[1][2:]
    stream = b"garbage" + images[0] + tricky + images[2]
    rng = random.Random(5)
    splitter, found, pos = JpegSplitter(), [], 0
    while pos < len(stream):
        step = rng.randint(1, 700)
        found += splitter.feed(stream[pos : pos + step])
        pos += step
    assert found == [images[0], tricky, images[2]]
