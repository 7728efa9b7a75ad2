"""An admin reads the audit log on the Audit page, filters it, checks its chain and exports it."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from appliance.db.models.audit import AuditEntry
from appliance.db.models.users import Role
from tests.web.conftest import AddUser, eventually, log_in


def table(user: User) -> ui.table:
    found = next(iter(user.find(marker="entries").elements))
    assert isinstance(found, ui.table)
    return found


def shown(user: User, column: str) -> list[object]:
    return [row[column] for row in table(user).rows]


def pick_date(user: User, marker: str, day: str | None) -> None:
    """Pick a day in a date field's calendar (the simulated user cannot type into one)."""
    assert user.client is not None
    with user.client:
        for element in user.find(marker=marker).elements:
            assert isinstance(element, ui.date_input)
            element.value = day


async def open_audit_page(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/audit")
    await user.should_see("Nhật ký kiểm tra")


async def test_the_admin_sees_their_own_login_newest_first(user: User, add_user: AddUser) -> None:
    await open_audit_page(user, add_user)
    assert shown(user, "action")[0] == "Đăng nhập"
    assert shown(user, "actor")[0] == "admin"
    assert shown(user, "action")[-1] == "Thêm người dùng"  # the oldest entry: add_user, from the command line
    ids = shown(user, "id")
    assert ids == sorted(ids, reverse=True)
    await user.should_see("Mục 1–2 trong tổng số 2")


async def test_the_admin_filters_by_action(user: User, add_user: AddUser) -> None:
    await add_user("can-bo", Role.OPERATOR)
    await open_audit_page(user, add_user)
    assert set(shown(user, "action")) == {"Đăng nhập", "Thêm người dùng"}
    user.find(marker="action").click()
    user.find("Thêm người dùng").click()
    await user.should_see("Mục 1–2 trong tổng số 2", retries=50)
    assert set(shown(user, "action")) == {"Thêm người dùng"}
    assert set(shown(user, "actor")) == {"cli"}
    user.find(marker="action").click()
    user.find("Đăng nhập").click()
    await user.should_see("Mục 1–1 trong tổng số 1", retries=50)
    user.find(marker="actor").click()
    user.find("cli").click()
    await user.should_see("Không có mục nào khớp với bộ lọc.", retries=50)
    assert table(user).rows == []


async def test_the_admin_filters_by_date(user: User, add_user: AddUser) -> None:
    await open_audit_page(user, add_user)
    pick_date(user, "until", "2020-01-31")
    await user.should_see("Không có mục nào khớp với bộ lọc.", retries=50)
    pick_date(user, "until", None)
    pick_date(user, "since", "2020-01-01")
    await user.should_see("Mục 1–2 trong tổng số 2", retries=50)


async def test_the_admin_verifies_the_chain(user: User, add_user: AddUser) -> None:
    await open_audit_page(user, add_user)
    user.find(marker="verify").click()
    await user.should_see("Nhật ký toàn vẹn: đã kiểm tra 2 mục, không mục nào bị sửa, chèn hay xóa.", retries=50)


async def test_an_edited_entry_is_named_by_the_chain_check(user: User, add_user: AddUser) -> None:
    await open_audit_page(user, add_user)
    first = await AuditEntry.get(action="user.created")
    await AuditEntry.filter(id=first.id).update(actor="ke-gian")
    user.find(marker="verify").click()
    await user.should_see(f"Nhật ký đã bị sửa: mục số {first.id} không khớp với mã băm của nó.", retries=50)


async def test_exporting_downloads_csv_and_is_itself_audited(user: User, add_user: AddUser) -> None:
    await open_audit_page(user, add_user)
    user.find(marker="action").click()
    user.find("Đăng nhập").click()
    await user.should_see("Mục 1–1 trong tổng số 1", retries=50)
    user.find(marker="export").click()
    response = await user.download.next(timeout=5)
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeffid,time_utc,actor,action,")
    lines = text.splitlines()
    assert len(lines) == 2 and ",admin,auth.login," in lines[1]
    await eventually(AuditEntry.filter(action="audit.exported").count, 1)
    entry = await AuditEntry.get(action="audit.exported")
    assert entry.actor == "admin"
    assert entry.detail == {"actor": "", "action": "auth.login", "since": "", "until": "", "rows": 1}
    await user.should_see("Đã xuất 1 mục ra tệp CSV.", retries=50)


async def test_a_viewer_is_refused(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await add_user("xem", Role.VIEWER)
    await log_in(user, "xem")
    await user.should_see("Tổng quan", retries=50)
    await user.should_not_see("Nhật ký kiểm tra")
    response = await user.http_client.get("/audit")
    assert response.status_code == 403
    assert "Không có quyền truy cập" in response.text
