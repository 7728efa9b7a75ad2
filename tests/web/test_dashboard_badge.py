"""The dashboard's badge tells a camera that is switched on but not yet reported on by the recorder
("Connecting") from one that is switched off ("Disabled"), as the Cameras page does.
"""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from appliance.db.models.cameras import Camera
from appliance.i18n import t
from tests.web.conftest import AddUser, log_in
from web import context


async def test_an_enabled_camera_the_recorder_has_not_reported_on_shows_connecting(
    user: User, add_user: AddUser
) -> None:
    # stored without telling the recorder: the moment between saving a camera and its recorder starting
    starting = await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1:9/cam", enabled=True)
    switched_off = await Camera.create(name="Hẻm 7", main_url="rtsp://127.0.0.1:9/cam2", enabled=False)
    assert context.appliance().recorder.status(starting.id) is None

    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Cổng chợ", retries=50)
    badges = {int(b.props["data-status"]): b.text for b in user.find(kind=ui.badge).elements}
    assert badges == {
        starting.id: t("recorder.state.connecting", "vi"),  # "Đang kết nối"
        switched_off.id: t("camera.status.disabled", "vi"),  # "Đã tắt"
    }
