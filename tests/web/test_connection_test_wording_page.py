"""On the Cameras page, an address with an empty port is refused beside the field, and a connection test
that fails for an odd reason says so in connection-test words, not in the recorder's.
"""

from __future__ import annotations

from nicegui.testing import User

from tests.harness.busy_camera import BusyCamera
from tests.web.conftest import AddUser, log_in

EMPTY_PORT = "Cổng sau dấu hai chấm phải là một số từ 1 đến 65535, ví dụ rtsp://192.168.1.64:554/stream1"
ODD_FAILURE = "Luồng chính: Kiểm tra kết nối thất bại vì một lý do WardCam không xác định được"
RECORDER_WORDS = "Ghi hình bị dừng vì một lỗi chưa rõ; WardCam đang thử lại."


async def open_new_camera_form(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/cameras")
    user.find("Thêm camera").click()
    await user.should_see("Địa chỉ luồng chính")


async def test_an_empty_port_is_refused_beside_the_address(user: User, add_user: AddUser) -> None:
    await open_new_camera_form(user, add_user)
    user.find(marker="name").type("Cổng chợ")
    user.find(marker="main_url").type("rtsp://127.0.0.1:/cam1")
    user.find(marker="test-connection").click()
    await user.should_see(EMPTY_PORT)
    await user.should_not_see("Đang kiểm tra kết nối")
    user.find(marker="save-camera").click()
    await user.should_see(EMPTY_PORT)


async def test_an_odd_failure_is_told_in_connection_test_words(user: User, add_user: AddUser) -> None:
    await open_new_camera_form(user, add_user)
    async with BusyCamera() as camera:
        user.find(marker="main_url").type(camera.url)
        user.find(marker="test-connection").click()
        await user.should_see(ODD_FAILURE, retries=100)
        await user.should_not_see(RECORDER_WORDS)

        answer = await user.http_client.post("/api/cameras/test", json={"main_url": camera.url})
    assert answer.status_code == 200, answer.text
    main = answer.json()["main"]
    assert (main["ok"], main["error"]) == (False, "unknown")
    assert main["error_message"].startswith("Kiểm tra kết nối thất bại") and "đang thử lại" not in main["error_message"]

    refused = await user.http_client.post("/api/cameras/test", json={"main_url": "rtsp://127.0.0.1:/cam1"})
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"]["main_url"].startswith(EMPTY_PORT)
