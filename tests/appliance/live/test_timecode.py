"""The timecode camera that bench/live_latency.py measures with: its picture tells the time it was made."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from appliance.demo.cameras import SYSTEM_PYTHON, BlockingSyntheticCameras, CameraServerOptions

BITS, COLUMNS, BLOCK, ORIGIN = 32, 16, 32, 32  # rtsp_server.py's TIMECODE_* layout


@dataclass(frozen=True)
class TimecodeOptions(CameraServerOptions):
    def command(self, python: str = SYSTEM_PYTHON) -> list[str]:
        return [*super().command(python), "--pattern", "timecode"]


@pytest.fixture
def timecode_camera() -> Iterator[BlockingSyntheticCameras]:
    camera = BlockingSyntheticCameras(TimecodeOptions(cameras=1, width=640, height=360, fps=25))
    camera.start()
    yield camera
    camera.stop()


def test_each_frame_shows_the_wall_clock_time_it_was_made(timecode_camera: BlockingSyntheticCameras) -> None:
    grey = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", timecode_camera.urls[0],
         "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"],
        capture_output=True, check=True, timeout=60,  # a loaded CI machine took over 20 s to connect
    ).stdout  # fmt: skip
    read_at = int(time.time() * 1000) & 0xFFFFFFFF
    assert len(grey) == 640 * 360
    code = 0
    for bit in range(BITS):
        x = ORIGIN + (bit % COLUMNS) * BLOCK + BLOCK // 2
        y = ORIGIN + (bit // COLUMNS) * BLOCK + BLOCK // 2
        code = code * 2 + (grey[y * 640 + x] > 128)
    age_ms = (read_at - code) % 2**32
    assert 0 <= age_ms < 3000, f"the frame says it is {age_ms} ms old"
