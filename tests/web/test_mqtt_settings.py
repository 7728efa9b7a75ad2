"""An admin connects WardCam to an MQTT broker on the System page; the password never comes back."""

from __future__ import annotations

import json
from collections.abc import Callable

from nicegui.testing import User

from appliance.db.models.audit import AuditEntry
from appliance.db.models.settings import Setting
from appliance.mqtt import MqttService
from tests.harness.fixtures import RunningBroker
from tests.web.conftest import AddUser, eventually, log_in
from web import context

BROKER_PASSWORD = "mat-khau-may-chu-7"


async def open_system_page(user: User, add_user: AddUser, language: str = "vi") -> None:
    await add_user("admin", language=language)
    await log_in(user, "admin")
    await user.should_see("Tổng quan" if language == "vi" else "Dashboard", retries=50)
    await user.open("/system")
    await user.should_see("MQTT")


def fill_broker(user: User, url: str, username: str = "", password: str = "") -> None:
    """Choose another broker and type its address and login, as an admin does."""
    user.find("Máy chủ khác").click()
    user.find(marker="mqtt-url").clear().type(url)
    if username:
        user.find(marker="mqtt-username").clear().type(username)
    if password:
        user.find(marker="mqtt-password").type(password)
    user.find(marker="mqtt-save").click()


async def topic_of(service: MqttService) -> str:
    return service.base_topic


def page_state(user: User) -> str:
    """Return everything the page holds: each element's props, texts and values."""
    assert user.client is not None
    return json.dumps(
        [element._to_dict() for element in user.client.elements.values()], default=str, ensure_ascii=False
    )


async def test_the_admin_connects_to_a_broker_with_a_password_that_never_comes_back(
    user: User, add_user: AddUser, mosquitto_factory: Callable[..., RunningBroker]
) -> None:
    broker = mosquitto_factory(username="wardcam", password=BROKER_PASSWORD)
    await open_system_page(user, add_user)
    await user.should_see("Máy chủ MQTT có sẵn chưa chạy")  # the default, while the add-on is off

    fill_broker(user, f"mqtt://{broker.host}:{broker.port}", "wardcam", BROKER_PASSWORD)
    await user.should_see("Đã lưu cài đặt MQTT.")
    await user.should_see(f"Đã kết nối tới mqtt://{broker.host}:{broker.port}.", retries=100)
    assert BROKER_PASSWORD not in page_state(user)

    await user.open("/system")  # a fresh page shows that a password is saved, never the password
    await user.should_see(f"Đã kết nối tới mqtt://{broker.host}:{broker.port}.")
    assert user.find(marker="mqtt-password").elements.pop().value in ("", None)
    assert "Đã lưu mật khẩu; để trống để giữ nguyên" in page_state(user)
    assert BROKER_PASSWORD not in page_state(user)
    html = (await user.http_client.get("/system")).text
    assert BROKER_PASSWORD not in html

    answer = await user.http_client.get("/api/mqtt")
    assert answer.status_code == 200
    assert BROKER_PASSWORD not in answer.text
    body = answer.json()
    assert body["settings"]["has_password"] is True
    assert "password" not in body["settings"]
    assert body["status"]["state"] == "connected"
    metrics = (await user.http_client.get("/metrics")).text
    assert "wardcam_mqtt_connected 1.0" in metrics
    assert 'wardcam_mqtt_state{state="connected"} 1.0' in metrics
    assert BROKER_PASSWORD not in metrics

    entry = await AuditEntry.filter(action="mqtt.settings_changed").order_by("-id").first()
    assert entry is not None and entry.actor == "admin"
    assert entry.detail["password"] == "changed"
    assert BROKER_PASSWORD not in json.dumps(entry.detail)
    stored = await Setting.get(key="mqtt")  # the connection needs it: kept on the box only
    assert stored.value["password"] == BROKER_PASSWORD

    # Saving again with the password field left empty keeps the saved password.
    user.find(marker="mqtt-base-topic").clear().type("phuong-7")
    user.find(marker="mqtt-save").click()
    await eventually(lambda: topic_of(context.appliance().mqtt), "phuong-7")
    await user.should_see(f"Đã kết nối tới mqtt://{broker.host}:{broker.port}.", retries=100)
    assert context.appliance().mqtt.settings.password.get_secret_value() == BROKER_PASSWORD


async def test_a_wrong_password_shows_a_plain_words_error(
    user: User, add_user: AddUser, mosquitto_factory: Callable[..., RunningBroker]
) -> None:
    broker = mosquitto_factory(username="wardcam", password=BROKER_PASSWORD)
    await open_system_page(user, add_user)
    fill_broker(user, f"mqtt://{broker.host}:{broker.port}", "wardcam", "khong-dung")
    await user.should_see(
        f"Không kết nối được. Máy chủ MQTT tại {broker.host}:{broker.port} từ chối tên đăng nhập hoặc mật khẩu.",
        retries=100,
    )
    assert "khong-dung" not in page_state(user)


async def test_a_bad_address_is_refused_field_by_field(user: User, add_user: AddUser) -> None:
    await open_system_page(user, add_user, language="en")
    user.find("Another broker").click()
    user.find(marker="mqtt-url").clear().type("http://192.168.1.10:1883")
    user.find(marker="mqtt-base-topic").clear().type("wardcam/#")
    user.find(marker="mqtt-save").click()
    await user.should_see("Not saved: check the fields marked in red.")
    url = user.find(marker="mqtt-url").elements.pop()
    assert url.error == "The address must start with mqtt:// or, for an encrypted connection, mqtts://."
    topic = user.find(marker="mqtt-base-topic").elements.pop()
    assert topic.error is not None and topic.error.startswith("Use letters, digits")
    assert await Setting.get_or_none(key="mqtt") is None  # nothing was saved
    assert context.appliance().mqtt.settings.broker == "builtin"
