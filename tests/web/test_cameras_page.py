"""An admin adds, tests, edits and deletes cameras on the Cameras page, and moves them through a spreadsheet.

The cameras are real: the session's synthetic RTSP cameras, or a server of the test's own that asks
for a password with every character that breaks a URL (@ : / # %).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nicegui import ui
from nicegui.testing import User

from appliance.auth.principal import Principal
from appliance.cameras import CameraInput, SiteInput
from appliance.db.models.cameras import Camera, Site
from appliance.db.models.recordings import Segment
from appliance.db.models.users import Role
from appliance.demo.cameras import BlockingSyntheticCameras
from appliance.i18n import t
from appliance.net import free_port
from tests.web.conftest import AddUser, eventually, log_in
from web import context

TRICKY_PASSWORD = "p@ss:w/rd#%"
ENCODED_PASSWORD = "p%40ss%3Aw%2Frd%23%25"
SEES = 150  # tries of 0.1 s: a probe takes about 3 s, the first recorded seconds about 5 s
WORKING = "Luồng chính: H.264 · 640×360 · 10 hình/giây · Không có âm thanh"

ADMIN = Principal(user_id=1, username="admin", display_name="", role=Role.ADMIN, language="vi")

ServerFactory = Callable[..., BlockingSyntheticCameras]


async def open_cameras_page(user: User, add_user: AddUser, path: str = "/cameras") -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    await user.open(path)


async def add_camera(name: str, url: str, **fields: object) -> Camera:
    """Add a camera the way another admin would have, through the service."""
    data = CameraInput.model_validate({"name": name, "main_url": url, **fields})
    return await context.appliance().cameras.create_camera(data, who=ADMIN)


def everything_sent_to_the_browser(user: User) -> str:
    """Return what the browser holds of the page: every element as NiceGUI sends it."""
    assert user.client is not None
    return json.dumps([e._to_dict() for e in user.client.elements.values()], default=str, ensure_ascii=False)


def wrong_port_url() -> str:
    return f"rtsp://127.0.0.1:{free_port()}/cam1"


async def test_the_admin_adds_a_camera_after_testing_its_connection(
    user: User, add_user: AddUser, rtsp_cameras: BlockingSyntheticCameras
) -> None:
    await open_cameras_page(user, add_user)
    await user.should_see("Chưa có camera nào.")
    user.find("Thêm camera").click()
    await user.should_see("Địa chỉ luồng chính")
    user.find(marker="name").type("Cổng chợ – hướng Bắc")
    user.find(marker="main_url").type(rtsp_cameras.urls[0])
    user.find(marker="test-connection").click()
    await user.should_see("Đang kiểm tra kết nối (tối đa 10 giây)…")
    await user.should_see(WORKING, retries=SEES)

    user.find(marker="save-camera").click()
    await user.should_see("Đã lưu camera Cổng chợ – hướng Bắc.", retries=50)
    camera = await Camera.get(name="Cổng chợ – hướng Bắc")
    assert (camera.main_url, camera.enabled, camera.retention_days) == (rtsp_cameras.urls[0], True, 30)
    await user.should_see("Cổng chợ – hướng Bắc")  # in the list; the next test sees a camera start recording


async def test_a_wrong_password_or_port_is_explained_and_a_password_with_url_characters_works(
    user: User, add_user: AddUser, rtsp_server_factory: ServerFactory
) -> None:
    camera = rtsp_server_factory(cameras=1, user="admin", password=TRICKY_PASSWORD)
    await open_cameras_page(user, add_user)
    user.find("Thêm camera").click()
    await user.should_see("Địa chỉ luồng chính")
    user.find(marker="name").type("Hẻm 12 – đầu hẻm")
    user.find(marker="main_url").type(camera.urls[0])
    user.find(marker="username").type("admin")
    user.find(marker="password").type("sai-mat-khau")
    user.find(marker="test-connection").click()
    await user.should_see("Luồng chính: Sai tên đăng nhập hoặc mật khẩu của camera.", retries=SEES)

    user.find(marker="main_url").clear().type(wrong_port_url())
    user.find(marker="test-connection").click()
    await user.should_see("Luồng chính: Không kết nối được tới camera: kiểm tra địa chỉ, nguồn điện và dây mạng.",
                          retries=SEES)  # fmt: skip

    user.find(marker="main_url").clear().type(camera.urls[0])
    user.find(marker="password").clear().type(TRICKY_PASSWORD)
    user.find(marker="test-connection").click()
    await user.should_see(WORKING, retries=SEES)
    user.find(marker="save-camera").click()
    await user.should_see("Đã lưu camera Hẻm 12 – đầu hẻm.", retries=50)
    assert (await Camera.get(name="Hẻm 12 – đầu hẻm")).password == TRICKY_PASSWORD
    await user.should_see("Đang ghi", retries=SEES)  # the recorder got in with the encoded password too


async def test_each_field_says_what_is_wrong_with_it(user: User, add_user: AddUser) -> None:
    await open_cameras_page(user, add_user)
    user.find("Thêm camera").click()
    await user.should_see("Địa chỉ luồng chính")
    user.find(marker="main_url").type("rtsp://admin:123456@192.168.1.64/live")
    user.find(marker="sub_url").type("ftp://192.168.1.64/sub")
    user.find(marker="retention_days").clear()
    user.find(marker="save-camera").click()
    await user.should_see(t("error.field.missing"))  # the name
    await user.should_see("Không ghi tên đăng nhập hoặc mật khẩu vào địa chỉ: hãy nhập chúng vào ô Tên đăng nhập"
                          " và Mật khẩu.")  # fmt: skip
    await user.should_see("Địa chỉ luồng phải bắt đầu bằng rtsp://, rtsps://, http:// hoặc https://.")
    await user.should_see("Cần một số nguyên.")
    assert await Camera.all().count() == 0

    await add_camera("Cổng chợ", "rtsp://192.168.1.64/live", enabled=False)
    user.find(marker="name").type("Cổng chợ")
    user.find(marker="main_url").clear().type("rtsp://192.168.1.65/live")
    user.find(marker="sub_url").clear()
    user.find(marker="retention_days").type("30")
    user.find(marker="save-camera").click()
    await user.should_see('Đã có camera tên "Cổng chợ".')
    assert await Camera.all().count() == 1


async def test_editing_keeps_the_password_that_is_left_blank_and_never_shows_it(
    user: User, add_user: AddUser, rtsp_server_factory: ServerFactory
) -> None:
    server = rtsp_server_factory(cameras=1, user="admin", password=TRICKY_PASSWORD)
    camera = await add_camera("Ngã ba – cột đèn 4", server.urls[0], username="admin", password=TRICKY_PASSWORD,
                              enabled=False)  # fmt: skip
    await open_cameras_page(user, add_user)
    user.find(marker=f"edit-{camera.id}").click()
    await user.should_see("Sửa camera Ngã ba – cột đèn 4")
    assert user.find(marker="password").elements.pop().value == ""
    user.find(marker="test-connection").click()  # with the stored password
    await user.should_see(WORKING, retries=SEES)

    user.find(marker="retention_days").clear().type("90")
    user.find(marker="save-camera").click()
    await user.should_see("Đã lưu camera Ngã ba – cột đèn 4.", retries=50)
    stored = await Camera.get(id=camera.id)
    assert (stored.retention_days, stored.password) == (90, TRICKY_PASSWORD)

    user.find(marker=f"edit-{camera.id}").click()
    await user.should_see("Đã lưu mật khẩu. Để trống để giữ nguyên.", retries=20)
    page = everything_sent_to_the_browser(user)
    assert "Ngã ba – cột đèn 4" in page
    assert TRICKY_PASSWORD not in page and ENCODED_PASSWORD not in page
    for path in ("/api/cameras", f"/api/cameras/{camera.id}", "/api/cameras.csv", "/cameras"):
        response = await user.http_client.get(path)
        assert response.status_code == 200, path
        assert "Ngã ba" in response.text, path
        assert TRICKY_PASSWORD not in response.text and ENCODED_PASSWORD not in response.text, path


async def test_deleting_a_camera_keeps_or_deletes_its_recordings_as_asked(user: User, add_user: AddUser) -> None:
    recordings = Path(context.appliance().settings.data_dir) / "recordings"
    kept = await add_camera("Camera cũ", "rtsp://192.168.1.64/live", enabled=False)
    gone = await add_camera("Camera hỏng", "rtsp://192.168.1.65/live", enabled=False)
    for camera in (kept, gone):
        relative = f"{camera.id}/2025-01-01/08-00-00.mp4"
        (recordings / relative).parent.mkdir(parents=True)
        (recordings / relative).write_bytes(b"\0" * 1000)
        start = datetime(2025, 1, 1, 8, tzinfo=UTC)
        await Segment.create(camera_id=camera.id, start=start, end=start + timedelta(seconds=10), duration_s=10,
                             size=1000, path=relative)  # fmt: skip

    await open_cameras_page(user, add_user)
    user.find(marker=f"delete-{kept.id}").click()
    await user.should_see("Xóa camera Camera cũ?")
    user.find(marker="confirm-delete").click()
    await user.should_see("Đã xóa camera Camera cũ; các bản ghi được giữ lại.", retries=50)
    assert not await Camera.exists(id=kept.id)
    assert (recordings / str(kept.id)).is_dir() and await Segment.filter(path__startswith=f"{kept.id}/").exists()

    user.find(marker=f"delete-{gone.id}").click()
    await user.should_see("Xóa camera Camera hỏng?")
    user.find("Xóa luôn mọi bản ghi của camera này").click()
    user.find(marker="confirm-delete").click()
    await user.should_see("Đã xóa camera Camera hỏng cùng mọi bản ghi của nó.", retries=50)
    assert not await Camera.exists(id=gone.id)
    assert not (recordings / str(gone.id)).exists()
    assert not await Segment.filter(path__startswith=f"{gone.id}/").exists()
    await user.should_see("Chưa có camera nào.")


async def test_the_list_shows_one_site_when_the_map_links_to_it(user: User, add_user: AddUser) -> None:
    service = context.appliance().cameras
    market = await service.create_site(SiteInput(name="Chợ Bến Thành"), who=ADMIN)
    await add_camera("Cổng chợ", "rtsp://192.168.1.64/live", site_id=market.id, enabled=False)
    await add_camera("Hẻm 7", "rtsp://192.168.1.65/live", enabled=False)
    await open_cameras_page(user, add_user, f"/cameras?site={market.id}")
    await user.should_see("Cổng chợ")
    await user.should_not_see("Hẻm 7")
    await user.should_see("Đã tắt ghi hình")

    user.find(marker="site-filter").click()
    user.find("Tất cả các điểm").click()
    await user.should_see("Hẻm 7")


async def test_the_admin_exports_the_cameras_and_imports_a_sheet_after_a_preview(user: User, add_user: AddUser) -> None:
    await add_camera("Cổng chợ", "rtsp://192.168.1.64/live", username="admin", password=TRICKY_PASSWORD,
                     enabled=False)  # fmt: skip
    await open_cameras_page(user, add_user)
    user.find(marker="export-csv").click()
    exported = await user.download.next(timeout=5)
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    assert "Cổng chợ,,rtsp://192.168.1.64/live,,admin,,no,30,copy" in exported.text
    assert TRICKY_PASSWORD not in exported.text and ENCODED_PASSWORD not in exported.text

    sheet = (
        "name,site,main_url,password,enabled\n"
        "Cổng chợ,Chợ Bến Thành,rtsp://192.168.1.64/live,,no\n"
        f"Hẻm 7 – đầu hẻm,Hẻm 7 Lê Lợi,rtsp://10.0.0.7/live,{TRICKY_PASSWORD},không\n"
        "Hẻm 7 – cuối hẻm,Hẻm 7 Lê Lợi,http//10.0.0.8/live,,không\n"
    )
    user.find("Nhập từ CSV").click()
    upload = user.find(ui.upload).elements.pop()
    await upload.handle_uploads([ui.upload.SmallFileUpload("camera.csv", "text/csv", sheet.encode())])
    await user.should_see("2 dòng sẽ được lưu, 1 dòng có lỗi.")
    await user.should_see("Cập nhật: Điểm camera")
    await user.should_see("Thêm camera mới")
    await user.should_see("Hẻm 7 Lê Lợi (điểm mới)")
    await user.should_see("Địa chỉ luồng chính: Địa chỉ luồng phải bắt đầu bằng rtsp://")
    assert await Camera.all().count() == 1  # nothing is saved before the admin says so

    user.find("Nhập 2 camera").click()
    await user.should_see("Đã thêm 1 camera, cập nhật 1 camera, tạo 2 điểm mới.", retries=50)
    await eventually(Camera.all().count, 2)
    added = await Camera.get(name="Hẻm 7 – đầu hẻm").prefetch_related("site")
    assert (added.site.name, added.password, added.enabled) == ("Hẻm 7 Lê Lợi", TRICKY_PASSWORD, False)
    assert (await Camera.get(name="Cổng chợ").prefetch_related("site")).site.name == "Chợ Bến Thành"
    await user.should_see("Hẻm 7 – đầu hẻm")
    assert await Site.all().count() == 2


async def test_the_api_tests_a_connection_in_the_callers_language(
    user: User, add_user: AddUser, rtsp_cameras: BlockingSyntheticCameras
) -> None:
    await open_cameras_page(user, add_user)
    answer = await user.http_client.post("/api/cameras/test", json={"main_url": rtsp_cameras.urls[1],
                                                                    "sub_url": wrong_port_url()})  # fmt: skip
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {k: body["main"][k] for k in ("ok", "video_codec", "width", "height", "fps", "audio_codec")} == {
        "ok": True, "video_codec": "h264", "width": 640, "height": 360, "fps": 10.0, "audio_codec": None}  # fmt: skip
    assert (body["sub"]["ok"], body["sub"]["error"]) == (False, "unreachable")
    assert body["sub"]["error_message"].startswith("Không kết nối được tới camera")

    refused = await user.http_client.post("/api/cameras/test", json={"main_url": "rtsp://u:p@127.0.0.1/x"})
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"]["main_url"].startswith("Không ghi tên đăng nhập hoặc mật khẩu")


async def test_a_script_imports_a_csv_file_through_the_api_after_a_preview(user: User, add_user: AddUser) -> None:
    await open_cameras_page(user, add_user)
    sheet = ("name;main_url;site\nCổng chợ;rtsp://192.168.1.64/live;Chợ Bến Thành\nHỏng;rtsp://;\n").encode()
    headers = {"Content-Type": "text/csv"}

    preview = await user.http_client.post("/api/cameras.csv", content=sheet, headers=headers)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert [(r["line"], r["name"], r["action"], r["new_site"]) for r in body["rows"]] == [
        (2, "Cổng chợ", "add", True), (3, "Hỏng", "error", False)]  # fmt: skip
    assert body["rows"][1]["errors"] == {"main_url": "Địa chỉ thiếu máy chủ của camera, ví dụ "
                                         "rtsp://192.168.1.64:554/stream1."}  # fmt: skip
    assert (body["to_save"], body["with_errors"], body["saved"]) == (1, 1, None)
    assert await Camera.all().count() == 0

    saved = await user.http_client.post("/api/cameras.csv", params={"commit": "true"}, content=sheet, headers=headers)
    assert saved.json()["saved"] == {"added": 1, "updated": 0, "sites_added": 1}
    assert await Camera.filter(name="Cổng chợ", site__name="Chợ Bến Thành").exists()

    empty = await user.http_client.post("/api/cameras.csv", content=b"ten,dia chi\n", headers=headers)
    assert empty.status_code == 422
    message = empty.json()["error"]["message"]
    assert message == "Tệp thiếu cột bắt buộc: name, main_url. Dòng đầu tiên phải ghi tên các cột."
