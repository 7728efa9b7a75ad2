"""An admin draws a zone and a mask on a camera's picture on the motion page, and saves them."""

from __future__ import annotations

import base64
import json

from nicegui.testing import User

from addons import motion
from addons.motion.page import jpeg_size
from appliance.cameras import CameraInput
from appliance.db.models.audit import AuditEntry
from appliance.demo.cameras import BlockingSyntheticCameras
from appliance.net import free_port
from tests.addons.motion.helpers import ADMIN
from tests.harness.waiting import until
from tests.web.conftest import AddUser, add_user, log_in, user  # noqa: F401  (the panel, without a browser)
from web import context


def click(person: User, x: int, y: int) -> None:
    """Click the camera's picture at a point given on a 640x360 frame, scaled to the picture shown: the live
    view's keyframe (640 wide), or motion detection's own frame (320 wide) when no keyframe came in time."""
    image = next(iter(person.find(marker="motion-image").elements))
    size = jpeg_size(base64.b64decode(str(image.source).split(",", 1)[1]))
    assert size is not None
    width, height = size
    person.find(marker="motion-image").trigger(
        "mouse", {"mouse_event_type": "click", "image_x": x * width / 640, "image_y": y * height / 360}
    )


async def test_the_admin_draws_a_zone_and_a_mask_and_saves_them_for_the_camera(
    user: User,  # noqa: F811
    add_user: AddUser,  # noqa: F811
    rtsp_cameras: BlockingSyntheticCameras,
) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    camera = await context.appliance().cameras.create_camera(
        CameraInput(name="Cổng chợ", main_url=rtsp_cameras.urls[2]), who=ADMIN
    )
    assert (await user.http_client.post("/api/addons/motion/enable")).status_code == 200

    await user.open("/addon/motion/cameras")
    await user.should_see("Chưa có vùng nào: chuyển động ở bất cứ đâu trên hình đều được tính.")
    await user.should_see("Đang theo dõi (3 hình/giây).", retries=100)
    image = next(iter(user.find(marker="motion-image").elements))
    await until(lambda: str(image.source).startswith("data:image/jpeg;base64,"), 5, "the camera's picture shown")

    click(user, 0, 0)
    click(user, 320, 0)
    user.find(marker="motion-finish").click()
    await user.should_see("Một hình cần ít nhất 3 góc.")
    user.find(marker="motion-zone-name").type("Lối vào chợ")
    click(user, 320, 360)
    click(user, 0, 360)
    user.find(marker="motion-finish").click()
    await user.should_see('Vùng theo dõi "Lối vào chợ" (4 góc)')

    user.find("Vẽ vùng bỏ qua").click()
    for x, y in ((480, 0), (640, 0), (640, 90)):
        click(user, x, y)
    click(user, 560, 30)
    user.find(marker="motion-undo").click()  # a corner placed by mistake
    user.find(marker="motion-finish").click()
    await user.should_see("Vùng bỏ qua (3 góc)")
    user.find(marker="motion-save").click()
    await user.should_see("Đã lưu cài đặt phát hiện chuyển động.")

    settings = motion.running().detection.store.get(camera.id)
    assert [(zone.name, zone.points) for zone in settings.zones] == [
        ("Lối vào chợ", ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)))
    ]
    assert [mask.points for mask in settings.masks] == [((0.75, 0.0), (1.0, 0.0), (1.0, 0.25))]
    saved = json.loads((context.appliance().settings.data_dir / "addons" / "motion" / "cameras.json").read_text())
    assert saved[str(camera.id)]["zones"][0]["name"] == "Lối vào chợ"
    entry = await AuditEntry.filter(action="addon.motion.settings_changed").first()
    assert entry is not None and entry.actor == "admin" and entry.detail["zones"] == ["Lối vào chợ"]

    await user.open("/addon/motion/cameras")  # drawn again from what was saved
    await user.should_see('Vùng theo dõi "Lối vào chợ" (4 góc)')
    user.find(marker="motion-clear").click()
    await user.should_see("Chưa có vùng nào")
    assert motion.running().detection.store.get(camera.id).zones  # nothing changes until Save


async def test_a_camera_that_cannot_be_read_says_why_on_the_page(
    user: User,  # noqa: F811
    add_user: AddUser,  # noqa: F811
) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    nowhere = f"rtsp://127.0.0.1:{free_port()}/cam1"
    await context.appliance().cameras.create_camera(CameraInput(name="Hẻm 9", main_url=nowhere), who=ADMIN)
    assert (await user.http_client.post("/api/addons/motion/enable")).status_code == 200

    await user.open("/addon/motion/cameras")
    await user.should_see("Không đọc được camera: Không kết nối được tới camera: kiểm tra địa chỉ, nguồn điện và dây "
                          "mạng. Sẽ tự thử lại.", retries=100)  # fmt: skip
    await user.should_see("Camera chưa gửi hình nào.")
    assert context.appliance().addons.get("motion").running
