"""An admin enables the built-in broker, names Frigate's user and gives it a password on the add-on's page."""

from __future__ import annotations

import asyncio
import json

from nicegui.testing import User

from addons import mosquitto
from appliance.db.models.audit import AuditEntry
from appliance.net import free_port
from tests.addons.mosquitto.test_broker_addon import connack
from tests.web.conftest import AddUser, add_user, log_in, user  # noqa: F401  (the panel, without a browser)
from web import context

PASSWORD = "frigate-mat-khau-9"


async def test_the_admin_sets_a_broker_users_password_that_is_never_shown_again(
    user: User,  # noqa: F811
    add_user: AddUser,  # noqa: F811
) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    port = free_port()
    answer = await user.http_client.put("/api/addons/mosquitto/options", json={"port": port, "users": ["frigate"]})
    assert answer.status_code == 200, answer.text
    assert (await user.http_client.post("/api/addons/mosquitto/enable")).status_code == 200

    await user.open("/addon/mosquitto/users")
    await user.should_see(f"Máy chủ MQTT đang chạy ở cổng {port}, chỉ cho các chương trình trên thiết bị này.")
    await user.should_see("Chưa có mật khẩu: người dùng này chưa kết nối được")

    user.find(marker="mosquitto-password-frigate").type("ngan")
    user.find(marker="mosquitto-set-password-frigate").click()
    await user.should_see("Mật khẩu phải có từ 8 đến 128 ký tự, không xuống dòng.")

    user.find(marker="mosquitto-password-frigate").clear().type(PASSWORD)
    user.find(marker="mosquitto-set-password-frigate").click()
    await user.should_see("Đã lưu mật khẩu mới cho frigate.")
    await user.should_see("Đã đặt mật khẩu")
    assert await asyncio.to_thread(connack, port, "frigate", PASSWORD)

    assert user.client is not None
    page = json.dumps([e._to_dict() for e in user.client.elements.values()], default=str, ensure_ascii=False)
    assert PASSWORD not in page
    entry = await AuditEntry.filter(action="addon.mosquitto.password_set").first()
    assert entry is not None and entry.actor == "admin" and entry.detail == {"user": "frigate"}
    assert mosquitto.running().files.users_with_password() == {"frigate"}
    # WardCam itself uses the built-in broker, since the MQTT settings are left at their default.
    assert context.appliance().mqtt.status.broker == f"mqtt://127.0.0.1:{port}"
