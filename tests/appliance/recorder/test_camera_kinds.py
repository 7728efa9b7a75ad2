"""H.265 and G.711 cameras recorded through the whole Recorder, the files checked as a player reads them.

test_argv.py checks the ffmpeg command lines against a real server, and test_supervisor.py that a new
H.265 camera is learned, remembered and restarted once for its hvc1 tag. Here: the H.265 segments the
Recorder indexes open as hvc1 with the camera's own picture, and each camera's audio setting decides
what a G.711 camera's recordings carry.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from appliance.bus import EventBus
from appliance.db.models.cameras import AudioPolicy, Camera
from appliance.db.models.recordings import Segment
from appliance.recorder.manager import Recorder
from tests.harness.waiting import until

FPS = 10  # the synthetic cameras' frame rate


@pytest.fixture
async def recorder(db: Path) -> AsyncIterator[Recorder]:
    """A recorder with short segments."""
    rec = Recorder(db / "recordings", EventBus(), segment_seconds=4, stall_s=5)
    yield rec
    await rec.stop()


def played(path: Path) -> dict[str, Any]:
    """Return what a player finds in a segment: its streams (every frame decoded) and ffmpeg's complaints."""
    probed = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-of", "json", "-show_entries",
         "stream=codec_type,codec_name,codec_tag_string,width,height,sample_rate,channels,duration,nb_read_frames",
         str(path)],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    info: dict[str, Any] = json.loads(probed.stdout)
    info["errors"] = probed.stderr.strip()
    return info


def streams(info: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """Return the streams of one kind (video, audio)."""
    return [s for s in info["streams"] if s["codec_type"] == kind]


async def segments_of(camera: Camera, at_least: int) -> list[Segment]:
    """Wait for a camera's first indexed segments and return them all."""

    async def enough() -> bool:
        return await Segment.filter(camera_id=camera.id).count() >= at_least

    await until(enough, 30, f"{at_least} segments of {camera.name}")
    return list(await Segment.filter(camera_id=camera.id).order_by("start"))


async def test_an_h265_camera_is_recorded_as_it_sends_and_opens_as_hvc1(
    recorder: Recorder, rtsp_server_factory: Any
) -> None:
    server = rtsp_server_factory(cameras=1, codec="h265", width=320, height=180)
    camera = await Camera.create(name="Cổng trường H.265", main_url=server.urls[0])
    await recorder.start()
    rows = await segments_of(camera, 3)
    tags: dict[str, str] = {}
    for row in rows:
        info = played(recorder.dir / row.path)
        assert info["errors"] == "", f"{row.path}: {info['errors']}"
        video = streams(info, "video")
        assert [v["codec_name"] for v in video] == ["hevc"], (row.path, info)
        tags[row.path] = video[0]["codec_tag_string"]
        assert (video[0]["width"], video[0]["height"]) == (320, 180)  # the camera's picture, copied as it is
        assert int(video[0]["nb_read_frames"]) >= FPS * row.duration_s - 2, (row.path, row.duration_s, info)
        assert streams(info, "audio") == []
        assert (row.video_codec, row.width, row.height, row.audio_codec) == ("hevc", 320, 180, "")
    # KNOWN LIMIT (reported, issue 4): the very first run of a camera never seen before cannot know to
    # tag H.265; ffmpeg has muxed the ~2 s it analysed by the time it says what the camera sends, so that
    # one short segment is hev1 (plays in Chromium and VLC, not in Safari). Everything after is hvc1.
    first, *rest = rows
    assert all(tags[row.path] == "hvc1" for row in rest), tags
    assert tags[first.path] == "hvc1" or first.duration_s <= 3.0, (tags, first.duration_s)


async def test_a_g711_camera_is_recorded_with_aac_audio_or_without_audio_as_its_setting_says(
    recorder: Recorder, rtsp_server_factory: Any
) -> None:
    server = rtsp_server_factory(cameras=2, audio="mulaw", width=320, height=180)
    with_audio = await Camera.create(name="Hẻm 5 có tiếng", main_url=server.urls[0])  # the default setting
    without = await Camera.create(name="Hẻm 5 không tiếng", main_url=server.urls[1], audio_policy=AudioPolicy.DROP)
    assert with_audio.audio_policy == AudioPolicy.COPY
    await recorder.start()

    for row in await segments_of(with_audio, 2):
        info = played(recorder.dir / row.path)
        assert info["errors"] == "", f"{row.path}: {info['errors']}"
        audio = streams(info, "audio")
        assert [(a["codec_name"], a["sample_rate"], a["channels"]) for a in audio] == [("aac", "8000", 1)], info
        video = streams(info, "video")[0]
        assert float(audio[0]["duration"]) == pytest.approx(float(video["duration"]), abs=0.5)  # sound throughout
        assert int(audio[0]["nb_read_frames"]) >= 8000 / 1024 * row.duration_s - 3  # decodable AAC frames
        assert (row.video_codec, row.audio_codec) == ("h264", "aac")

    for row in await segments_of(without, 2):
        info = played(recorder.dir / row.path)
        assert info["errors"] == "", f"{row.path}: {info['errors']}"
        assert streams(info, "audio") == [], info
        assert [v["codec_name"] for v in streams(info, "video")] == ["h264"]
        assert (row.video_codec, row.audio_codec) == ("h264", "")

    remembered = await Camera.get(id=without.id)
    assert remembered.stream_audio_codec == "pcm_mulaw"  # the camera does send audio: the setting dropped it
