"""An admin connects Frigate, links its cameras to WardCam's, and downloads and pushes the Frigate config.

The panel without a browser (NiceGUI's `user`), a fresh appliance, the session's real Mosquitto,
and the Frigate stand-in on loopback.
"""

from __future__ import annotations

import json
import uuid

import yaml
from nicegui.testing import User

from addons import frigate as frigate_addon
from appliance.auth.principal import Principal
from appliance.cameras import CameraInput
from appliance.db.models.audit import AuditEntry
from appliance.db.models.cameras import Camera
from appliance.db.models.users import Role
from tests.addons.frigate.fake_frigate import FakeFrigate
from tests.harness.fixtures import RunningBroker
from tests.web.conftest import AddUser, add_user, log_in, user  # noqa: F401  (the panel, without a browser)
from web import context

CAMERA_PASSWORD = "Cổng@trước:9/9#%"
ENCODED = "C%E1%BB%95ng%40tr%C6%B0%E1%BB%9Bc%3A9%2F9%23%25"
ADMIN = Principal(user_id=1, username="admin", display_name="", role=Role.ADMIN, language="vi")


async def add_camera(name: str, path: str, **fields: object) -> Camera:
    """Add a camera as another admin would have (not recording, so no ffmpeg runs for it)."""
    data = CameraInput.model_validate({"name": name, "main_url": f"rtsp://127.0.0.1:8554/{path}",
                                       "enabled": False, **fields})  # fmt: skip
    return await context.appliance().cameras.create_camera(data, who=ADMIN)


def sent_to_the_browser(person: User) -> str:
    """Return every element of the page as NiceGUI sends it to the browser."""
    assert person.client is not None
    return json.dumps([e._to_dict() for e in person.client.elements.values()], default=str, ensure_ascii=False)


async def test_the_admin_links_frigates_cameras_and_pushes_the_config_without_ever_seeing_a_password(
    user: User,  # noqa: F811
    add_user: AddUser,  # noqa: F811
    mosquitto: RunningBroker,
) -> None:
    frigate = await FakeFrigate(cameras=["cong_truoc", "gate_2"]).start()
    try:
        await add_user("admin")
        await log_in(user, "admin")
        await user.should_see("Tổng quan", retries=50)
        await add_camera("Cổng trước", "cam1", sub_url="rtsp://127.0.0.1:8554/cam1_sub", username="admin",
                         password=CAMERA_PASSWORD)  # fmt: skip
        back = await add_camera("Cổng sau", "cam2")
        api = user.http_client
        answer = await api.put("/api/mqtt", json={"broker": "external", "url": f"mqtt://127.0.0.1:{mosquitto.port}"})
        assert answer.status_code == 200, answer.text
        prefix = f"frigate-{uuid.uuid4().hex[:8]}"
        answer = await api.put("/api/addons/frigate/options", json={"url": frigate.url, "topic_prefix": prefix})
        assert answer.status_code == 200, answer.text
        assert (await api.post("/api/addons/frigate/enable")).status_code == 200

        await user.open("/addon/frigate/status")
        await user.should_see("Frigate trả lời lúc", retries=50)
        await user.should_see("phiên bản 0.16.2-4d58206, 2 camera")
        await user.should_see("Cổng trước (cùng tên)")  # cong_truoc matched by its name
        await user.should_see("Không có camera: phát hiện vẫn được lưu, không gắn camera")  # gate_2: no such name

        user.find(marker="frigate-link-gate_2").click()
        user.find("Cổng sau").click()
        user.find(marker="frigate-links-save").click()
        await user.should_see("Đã lưu liên kết camera. Các phát hiện mới sẽ dùng chúng.", retries=50)
        assert frigate_addon.running().options.links == {"gate_2": back.id}
        assert frigate_addon.running().cameras.resolve("gate_2") == (back.id, "manual")
        await user.should_see("Cổng sau (đã chọn)", retries=50)
        await user.should_see("Cổng trước (cùng tên)")  # Frigate's other camera is still listed after the restart

        await user.should_see(marker="frigate-config-yaml")
        await user.should_see("FRIGATE_CAM_1_PASSWORD — mật khẩu của camera Cổng trước")
        assert CAMERA_PASSWORD not in sent_to_the_browser(user) and ENCODED not in sent_to_the_browser(user)

        user.find(marker="frigate-download").click()
        downloaded = (await user.download.next(timeout=5)).content.decode()
        config = yaml.safe_load(downloaded)
        gate = config["cameras"]["cong_truoc"]["ffmpeg"]["inputs"]
        assert gate == [{"path": "rtsp://admin:{FRIGATE_CAM_1_PASSWORD}@127.0.0.1:8554/cam1_sub", "roles": ["detect"]}]
        assert config["record"] == {"enabled": False}
        assert config["mqtt"]["host"] == "127.0.0.1" and config["mqtt"]["topic_prefix"] == prefix
        assert CAMERA_PASSWORD not in downloaded and ENCODED not in downloaded

        user.find(marker="frigate-push").click()
        await user.should_see("Gửi cấu hình này sang Frigate tại")
        user.find(marker="frigate-push-passwords").click()
        user.find(marker="frigate-push-confirm").click()
        await user.should_see("Frigate đã lưu cấu hình: Config successfully saved, restarting", retries=50)
        [(option, pushed)] = frigate.saved
        assert option == "restart"
        pushed_gate = yaml.safe_load(pushed)["cameras"]["cong_truoc"]["ffmpeg"]["inputs"][0]["path"]
        assert pushed_gate == f"rtsp://admin:{ENCODED}@127.0.0.1:8554/cam1_sub"  # Frigate needs it to open the stream
        assert CAMERA_PASSWORD not in sent_to_the_browser(user) and ENCODED not in sent_to_the_browser(user)

        entry = await AuditEntry.get(action="addon.frigate.config_pushed")
        assert entry.actor == "admin"
        assert entry.detail == {"cameras": 2, "with_passwords": True, "restart": True,
                                "frigate": f"{frigate.url}/api", "outcome": "saved"}  # fmt: skip
    finally:
        await frigate.stop()


async def test_a_push_frigate_refuses_tells_why_and_is_audited(
    user: User,  # noqa: F811
    add_user: AddUser,  # noqa: F811
) -> None:
    frigate = await FakeFrigate(users={"wardcam": ("dung-mat-khau", "viewer")}).start()
    try:
        await add_user("admin")
        await log_in(user, "admin")
        await user.should_see("Tổng quan", retries=50)
        await add_camera("Hẻm 5", "cam3", username="admin", password=CAMERA_PASSWORD)
        answer = await user.http_client.put("/api/addons/frigate/options", json={
            "url": frigate.url, "username": "wardcam", "password": "dung-mat-khau"})  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert (await user.http_client.post("/api/addons/frigate/enable")).status_code == 200

        await user.open("/addon/frigate/status")
        await user.should_see("WardCam hiện chưa có máy chủ MQTT để kết nối", retries=50)
        user.find(marker="frigate-push").click()
        user.find(marker="frigate-push-confirm").click()
        await user.should_see("Người dùng Frigate này không được làm việc này: lưu cấu hình cần quyền quản trị "
                              "của Frigate.", retries=50)  # fmt: skip
        assert frigate.saved == []
        entry = await AuditEntry.get(action="addon.frigate.config_pushed")
        assert entry.detail["outcome"] == "addon.frigate.error.forbidden"
        assert entry.detail["with_passwords"] is False
        assert "dung-mat-khau" not in sent_to_the_browser(user)
    finally:
        await frigate.stop()
