"""System notifications, each to its own targets: a camera offline for N minutes and back, the disk, a recorder
failing again and again (a real recorder against a camera that answers 404), a footage request to approve, a
scheduled backup that could not be written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appliance.audit import AuditLog
from appliance.backup.service import Backups
from appliance.bus import CameraOffline, CameraOnline, DiskWarning, RequestStateChanged
from appliance.db.models.cameras import Camera
from appliance.demo.cameras import BlockingSyntheticCameras
from appliance.recorder.manager import Recorder
from appliance.settings import Settings
from tests.appliance.notify.conftest import World
from tests.appliance.notify.helpers import webhook_target
from tests.appliance.notify.receivers import Mode, Receiver
from tests.harness.waiting import until


async def test_offline_back_online_disk_and_requests_go_to_their_own_targets(
    world: World, receivers: Callable[[Mode], Receiver]
) -> None:
    technicians, admins = receivers("ok"), receivers("ok")
    tech = await webhook_target(world, technicians, "Kỹ thuật")
    boss = await webhook_target(world, admins, "Ban chỉ huy")
    await world.notify.save_settings({"camera_offline": {"enabled": True, "target_ids": [tech.id], "minutes": 5},
                                      "disk": {"enabled": True, "target_ids": [tech.id]},
                                      "request_pending": {"enabled": True, "target_ids": [boss.id]},
                                      "panel_url": "http://192.168.1.10:8080"}, None)  # fmt: skip
    now = datetime.now(UTC)
    world.bus.publish(CameraOffline(camera_id=world.camera_id, since=now - timedelta(minutes=6)))  # past N: at once
    world.bus.publish(CameraOffline(camera_id=world.other_camera_id, since=now - timedelta(minutes=2)))  # not yet
    await until(lambda: len(technicians.received) == 1, 5, "the offline notification")
    assert technicians.received[0].body["title"] == "⚠️ Hẻm 12 – đầu hẻm mất tín hiệu"
    assert "(hơn 5 phút)" in technicians.received[0].body["message"]
    world.bus.publish(CameraOnline(camera_id=world.other_camera_id))  # back before its N minutes: nothing
    world.bus.publish(CameraOnline(camera_id=world.camera_id))
    await until(lambda: len(technicians.received) == 2, 5, "the back-online notification")
    assert technicians.received[1].body["title"] == "✅ Hẻm 12 – đầu hẻm có tín hiệu lại"

    for _ in range(2):  # the same reason twice within the hour: one message
        world.bus.publish(DiskWarning(free_bytes=2 * 1024**3, total_bytes=100 * 1024**3, reason="guard_deleted"))
    world.bus.publish(RequestStateChanged(request_id=42, state="pending"))
    world.bus.publish(RequestStateChanged(request_id=42, state="approved"))
    await until(lambda: len(technicians.received) == 3 and len(admins.received) == 1, 5, "disk and request")
    assert technicians.received[2].body["message"].startswith("Ổ đĩa đầy nên đã phải xoá sớm đoạn ghi cũ nhất; "
                                                              "còn 2.0 GB trên 100.0 GB (2%).")  # fmt: skip
    assert admins.received[0].body["message"].endswith("Xem: http://192.168.1.10:8080/requests?id=42")
    await world.bus.drain()
    assert len(technicians.received) == 3 and len(admins.received) == 1


async def test_a_recorder_restarting_again_and_again_is_reported_once(
    world: World, db: Path, receivers: Callable[[Mode], Receiver], rtsp_cameras: BlockingSyntheticCameras
) -> None:
    technicians = receivers("ok")
    tech = await webhook_target(world, technicians, "Kỹ thuật")
    await world.notify.save_settings({"recorder_failing": {"enabled": True, "target_ids": [tech.id], "restarts": 2,
                                                           "minutes": 5}}, None)  # fmt: skip
    wrong_path = rtsp_cameras.urls[0].rsplit("/", 1)[0] + "/khong-co"
    await Camera.filter(id=world.camera_id).update(main_url=wrong_path, enabled=True)
    recorder = Recorder(db / "recordings", world.bus)
    world.notify.watch.statuses = lambda: [r.status for r in recorder.recorders.values()]
    await recorder.start()
    try:
        await world.notify.watch.check_recorders()  # the first reading
        await until(lambda: recorder.status(world.camera_id).restarts >= 2, 15, "two restarts")  # type: ignore[union-attr]
        await world.notify.watch.check_recorders()
        await world.notify.watch.check_recorders()  # once, not at every check
        await until(lambda: len(technicians.received) == 1, 5, "the recorder notification")
        body = technicians.received[0].body
        assert body["title"] == "🔁 Ghi hình Hẻm 12 – đầu hẻm lỗi liên tục"
        assert body["message"].endswith("Lý do gần nhất: sai đường dẫn luồng video")
    finally:
        await recorder.stop()


async def test_a_scheduled_backup_that_fails_tells_the_technicians_why(
    world: World, receivers: Callable[[Mode], Receiver], tmp_path_factory: pytest.TempPathFactory
) -> None:
    technicians = receivers("ok")
    tech = await webhook_target(world, technicians, "Kỹ thuật")
    await world.notify.save_settings({"backup_failed": {"enabled": True, "target_ids": [tech.id]}}, None)
    backup_disk = tmp_path_factory.mktemp("usb-backup")
    backups = Backups(Settings(data_dir=world.data_dir, database_url=f"sqlite://{world.data_dir / 'wardcam.db'}"),
                      AuditLog(world.data_dir / "audit-head.json"), world.bus)  # fmt: skip
    await backups.save({"enabled": True, "target": str(backup_disk)})
    assert (await backups.run_scheduled()).ok
    await world.bus.drain()
    assert technicians.received == []  # a good night says nothing

    backup_disk.rename(backup_disk.with_name(backup_disk.name + "-unplugged"))  # somebody unplugged the USB disk
    assert not (await backups.run_scheduled()).ok
    await until(lambda: len(technicians.received) == 1, 5, "the backup notification")
    message = technicians.received[0].body
    assert message["title"] == "🗄️ Sao lưu WardCam không thành công"
    assert message["message"] == (
        f"Bản sao lưu theo lịch không ghi được vào {backup_disk}: Thư mục không tồn tại "
        "(ổ đĩa hoặc thư mục mạng đã được gắn chưa?). Hãy kiểm tra ở trang Hệ thống."
    )
