"""Real footage for the playback tests: about 17 s of a synthetic RTSP camera, recorded once per run by the
recorder's own ffmpeg command line (fragmented MP4 segments of 4 s rather than 10, so that a short recording has
several), then copied and indexed by the recorder's indexer into each test's own database."""

from __future__ import annotations

import asyncio
import fcntl
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise.backends.base import executor

from appliance.bus import EventBus
from appliance.db.connection import close_database, migrate, open_database
from appliance.db.models.cameras import Camera
from appliance.db.models.recordings import Segment
from appliance.recorder.argv import RecordingPlan, recording_argv, segment_dir
from appliance.recorder.index import index_segment
from tests.appliance.playback.support import Footage

RECORD_S = 17.0
SEGMENT_S = 4


@pytest.fixture(scope="session")
def recorded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Record one synthetic camera (640x360, 10 fps, a keyframe every 2 s) for about 17 s; return the folder.

    Recorded once per run: under pytest-xdist the first worker that needs it records it, holding a lock,
    into the run's temporary folder, and the others wait for it and read the same files.
    """
    assert shutil.which("ffmpeg") and shutil.which("ffprobe"), "ffmpeg and ffprobe are needed (make test installs them)"
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above each worker's own
    out = root / "recorded"
    with (root / "recorded.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "recorded.done").exists():
            shutil.rmtree(out, ignore_errors=True)  # a worker whose recording failed may have left some
            _record(request.getfixturevalue("rtsp_cameras"), out)
            (root / "recorded.done").touch()
    return out


def _record(rtsp_cameras: Any, out: Path) -> None:
    """Record the session's fourth camera with the recorder's own ffmpeg command line into `out`."""
    plan = RecordingPlan(url=rtsp_cameras.urls[3], camera_id=1, output_dir=out, video_codec="h264",
                         segment_seconds=SEGMENT_S)  # fmt: skip
    for day in (date.today(), date.today() + timedelta(days=1)):
        segment_dir(plan, day).mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(recording_argv(plan), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(RECORD_S)
    proc.send_signal(signal.SIGINT)  # finalizes the open segment
    _, err = proc.communicate(timeout=15)
    files = sorted(out.glob("1/*/*.mp4"))
    assert len(files) >= 4, err.decode(errors="replace")[-2000:]


@pytest.fixture
async def footage(db: Path, recorded: Path) -> Footage:
    """Copy the session's recording into this test's data folder and index every segment."""
    recordings = db / "recordings"
    shutil.copytree(recorded, recordings)  # keeps the files' times: the index reads each end from them
    camera = await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1:9/cam1")
    assert camera.id == 1  # the folder the footage was recorded into
    bus = EventBus()
    for path in sorted(recordings.glob("1/*/*.mp4")):
        await index_segment(camera.id, path, recordings, bus)
    segments = await Segment.filter(camera_id=camera.id).order_by("start")
    assert len(segments) >= 3
    return Footage(recordings, camera, segments)


async def _on_server(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Open a fresh, migrated database of each kind WardCam supports: SQLite, then PostgreSQL."""
    executor.EXECUTOR_CACHE.clear()  # Tortoise caches SQL per model, not per dialect
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path / 'wardcam.db'}"
        await open_database(url)
        await migrate(url)
        yield url
        await close_database()
        executor.EXECUTOR_CACHE.clear()
        return
    server_url = os.environ.get("WARDCAM_TEST_POSTGRES_URL")
    assert server_url, "WARDCAM_TEST_POSTGRES_URL is not set: run the tests through tools/with-postgres.sh"
    name = f"wardcam_test_{secrets.token_hex(6)}"
    await _on_server(server_url, f'CREATE DATABASE "{name}"')
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        await open_database(url)
        await migrate(url)
        yield url
        await close_database()
    finally:
        executor.EXECUTOR_CACHE.clear()
        await asyncio.sleep(0)
        await _on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
