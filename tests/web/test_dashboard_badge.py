"""The dashboard's badge tells a camera that is switched on but not yet reported on by the recorder
("Connecting") from one that is switched off ("Disabled"), as the Cameras page does.
"""

from __future__ import annotations

from html.parser import HTMLParser

from nicegui import ui
from nicegui.testing import User

from appliance.db.models.cameras import Camera
from appliance.i18n import t
from tests.web.conftest import AddUser, log_in
from web import context


class Badges(HTMLParser):
    """The status badges of the grid's tiles: camera id -> text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[int, str] = {}
        self._in: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        status = dict(attrs).get("data-status")
        if status is not None:
            self._in = int(status)

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self.found[self._in] = data
            self._in = None


async def test_an_enabled_camera_the_recorder_has_not_reported_on_shows_connecting(
    user: User, add_user: AddUser
) -> None:
    # stored without telling the recorder: the moment between saving a camera and its recorder starting
    starting = await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1:9/cam", enabled=True)
    switched_off = await Camera.create(name="Hẻm 7", main_url="rtsp://127.0.0.1:9/cam2", enabled=False)
    assert context.appliance().recorder.status(starting.id) is None

    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see(marker="grid", retries=50)
    badges = Badges()
    badges.feed(user.find(marker="grid", kind=ui.html).elements.pop().content)
    assert badges.found == {
        starting.id: t("recorder.state.connecting", "vi"),  # "Đang kết nối"
        switched_off.id: t("camera.status.disabled", "vi"),  # "Đã tắt"
    }
