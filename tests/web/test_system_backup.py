"""An admin restores a backup from the System page: a wrong file or passphrase is refused in plain words."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from appliance.db.models.audit import AuditEntry
from tests.web.conftest import AddUser, log_in
from web import context
from web.components.backup import backups


async def upload(user: User, name: str, content: bytes) -> None:
    element = user.find(marker="restore-file").elements.pop()
    assert isinstance(element, ui.upload)
    await element.handle_uploads([ui.upload.SmallFileUpload(name, "application/octet-stream", content)])


async def test_a_bad_file_is_refused_and_a_good_one_is_staged_for_the_next_start(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    good, _ = await backups().create(None, passphrase="phuong 7")
    await user.open("/system")
    await user.should_see("Sao lưu và khôi phục")
    await user.should_see(marker="backup-download")
    await user.should_see("Mật khẩu: chưa đặt")

    await upload(user, "holiday.jpg", b"\xff\xd8\xff a photo, not a backup")
    await user.should_see("Tệp này không phải bản sao lưu WardCam. Không có gì bị thay đổi.", retries=50)

    user.find(marker="restore-passphrase").type("sai mat khau")
    await upload(user, "wardcam-backup.wardcam", good)
    await user.should_see("Sai hoặc thiếu mật khẩu sao lưu (hoặc tệp đã bị sửa). Không có gì bị thay đổi.", retries=50)
    assert not (context.appliance().settings.data_dir / "restore-staged").exists()

    user.find(marker="restore-passphrase").type("phuong 7")
    await upload(user, "wardcam-backup.wardcam", good)
    await user.should_see("đã được kiểm tra và sẽ được áp dụng khi WardCam khởi động lại", retries=50)
    assert (context.appliance().settings.data_dir / "restore-staged" / "wardcam.db").is_file()

    entries = await AuditEntry.filter(action__startswith="backup.restore").order_by("id")
    assert [(e.action, e.actor, e.detail.get("reason")) for e in entries] == [
        ("backup.restore_refused", "admin", "backup.error.not_backup"),
        ("backup.restore_refused", "admin", "backup.error.passphrase"),
        ("backup.restore_staged", "admin", None),
    ]
    assert all("phuong" not in str(e.detail) and "sai" not in str(e.detail) for e in entries)


async def test_the_schedule_refuses_a_folder_inside_the_data_folder(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/system")
    await user.should_see("Sao lưu theo lịch")
    inside = context.appliance().settings.data_dir / "backups"
    inside.mkdir()
    user.find(marker="backup-target").type(str(inside))
    user.find(marker="backup-save").click()
    await user.should_see("Thư mục nằm trong thư mục dữ liệu của WardCam; hãy chọn ổ khác.")
