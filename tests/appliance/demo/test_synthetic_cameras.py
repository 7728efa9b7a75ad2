"""A user points ffprobe at the synthetic cameras and sees real streams."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import pytest

from appliance.demo.cameras import BlockingSyntheticCameras, SyntheticCameras, SyntheticCamerasUnavailable

PROBE_TIMEOUT = 10.0


async def ffprobe(url: str) -> tuple[int, dict[str, Any], str]:
    """Probe an RTSP URL; return the exit code, the parsed JSON and stderr."""
    proc = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-timeout", "5000000",
        "-analyzeduration", "500000", "-of", "json",
        "-show_entries", "stream=codec_type,codec_name,width,height,sample_rate",
        url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), PROBE_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    info: dict[str, Any] = json.loads(out or b"{}")
    return proc.returncode or 0, info, err.decode(errors="replace")


def streams(info: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """Return the streams of one codec_type."""
    return [s for s in info.get("streams", []) if s.get("codec_type") == kind]


async def test_two_cameras_serve_h264_of_the_requested_size() -> None:
    async with SyntheticCameras(2, width=320, height=240) as cams:
        assert cams.urls == [f"rtsp://127.0.0.1:{cams.port}/cam1", f"rtsp://127.0.0.1:{cams.port}/cam2"]
        assert cams.pid > 0
        results = await asyncio.gather(*(ffprobe(url) for url in cams.urls))
        for code, info, err in results:
            assert code == 0, err
            video = streams(info, "video")
            assert len(video) == 1
            assert (video[0]["codec_name"], video[0]["width"], video[0]["height"]) == ("h264", 320, 240)
        pid = cams.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_session_cameras_are_four_h264_streams(rtsp_cameras: BlockingSyntheticCameras) -> None:
    assert len(rtsp_cameras.urls) == 4
    code, info, err = await ffprobe(rtsp_cameras.urls[3])
    assert code == 0, err
    assert [(s["codec_name"], s["width"], s["height"]) for s in streams(info, "video")] == [("h264", 640, 360)]


async def test_camera_with_a_password_refuses_strangers(
    rtsp_server_factory: Callable[..., BlockingSyntheticCameras],
) -> None:
    cams = rtsp_server_factory(cameras=1, user="viewer", password="s3cret pass")
    code, _, err = await ffprobe(cams.urls[0])
    assert code != 0
    assert "401" in err

    code, _, err = await ffprobe(cams.urls[0].replace("rtsp://", "rtsp://viewer:wrong@"))
    assert code != 0
    assert "401" in err

    assert cams.credential_urls[0].startswith("rtsp://viewer:s3cret%20pass@127.0.0.1:")
    code, info, err = await ffprobe(cams.credential_urls[0])
    assert code == 0, err
    assert streams(info, "video")[0]["codec_name"] == "h264"


async def test_h265_camera_with_aac_audio(
    rtsp_server_factory: Callable[..., BlockingSyntheticCameras],
) -> None:
    cams = rtsp_server_factory(cameras=1, codec="h265", audio="aac")
    code, info, err = await ffprobe(cams.urls[0])
    assert code == 0, err
    assert streams(info, "video")[0]["codec_name"] == "hevc"
    assert [(s["codec_name"], s["sample_rate"]) for s in streams(info, "audio")] == [("aac", "16000")]


@pytest.mark.parametrize(("audio", "codec_name"), [("alaw", "pcm_alaw"), ("mulaw", "pcm_mulaw")])
async def test_camera_with_g711_audio(
    rtsp_server_factory: Callable[..., BlockingSyntheticCameras], audio: str, codec_name: str
) -> None:
    cams = rtsp_server_factory(cameras=1, audio=audio, width=160, height=120)
    code, info, err = await ffprobe(cams.urls[0])
    assert code == 0, err
    assert [s["codec_name"] for s in streams(info, "audio")] == [codec_name]


async def test_killed_camera_server_is_gone(
    rtsp_server_factory: Callable[..., BlockingSyntheticCameras],
) -> None:
    cams = rtsp_server_factory(cameras=1, width=160, height=120)
    os.kill(cams.pid, signal.SIGKILL)
    await asyncio.sleep(0.2)
    code, _, err = await ffprobe(cams.urls[0])
    assert code != 0
    assert "Connection refused" in err


async def test_missing_python_gives_a_clear_error() -> None:
    cams = SyntheticCameras(1, python="/nonexistent/python3")
    with pytest.raises(SyntheticCamerasUnavailable, match="python3-gi"):
        await cams.start()


async def test_python_without_gi_gives_a_clear_error() -> None:
    cams = SyntheticCameras(1, python=sys.executable)  # the venv's Python has no `gi`
    # the code is 3, but asyncio may report 255 when another thread of a test worker reaps the child first
    with pytest.raises(SyntheticCamerasUnavailable, match=r"(?s)exited with code \d+.*python3-gi"):
        await cams.start()


async def test_server_that_dies_at_start_reports_its_stderr() -> None:
    cams = SyntheticCameras(1, width=1)  # the server refuses a 1-pixel-wide picture
    with pytest.raises(SyntheticCamerasUnavailable, match=r"(?s)exited with code 2.*--width"):
        await cams.start()
