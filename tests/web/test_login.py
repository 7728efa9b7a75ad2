"""Logging in and out, wrong passwords, throttling, and what each role may open."""

from __future__ import annotations

from nicegui.testing import User

from appliance.db.models.audit import AuditEntry
from appliance.db.models.users import Role
from tests.web.conftest import AddUser, eventually, log_in


async def failed_logins() -> int:
    return await AuditEntry.filter(action="auth.login_failed").count()


async def test_an_anonymous_visitor_is_sent_to_login_and_back_after(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await user.open("/users")
    await user.should_see("Đăng nhập WardCam")
    user.find(marker="username").type("admin")
    user.find(marker="password").type("mat-khau-du-dai-1")
    user.find(marker="submit").click()
    await user.should_see("Thêm người dùng", retries=50)


async def test_a_wrong_password_says_so_and_is_audited(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await log_in(user, "admin", "sai-mat-khau-roi")
    await user.should_see("Sai tên đăng nhập hoặc mật khẩu.", retries=50)
    failed = await AuditEntry.filter(action="auth.login_failed").first()
    assert failed is not None and failed.actor == "admin"
    assert "sai-mat-khau-roi" not in str(failed.detail)


async def test_repeated_failures_are_throttled_with_a_clear_message(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await user.open("/login")
    user.find(marker="username").type("admin")
    for attempt in range(1, 6):
        user.find(marker="password").type("sai-mat-khau-roi")
        user.find(marker="submit").click()
        await eventually(failed_logins, attempt)
        await user.should_see("Sai tên đăng nhập hoặc mật khẩu.")
    user.find(marker="password").type("mat-khau-du-dai-1")
    user.find(marker="submit").click()
    await user.should_see("Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau 5 phút.", retries=50)


async def test_logging_out_ends_the_session(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    user.find(marker="logout").click()
    await user.should_see("Đăng nhập WardCam", retries=50)
    response = await user.http_client.get("/", follow_redirects=False)
    assert response.headers["location"].startswith("/login")


async def test_a_viewer_sees_only_the_live_view(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await add_user("xem", Role.VIEWER)
    await log_in(user, "xem")
    await user.should_see("Tổng quan", retries=50)
    await user.should_not_see("Người dùng")
    await user.should_not_see("Hệ thống")
    response = await user.http_client.get("/users")
    assert response.status_code == 403
    assert "Không có quyền truy cập" in response.text


async def test_a_disabled_user_cannot_log_in(user: User, add_user: AddUser) -> None:
    from appliance.db.models.users import User as Account

    await add_user("admin")
    await add_user("cu", Role.OPERATOR)
    await Account.filter(username="cu").update(is_active=False)
    await log_in(user, "cu")
    await user.should_see("Sai tên đăng nhập hoặc mật khẩu.", retries=50)
