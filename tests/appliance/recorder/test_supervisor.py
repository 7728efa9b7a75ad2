"""The recorder against a real RTSP server and real ffmpeg: it records, survives drops and hangs, and says why not."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from appliance.bus import CameraOffline, CameraOnline, Event, EventBus
from appliance.db.models.cameras import Camera
from appliance.db.models.recordings import Segment
from appliance.recorder.manager import Recorder
from appliance.recorder.supervisor import RecorderState
from tests.harness.waiting import until


@pytest.fixture
async def recorder(db: Path) -> AsyncIterator[Recorder]:
    """A recorder with short segments, a quick stall watchdog and a short offline delay."""
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(Event, events.append)
    rec = Recorder(db / "recordings", bus, offline_after_s=3, segment_seconds=4, stall_s=5)
    rec.events = events  # type: ignore[attr-defined]
    yield rec
    await rec.stop()


async def test_a_camera_is_recorded_and_each_segment_indexed_with_its_real_duration(
    recorder: Recorder, rtsp_server_factory: Any
) -> None:
    server = rtsp_server_factory(cameras=1)
    camera = await Camera.create(name="Ngã tư", main_url=server.urls[0])
    await recorder.start()
    await until(lambda: Segment.filter(camera_id=camera.id).count(), 20, "a first segment")
    status = recorder.status(camera.id)
    assert status is not None and status.state == RecorderState.RECORDING
    # the segment being written shows as "recording now": not indexed yet, but on disk and growing
    assert status.writing is not None and status.writing.startswith(f"{camera.id}/")
    assert (recorder.dir / status.writing).is_file()
    assert not await Segment.filter(path=status.writing).exists()
    segment = await Segment.filter(camera_id=camera.id).first()
    assert segment is not None
    assert 3.0 <= segment.duration_s <= 8.0
    assert segment.video_codec == "h264" and (segment.width, segment.height) == (640, 360)
    assert (recorder.dir / segment.path).is_file()
    assert segment.path.startswith(f"{camera.id}/")
    assert segment.keyframes[0] == pytest.approx(0.0, abs=0.2)


async def test_a_hung_camera_is_restarted_and_announced_offline_then_online(
    recorder: Recorder, rtsp_server_factory: Any
) -> None:
    server = rtsp_server_factory(cameras=1)
    camera = await Camera.create(name="Hẻm 3", main_url=server.urls[0])
    await recorder.start()
    await until(lambda: recorder.status(camera.id).state == RecorderState.RECORDING, 20, "recording")
    os.kill(server.pid, signal.SIGSTOP)
    try:
        await until(lambda: recorder.status(camera.id).state != RecorderState.RECORDING, 15, "the stall restart")
        await until(lambda: any(isinstance(e, CameraOffline) for e in recorder.events), 20, "camera_offline")
    finally:
        os.kill(server.pid, signal.SIGCONT)
    await until(lambda: recorder.status(camera.id).state == RecorderState.RECORDING, 40, "recording again")
    await until(lambda: any(isinstance(e, CameraOnline) for e in recorder.events), 5, "camera_online")


async def test_a_wrong_password_says_so_and_does_not_spin(recorder: Recorder, rtsp_server_factory: Any) -> None:
    server = rtsp_server_factory(cameras=1, user="admin", password="dung-mat-khau")
    camera = await Camera.create(name="Có mật khẩu", main_url=server.urls[0], username="admin", password="sai")
    await recorder.start()
    await until(lambda: recorder.status(camera.id).error == "auth", 15, "the auth error")
    status = recorder.status(camera.id)
    assert status.state == RecorderState.ERROR
    await asyncio.sleep(6)
    assert recorder.status(camera.id).restarts <= 4  # 1, 2, 4 s apart: no loop that eats the CPU


async def test_a_new_h265_camera_is_learned_remembered_and_recorded_with_the_hvc1_tag(
    db: Path, rtsp_server_factory: Any
) -> None:
    server = rtsp_server_factory(cameras=1, codec="h265", audio="alaw", width=320, height=180)
    camera = await Camera.create(name="Camera mới H.265", main_url=server.urls[0])
    first = Recorder(db / "recordings", EventBus(), segment_seconds=4, stall_s=5)
    await first.start()
    try:
        # no ffprobe first: the recording ffmpeg tells what the camera sends, and the row remembers it
        await until(lambda: Camera.filter(id=camera.id, stream_video_codec="hevc").exists(), 20, "the stream learned")

        # the first run could not know to tag H.265 for browsers: it stops within seconds, and the next does
        async def two_segments() -> bool:
            return await Segment.filter(camera_id=camera.id, video_codec="hevc").count() >= 2

        await until(two_segments, 30, "H.265 segments")
    finally:
        await first.stop()
    remembered = await Camera.get(id=camera.id)
    assert (remembered.stream_audio_codec, remembered.stream_width, remembered.stream_height) == ("pcm_alaw", 320, 180)
    newest = await Segment.filter(camera_id=camera.id).order_by("-start").first()
    assert newest is not None
    assert b"hvc1" in (first.dir / newest.path).read_bytes()[:4096]  # plays in Safari too; hev1 would not
    assert newest.audio_codec == "aac"  # G.711 cannot go into MP4: transcoded

    again = Recorder(db / "recordings", EventBus(), segment_seconds=4, stall_s=5)
    await again.start()  # the appliance restarts: it starts with the right plan at once
    try:
        await until(lambda: again.status(camera.id).state == RecorderState.RECORDING, 20, "recording again")
        assert again.status(camera.id).restarts == 0
    finally:
        await again.stop()


async def test_editing_a_camera_takes_effect_at_once(recorder: Recorder, rtsp_server_factory: Any) -> None:
    from appliance.bus import CameraChanged

    server = rtsp_server_factory(cameras=2)
    camera = await Camera.create(name="Đổi luồng", main_url=server.urls[0], enabled=False)
    await recorder.start()
    assert recorder.status(camera.id) is None
    camera.enabled = True
    await camera.save()
    recorder.bus.publish(CameraChanged(camera_id=camera.id, change="updated"))
    await until(lambda: recorder.status(camera.id) is not None, 3, "the recorder to start")
    await until(lambda: recorder.status(camera.id).state == RecorderState.RECORDING, 20, "recording")
    await Camera.filter(id=camera.id).delete()
    recorder.bus.publish(CameraChanged(camera_id=camera.id, change="deleted"))
    await until(lambda: recorder.status(camera.id) is None, 10, "the recorder to stop")


def test_the_recording_status_is_served_in_plain_words(module_appliance: Any, rtsp_server_factory: Any) -> None:
    admin = module_appliance.login("admin")
    server = rtsp_server_factory(cameras=1, user="admin", password="dung-mat-khau")
    created = admin.post("/api/cameras", json={"name": "Cổng chợ", "main_url": server.urls[0], "username": "admin",
                                               "password": "sai-mat-khau"})  # fmt: skip
    assert created.status_code == 201, created.text
    camera_id = created.json()["id"]
    deadline = time.monotonic() + 20
    while (status := admin.get(f"/api/cameras/{camera_id}/status").json())["error"] != "auth":
        assert time.monotonic() < deadline, status
        time.sleep(0.3)
    assert status["state"] == "error"
    assert status["error_message"] == "Sai tên đăng nhập hoặc mật khẩu của camera."
    assert "sai-mat-khau" not in str(status)
    fixed = admin.patch(f"/api/cameras/{camera_id}", json={"password": "dung-mat-khau"})
    assert fixed.status_code == 200
    deadline = time.monotonic() + 30
    while (status := admin.get(f"/api/cameras/{camera_id}/status").json())["state"] != "recording":
        assert time.monotonic() < deadline, status
        time.sleep(0.3)
    # the same, per camera, for Prometheus
    metrics = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(admin.get("/metrics").text)
        for s in family.samples
    }
    camera = str(camera_id)
    assert metrics[("wardcam_camera_recording_state", (("camera_id", camera), ("state", "recording")))] == 1.0
    assert metrics[("wardcam_camera_recording_state", (("camera_id", camera), ("state", "error")))] == 0.0
    assert metrics[("wardcam_camera_restarts_total", (("camera_id", camera),))] == 0  # a new run since the fix
    assert (("wardcam_camera_bytes_written", (("camera_id", camera),))) in metrics
    admin.close()


def test_deleting_a_camera_keeps_or_deletes_its_recordings_as_asked(
    module_appliance: Any, rtsp_server_factory: Any
) -> None:
    admin = module_appliance.login("admin")
    server = rtsp_server_factory(cameras=2)
    ids = [admin.post("/api/cameras", json={"name": f"Xóa {n}", "main_url": url}).json()["id"]
           for n, url in enumerate(server.urls)]  # fmt: skip
    recordings = module_appliance.data_dir / "recordings"
    deadline = time.monotonic() + 40
    while not all(list((recordings / str(i)).glob("*/*.mp4")) for i in ids):
        assert time.monotonic() < deadline, "nothing recorded"
        time.sleep(0.5)
    time.sleep(12)  # a first closed segment each
    kept, gone = ids
    assert admin.delete(f"/api/cameras/{kept}").status_code == 204
    assert admin.delete(f"/api/cameras/{gone}?recordings=delete").status_code == 204
    assert list((recordings / str(kept)).glob("*/*.mp4"))
    assert not (recordings / str(gone)).exists()
    admin.close()
