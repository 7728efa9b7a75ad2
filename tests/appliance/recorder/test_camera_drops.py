"""A camera that goes away (its RTSP server stopped) and comes back on the same address.

test_supervisor.py covers a camera that hangs (SIGSTOP) and the offline/online events; here the
server process is gone, so every reconnection is refused until the server is started again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from appliance.bus import EventBus
from appliance.db.models.cameras import Camera
from appliance.db.models.recordings import Segment
from appliance.i18n import t
from appliance.recorder.manager import Recorder
from appliance.recorder.supervisor import RecorderState
from tests.harness.waiting import until

log = logging.getLogger(__name__)

# The supervisor waits 1, 2, 4, 8 ... s between runs, and each run is refused at once while the camera
# is gone: runs start about 1, 3 and 7 s after the drop. Meanwhile it knocks on the camera's port every
# second, so when the camera comes back (10-11 s after the drop) the next run starts within about a
# second, records its first frame at once, and reports progress (the "recording" state) within 3 s more.
REFUSED_RUNS = 3  # the runs at 1, 3 and 7 s
FIRST_FRAME_WITHIN_S = 5.0  # the target: recording again within 5 s of the camera's return
BACK_WITHIN_S = 8.0  # the state follows ffmpeg's progress report, every 3 s


@pytest.fixture
async def recorder(db: Path) -> AsyncIterator[Recorder]:
    """A recorder with short segments."""
    rec = Recorder(db / "recordings", EventBus(), segment_seconds=4, stall_s=5)
    yield rec
    await rec.stop()


async def test_a_camera_that_goes_away_is_retried_gently_and_recorded_again_when_it_returns(
    recorder: Recorder, rtsp_server_factory: Any
) -> None:
    server = rtsp_server_factory(cameras=1, width=320, height=180)
    port = server.port
    camera = await Camera.create(name="Chợ Bến Thành", main_url=server.urls[0])
    await recorder.start()
    await until(lambda: Segment.filter(camera_id=camera.id).exists(), 25, "a first segment")
    assert recorder.status(camera.id).state == RecorderState.RECORDING

    server.stop()  # the camera goes away: its power, or its cable
    gone_at = datetime.now(UTC)
    gone = time.monotonic()
    await until(lambda: recorder.status(camera.id).state == RecorderState.RECONNECTING, 5, "reconnecting")
    await until(lambda: recorder.status(camera.id).error == "unreachable", 5, "the refused connection")
    status = recorder.status(camera.id)
    assert status.failing_since is not None and abs((status.failing_since - gone_at).total_seconds()) < 2
    said = {lang: t(f"recorder.failure.{status.error}", lang) for lang in ("vi", "en")}
    assert "recorder.failure" not in said["vi"] + said["en"] and said["vi"] != said["en"], said

    # the segment that was open when the camera went away is closed and indexed, up to the drop
    async def closed_at_the_drop() -> bool:
        newest = await Segment.filter(camera_id=camera.id).order_by("-end").first()
        return newest is not None and abs((newest.end - gone_at).total_seconds()) < 2.5

    await until(closed_at_the_drop, 5, "the open segment closed at the drop")

    # no loop that eats the CPU: one run for the drop, then runs further and further apart
    await until(lambda: recorder.status(camera.id).restarts >= 1 + REFUSED_RUNS, 12, "three refused runs")
    await until(lambda: time.monotonic() - gone >= 10, 10, "the rest of the outage")
    restarts = recorder.status(camera.id).restarts
    assert restarts == 1 + REFUSED_RUNS, f"{restarts} failed runs in {time.monotonic() - gone:.1f} s"
    assert recorder.status(camera.id).state == RecorderState.RECONNECTING

    back = rtsp_server_factory(cameras=1, width=320, height=180, port=port)  # the same camera, same address
    returned, returned_at = time.monotonic(), datetime.now(UTC)
    log.info("camera back %.1f s after it went away", returned - gone)
    await until(lambda: recorder.status(camera.id).state == RecorderState.RECORDING, BACK_WITHIN_S, "recording again")
    log.info("recording again %.1f s after the camera came back", time.monotonic() - returned)
    status = recorder.status(camera.id)
    assert status.error is None and status.failing_since is None
    assert status.restarts == restarts  # the first run after the return recorded

    async def segment_after_return() -> bool:
        return await Segment.filter(camera_id=camera.id, start__gte=returned_at).exists()

    await until(segment_after_return, 15, "a segment recorded after the return")
    first_after = await Segment.filter(camera_id=camera.id, start__gte=returned_at).order_by("start").first()
    assert first_after is not None
    assert (first_after.start - returned_at).total_seconds() <= FIRST_FRAME_WITHIN_S, first_after.start
    rows = await Segment.filter(camera_id=camera.id).order_by("start")
    before = [r for r in rows if r.end <= gone_at + timedelta(seconds=2.5)]
    after = [r for r in rows if r.start >= returned_at]
    assert before and after and len(before) + len(after) == len(rows), [(r.start, r.end) for r in rows]
    assert all((recorder.dir / r.path).is_file() for r in rows)
    back.stop()
