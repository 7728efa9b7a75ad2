"""An admin enables the Home Assistant add-on and reads on its page what Home Assistant was told, and when."""

from __future__ import annotations

from collections.abc import Callable

from nicegui.testing import User

from appliance.cameras import CameraInput
from appliance.demo.cameras import BlockingSyntheticCameras
from appliance.mqtt import MqttState
from tests.addons.homeassistant.stand_in import ADMIN, HomeAssistantSide, arrives
from tests.harness.fixtures import RunningBroker
from tests.web.conftest import AddUser, add_user, log_in, user  # noqa: F401  (the panel, without a browser)
from web import context


async def test_the_page_counts_the_cameras_announced_and_shows_when_home_assistant_last_came_online(
    user: User,  # noqa: F811
    add_user: AddUser,  # noqa: F811
    broker: RunningBroker,
    rtsp_cameras: BlockingSyntheticCameras,
    home_assistant: Callable[[], HomeAssistantSide],
) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    appliance = context.appliance()
    for name, url in zip(["Cổng chợ", "Hẻm 12"], rtsp_cameras.urls, strict=False):
        await appliance.cameras.create_camera(CameraInput(name=name, main_url=url), who=ADMIN)
    answer = await user.http_client.put(
        "/api/mqtt", json={"broker": "external", "url": f"mqtt://127.0.0.1:{broker.port}"}
    )
    assert answer.status_code == 200, answer.text
    await arrives(lambda: appliance.mqtt.status.state == MqttState.CONNECTED, "WardCam connecting to MQTT")
    answer = await user.http_client.put("/api/addons/homeassistant/options", json={"snapshot_interval_s": 0})
    assert answer.status_code == 200, answer.text
    assert (await user.http_client.post("/api/addons/homeassistant/enable")).status_code == 200

    await user.open("/addon/homeassistant/status")
    await user.should_see("Số camera đã báo cho Home Assistant: 2 (tiền tố discovery homeassistant).")
    await user.should_see("Lần gần nhất Home Assistant báo đang trực tuyến (homeassistant/status): —.")

    home_assistant().publish("homeassistant/status", b"online")
    await user.should_not_see("Lần gần nhất Home Assistant báo đang trực tuyến (homeassistant/status): —.", retries=50)
    await user.should_see("Lần gần nhất Home Assistant báo đang trực tuyến (homeassistant/status): ")
