"""The live video relay against a real RTSP server and real ffmpeg: one `ffmpeg -c copy` per camera
whoever watches, fragments a browser can play from the first one it gets, and clean failures."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from appliance.audit import AuditLog
from appliance.bus import EventBus
from appliance.live.fmp4 import Fragment, FragmentSplitter, InitSegment
from appliance.live.relay import VIEWER_QUEUE, RelayViewer
from appliance.live.service import LiveService
from appliance.live.worker import LiveState
from appliance.net import free_port
from tests.appliance.live.support import ffmpegs_reading, fixed_streams
from tests.harness.waiting import until


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[LiveService]:
    """A live service whose relays stop 1 s after their last viewer leaves."""
    live = LiveService(EventBus(), AuditLog(tmp_path / "audit-head.json"), relay_linger_s=1)
    await live.start()
    yield live
    await live.stop()


async def pieces(viewer: RelayViewer, count: int, within_s: float = 15) -> list[InitSegment | Fragment]:
    """Take the next `count` pieces a viewer is sent."""
    got: list[InitSegment | Fragment] = []
    async with asyncio.timeout(within_s):
        while len(got) < count:
            piece = await viewer.next()
            assert piece is not None, "the viewer was dropped"
            got.append(piece)
    return got


def probe(path: Path) -> dict[str, Any]:
    """Return ffprobe's view of a file's video stream and format."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height:format=duration",
         "-select_streams", "v:0", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    data: dict[str, Any] = json.loads(out)
    return data


async def test_viewers_share_one_ffmpeg_get_playable_video_and_a_late_joiner_starts_at_a_keyframe(
    service: LiveService, rtsp_server_factory: Any, tmp_path: Path
) -> None:
    server = rtsp_server_factory(cameras=1, width=640, height=360, fps=10)
    url = server.urls[0]
    service.streams = fixed_streams(url)
    relay = service.relay(5)
    first, second = relay.join(), relay.join()

    got = await pieces(first, 1 + 15)  # the init segment and 3 s of fragments
    init, fragments = got[0], got[1:]
    assert isinstance(init, InitSegment) and init.codec.startswith("avc1.")
    assert init.mime == f'video/mp4; codecs="{init.codec}"'
    assert all(isinstance(f, Fragment) for f in fragments)
    assert fragments[0].keyframe  # a browser can start decoding at once
    assert sum(f.keyframe for f in fragments) >= 1
    assert len(ffmpegs_reading(url)) == 1 and relay.runs == 1 and relay.state == LiveState.LIVE
    assert (await pieces(second, 16))[0] == init

    # copied, not transcoded: the viewer's bytes are the camera's H.264 at its own size, and they play
    clip = tmp_path / "live.mp4"
    clip.write_bytes(init.data + b"".join(f.data for f in fragments))
    info = probe(clip)
    assert info["streams"] == [{"codec_name": "h264", "width": 640, "height": 360}]
    assert float(info["format"]["duration"]) >= 2.0

    late = relay.join()
    late_got = await pieces(late, 2, within_s=3)
    assert late_got[0] == relay.init and isinstance(late_got[1], Fragment) and late_got[1].keyframe
    assert len(ffmpegs_reading(url)) == 1

    for viewer in (first, second, late):
        relay.leave(viewer)
    await until(lambda: 5 not in service.relays, 5, "the relay stopped after its last viewer left")
    await until(lambda: not ffmpegs_reading(url), 5, "its ffmpeg gone")


async def test_the_grid_gets_only_keyframes_of_the_sub_stream_copied_and_one_ffmpeg_per_camera(
    service: LiveService, rtsp_server_factory: Any
) -> None:
    server = rtsp_server_factory(cameras=2, width=320, height=180, fps=10)
    main, sub = server.urls
    service.streams = fixed_streams(main, sub)
    relay = service.keyframes(3)
    first, second = relay.join(), relay.join()
    got = await pieces(first, 4)  # the init segment and three keyframes, 2 s apart
    assert isinstance(got[0], InitSegment) and got[0].codec.startswith("avc1.")
    assert all(isinstance(f, Fragment) and f.keyframe for f in got[1:])
    assert (await pieces(second, 2))[0] == got[0]
    assert len(ffmpegs_reading(sub)) == 1 and not ffmpegs_reading(main)
    late = relay.join()
    assert [p.keyframe for p in await pieces(late, 2, within_s=1) if isinstance(p, Fragment)] == [True]
    for viewer in (first, second, late):
        relay.leave(viewer)
    assert relay.running  # kept a while for the next look (a page reload, a filter change)


async def test_a_camera_that_restarts_sends_a_new_init_segment_then_a_keyframe(
    service: LiveService, rtsp_server_factory: Any
) -> None:
    port = free_port()
    server = rtsp_server_factory(cameras=1, width=320, height=180, port=port)
    service.streams = fixed_streams(server.urls[0])
    relay = service.relay(1)
    viewer = relay.join()
    await pieces(viewer, 3)
    server.stop()
    await until(lambda: relay.state == LiveState.FAILING and relay.error == "unreachable", 10, "the drop noticed")
    rtsp_server_factory(cameras=1, width=320, height=180, port=port)
    while not isinstance(piece := (await pieces(viewer, 1))[0], InitSegment):
        pass  # what was still on its way
    after = await pieces(viewer, 1)
    assert isinstance(piece, InitSegment) and isinstance(after[0], Fragment) and after[0].keyframe
    relay.leave(viewer)


async def test_a_camera_that_cannot_be_reached_sends_nothing_and_says_why(service: LiveService) -> None:
    service.streams = fixed_streams(f"rtsp://127.0.0.1:{free_port()}/cam1")
    relay = service.relay(2)
    viewer = relay.join()
    await until(lambda: relay.error == "unreachable", 5, "the reason")
    assert viewer.queue.empty() and relay.running
    relay.leave(viewer)
    await until(lambda: not relay.running, 5, "the relay stopped")


def test_a_viewer_that_cannot_keep_up_is_dropped_rather_than_buffered_forever() -> None:
    viewer = RelayViewer()
    fragment = Fragment(b"x" * 100, keyframe=False)
    for _ in range(VIEWER_QUEUE + 1):
        viewer.put(fragment)
    assert viewer.dropped and viewer.queue.qsize() == 1 and viewer.queue.get_nowait() is None


def test_fragmented_mp4_is_cut_into_an_init_segment_and_fragments_with_their_keyframes(tmp_path: Path) -> None:
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=10",
         "-t", "3", "-c:v", "libx264", "-g", "10", "-bf", "0", "-f", "mp4",
         "-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-frag_duration", "200000", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    splitter = FragmentSplitter()
    got: list[InitSegment | Fragment] = []
    for pos in range(0, len(out), 777):
        got += splitter.feed(out[pos : pos + 777])
    init, fragments = got[0], got[1:]
    assert isinstance(init, InitSegment) and init.codec.startswith("avc1.64")  # libx264's High profile
    relayed = b"".join([init.data, *(f.data for f in fragments)])
    assert out.startswith(relayed)  # nothing lost, nothing added
    assert out[len(relayed) + 4 : len(relayed) + 8] == b"mfra"  # only the random-access index at the end is left
    # a keyframe every 10 frames, fragments of 2 frames: every fifth fragment starts with a keyframe
    assert [f.keyframe for f in fragments] == [i % 5 == 0 for i in range(len(fragments))]


def test_an_hevc_stream_gets_the_codec_string_browsers_ask_for() -> None:
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=10",
         "-t", "1", "-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1", "-f", "mp4",
         "-movflags", "+frag_keyframe+empty_moov+default_base_moof", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    init = FragmentSplitter().feed(out)[0]
    assert isinstance(init, InitSegment)
    assert init.codec.startswith("hvc1.1.6.L") and init.codec.endswith(".90")  # Main profile, progressive
