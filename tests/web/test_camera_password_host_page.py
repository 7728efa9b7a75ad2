"""An admin who moves a camera's stream address to another device is asked for its password again, and
the stored one never reaches that device: not through the form, not through the API.
"""

from __future__ import annotations

from nicegui.testing import User

from appliance.auth.principal import Principal
from appliance.cameras import CameraInput
from appliance.db.models.cameras import Camera
from appliance.db.models.users import Role
from tests.harness.credential_trap import CredentialTrap
from tests.web.conftest import AddUser, log_in
from web import context

SECRET = "bi-mat:@/#%"
ADMIN = Principal(user_id=1, username="admin", display_name="", role=Role.ADMIN, language="vi")
MOVED = "Địa chỉ luồng giờ trỏ tới thiết bị khác (máy chủ, cổng hoặc giao thức khác), nên mật khẩu đã lưu sẽ không"
AGAIN = "Nhập lại mật khẩu của camera vì địa chỉ đã đổi sang thiết bị khác"


async def a_camera_with_a_password() -> Camera:
    data = CameraInput(name="Cổng chợ", main_url="rtsp://127.0.0.1:554/live", username="admin", password=SECRET,
                       enabled=False)  # fmt: skip
    return await context.appliance().cameras.create_camera(data, who=ADMIN)


async def open_cameras_page(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/cameras")


async def test_the_form_asks_for_the_password_again_when_the_address_points_elsewhere(
    user: User, add_user: AddUser
) -> None:
    camera = await a_camera_with_a_password()
    await open_cameras_page(user, add_user)
    user.find(marker=f"edit-{camera.id}").click()
    await user.should_see("Sửa camera Cổng chợ")
    await user.should_not_see(MOVED)
    user.find(marker="main_url").clear().type("rtsp://127.0.0.1:554/other-path")  # same camera: no question
    await user.should_not_see(MOVED)

    async with CredentialTrap() as trap:
        user.find(marker="main_url").clear().type(trap.url)
        await user.should_see(MOVED)
        user.find(marker="test-connection").click()
        await user.should_see(AGAIN)
        user.find(marker="save-camera").click()
        await user.should_see(AGAIN)
        assert trap.received == b""  # nothing was tried
    assert (await Camera.get(id=camera.id)).main_url == "rtsp://127.0.0.1:554/live"

    user.find(marker="password").type("mat-khau-moi")
    await user.should_not_see(MOVED)
    user.find(marker="save-camera").click()
    await user.should_see("Đã lưu camera Cổng chợ.", retries=50)
    stored = await Camera.get(id=camera.id)
    assert (stored.main_url, stored.password) == (trap.url, "mat-khau-moi")


async def test_the_admin_may_move_a_camera_and_remove_its_password_on_purpose(user: User, add_user: AddUser) -> None:
    camera = await a_camera_with_a_password()
    await open_cameras_page(user, add_user)
    user.find(marker=f"edit-{camera.id}").click()
    await user.should_see("Sửa camera Cổng chợ")
    user.find(marker="main_url").clear().type("rtsp://127.0.0.2:8554/live")
    user.find(marker="clear_password").click()
    user.find(marker="save-camera").click()
    await user.should_see("Đã lưu camera Cổng chợ.", retries=50)
    assert (await Camera.get(id=camera.id)).password == ""


async def test_the_api_never_sends_the_stored_password_to_a_moved_address(user: User, add_user: AddUser) -> None:
    camera = await a_camera_with_a_password()
    await open_cameras_page(user, add_user)
    async with CredentialTrap() as trap:
        answer = await user.http_client.post("/api/cameras/test", json={"camera_id": camera.id, "main_url": trap.url,
                                                                        "username": "admin"})  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert answer.json()["main"]["error"] == "auth"
        assert trap.received, "the test reached the new address"
        assert not trap.saw(SECRET), trap.credentials_sent()

        changed = await user.http_client.patch(f"/api/cameras/{camera.id}", json={"main_url": trap.url})
    assert changed.status_code == 200, changed.text
    assert changed.json()["has_password"] is False
    assert (await Camera.get(id=camera.id)).password == ""
    assert SECRET not in changed.text
