"""Staff enable motion detection on a real appliance: a camera's bouncing ball becomes a `motion` detection
with its picture, a zone drawn over the picture is named in it, and stopping the add-on ends it."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from addons import motion
from addons.motion.config import CameraMotion, Polygon
from addons.motion.page import jpeg_size
from appliance.addons.types import HealthResult
from appliance.app import Appliance
from appliance.cameras import CameraInput, CameraPatch
from appliance.db.models.audit import AuditEntry
from appliance.db.models.detections import Detection
from appliance.demo.cameras import BlockingSyntheticCameras
from tests.addons.motion.helpers import ADMIN, motion_ffmpegs
from tests.harness.waiting import until

WHOLE_PICTURE = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


async def motion_rows(camera_id: int) -> list[Detection]:
    return await Detection.filter(source="motion", camera_id=camera_id).order_by("id")


async def test_a_moving_ball_becomes_a_motion_detection_with_its_picture_and_its_zone(
    appliance: Appliance, rtsp_cameras: BlockingSyntheticCameras, artifacts: Path
) -> None:
    camera = await appliance.cameras.create_camera(CameraInput(name="Hẻm 12", main_url=rtsp_cameras.urls[0]),
                                                   who=ADMIN)  # fmt: skip
    await appliance.addons.configure("motion", {"fps": 3, "width": 320, "quiet_s": 3})
    addon = await appliance.addons.enable("motion")
    assert addon.running, addon.error
    await until(lambda: len(motion_ffmpegs()) == 1, 5, "one motion ffmpeg for the camera")

    async def detected_with_picture() -> bool:
        return any(row.snapshot_path for row in await motion_rows(camera.id))

    await until(detected_with_picture, 15, "a motion detection with a snapshot")
    (row,) = await motion_rows(camera.id)
    assert (row.label, row.source_camera, row.end) == ("motion", "", None)  # the ball keeps moving
    assert 0.0 < row.top_score < 0.2
    picture = appliance.detections.snapshot_file(row)
    assert picture is not None
    jpeg = picture.read_bytes()
    assert jpeg.startswith(b"\xff\xd8") and jpeg_size(jpeg) == (320, 180)
    (artifacts / "motion-snapshot.jpg").write_bytes(jpeg)  # for people to look at

    await motion.save_settings(camera.id, CameraMotion(zones=(Polygon(name="Cả ngõ", points=WHOLE_PICTURE),)),
                               who=ADMIN, ip="127.0.0.1")  # fmt: skip

    async def zone_named() -> bool:
        return any("Cả ngõ" in row.zones for row in await motion_rows(camera.id))

    await until(zone_named, 10, "the zone named in the detection")
    entry = await AuditEntry.filter(action="addon.motion.settings_changed").first()
    assert entry is not None and entry.object_id == str(camera.id) and entry.detail["zones"] == ["Cả ngõ"]
    assert len(motion_ffmpegs()) == 1  # new settings apply without restarting the camera's ffmpeg

    await appliance.addons.disable("motion")
    assert motion_ffmpegs() == []
    rows = await motion_rows(camera.id)
    assert rows and all(row.end is not None for row in rows)  # the open episode was ended
    assert (appliance.settings.data_dir / "addons" / "motion" / "cameras.json").is_file()


async def test_the_sub_stream_is_watched_and_an_ffmpeg_that_dies_is_started_again(
    appliance: Appliance, rtsp_cameras: BlockingSyntheticCameras
) -> None:
    await appliance.addons.enable("motion")
    main = rtsp_cameras.urls[1]
    camera = await appliance.cameras.create_camera(CameraInput(name="Cổng chợ", main_url=main,
                                                               sub_url=f"{main}?stream=sub"), who=ADMIN)  # fmt: skip
    await until(lambda: len(motion_ffmpegs()) == 1, 5, "a motion ffmpeg for the new camera")
    (first,) = motion_ffmpegs()
    assert f"{main}?stream=sub" in first.cmdline()
    watch = motion.running().detection.watches[camera.id]
    await until(lambda: watch.source.frames > 0, 10, "frames from the camera")
    assert await motion.watching_health() == HealthResult(True, "addon.motion.health.ok", {"count": 1, "failing": 0})

    os.kill(first.pid, signal.SIGKILL)
    await until(lambda: [p.pid for p in motion_ffmpegs()] not in ([], [first.pid]), 5, "a new motion ffmpeg")
    frames = watch.source.frames
    await until(lambda: watch.source.frames > frames, 10, "frames again")
    assert appliance.addons.get("motion").running  # a dying ffmpeg never takes the add-on down


async def test_a_camera_turned_off_is_no_longer_watched_and_one_turned_on_again_is(
    appliance: Appliance, rtsp_cameras: BlockingSyntheticCameras
) -> None:
    await appliance.addons.enable("motion")
    camera = await appliance.cameras.create_camera(CameraInput(name="Cổng chợ", main_url=rtsp_cameras.urls[1]),
                                                   who=ADMIN)  # fmt: skip
    await until(lambda: len(motion_ffmpegs()) == 1, 5, "a motion ffmpeg for the new camera")
    await appliance.cameras.update_camera(camera.id, CameraPatch(enabled=False), who=ADMIN)
    await until(lambda: motion_ffmpegs() == [], 5, "the motion ffmpeg stopped with the camera")
    await appliance.cameras.update_camera(camera.id, CameraPatch(enabled=True), who=ADMIN)
    await until(lambda: len(motion_ffmpegs()) == 1, 5, "the motion ffmpeg back")
    await motion.save_settings(camera.id, CameraMotion(enabled=False), who=ADMIN)
    assert motion_ffmpegs() == []
    await appliance.cameras.delete_camera(camera.id, who=ADMIN)
    store = motion.running().detection.store
    await until(lambda: store.get(camera.id) == CameraMotion(), 5, "the deleted camera's settings forgotten")
