"""An admin manages users and API tokens on the Users page; everyone manages their own account."""

from __future__ import annotations

from nicegui.testing import User

from appliance.auth.secrets import token_hash
from appliance.db.models.users import ApiToken, Role, Session
from appliance.db.models.users import User as Account
from tests.web.conftest import PASSWORD, AddUser, eventually, log_in
from web import context


async def open_users_page(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/users")


async def test_the_admin_adds_a_patrol_viewer(user: User, add_user: AddUser) -> None:
    await open_users_page(user, add_user)
    user.find("Thêm người dùng").click()
    user.find(marker="username").type("tuan-tra-1")
    user.find(marker="display_name").type("Đội tuần tra số 1")
    user.find(marker="password").type("mat-khau-tuan-tra")
    user.find(marker="role").click()
    user.find("Người xem").click()
    user.find("Lưu").click()
    await user.should_see("Đã thêm người dùng tuan-tra-1.", retries=50)
    created = await Account.get(username="tuan-tra-1")
    assert created.role == Role.VIEWER
    assert created.display_name == "Đội tuần tra số 1"


async def test_a_duplicate_username_is_refused_and_nothing_changes(user: User, add_user: AddUser) -> None:
    await open_users_page(user, add_user)
    user.find("Thêm người dùng").click()
    user.find(marker="username").type("admin")
    user.find(marker="password").type("mot-mat-khau-khac")
    user.find("Lưu").click()
    await user.should_see("Tên đăng nhập này đã có người dùng.", retries=50)
    assert await Account.all().count() == 1


async def test_a_weak_password_is_refused_when_adding_a_user(user: User, add_user: AddUser) -> None:
    await open_users_page(user, add_user)
    user.find("Thêm người dùng").click()
    user.find(marker="username").type("moi")
    user.find(marker="password").type("123")
    user.find("Lưu").click()
    await user.should_see("Mật khẩu quá ngắn hoặc quá đơn giản: cần ít nhất 10 ký tự.", retries=50)
    assert not await Account.exists(username="moi")


async def test_the_admin_disables_a_user_and_their_session_ends(user: User, add_user: AddUser) -> None:
    await add_user("can-bo", Role.OPERATOR)
    await context.appliance().accounts.login("can-bo", PASSWORD, "127.0.0.1")
    assert await Session.filter(user__username="can-bo").count() == 1
    await open_users_page(user, add_user)
    user.find(marker="edit-can-bo").click()
    await user.should_see("Sửa người dùng can-bo", retries=50)
    user.find(marker="active").click()
    user.find("Lưu").click()
    await user.should_see("Đã lưu thay đổi.", retries=50)
    assert not (await Account.get(username="can-bo")).is_active
    assert await Session.filter(user__username="can-bo").count() == 0


async def test_the_last_admin_cannot_demote_themselves(user: User, add_user: AddUser) -> None:
    await open_users_page(user, add_user)
    user.find(marker="edit-admin").click()
    await user.should_see("Sửa người dùng admin", retries=50)
    user.find(marker="role").click()
    user.find("Người xem").click()
    user.find("Lưu").click()
    await user.should_see("Không thể bỏ quyền hoặc khóa quản trị viên cuối cùng.", retries=50)
    assert (await Account.get(username="admin")).role == Role.ADMIN


async def test_the_admin_resets_a_password(user: User, add_user: AddUser) -> None:
    await add_user("can-bo", Role.OPERATOR)
    await open_users_page(user, add_user)
    user.find(marker="reset-can-bo").click()
    user.find(marker="new_password").type("mat-khau-moi-dai")
    user.find("Lưu").click()
    await user.should_see("Đã đặt mật khẩu mới. Người dùng phải đăng nhập lại.", retries=50)
    result = await context.appliance().accounts.login("can-bo", "mat-khau-moi-dai", "127.0.0.1")
    assert result.principal.username == "can-bo"


async def test_a_token_is_shown_once_and_only_its_hash_is_stored(user: User, add_user: AddUser) -> None:
    await open_users_page(user, add_user)
    user.find("Tạo mã truy cập").click()
    await user.should_see(marker="token_name", retries=50)
    user.find(marker="token_name").type("Home Assistant")
    user.find(marker="save-token").click()
    await eventually(ApiToken.all().count, 1)
    await user.should_see("Hãy sao chép mã này ngay: nó sẽ không hiện lại.", retries=50)
    shown = next(iter(user.find(marker="new-token").elements))
    token = shown.value
    assert token.startswith("wct_")
    row = await ApiToken.get()
    assert row.token_hash == token_hash(token)
    assert token not in (row.token_hash, row.prefix)
    response = await user.http_client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["username"] == "admin"


async def test_everyone_changes_their_own_language(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await add_user("xem", Role.VIEWER, PASSWORD)
    await log_in(user, "xem")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/account")
    user.find(marker="language").click()
    user.find("English").click()
    user.find(marker="save-language").click()
    await eventually(lambda: Account.get(username="xem").values_list("language", flat=True), "en")
    await user.open("/")
    await user.should_see("Dashboard")


async def test_everyone_changes_their_own_password(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/account")
    user.find(marker="current_password").type("sai-mat-khau-roi")
    user.find(marker="new_password").type("mat-khau-moi-dai")
    user.find(marker="password_confirm").type("mat-khau-moi-dai")
    user.find(marker="change-password").click()
    await user.should_see("Mật khẩu hiện tại không đúng.", retries=50)
    user.find(marker="current_password").clear().type(PASSWORD)
    user.find(marker="change-password").click()
    await user.should_see("Đã đổi mật khẩu.", retries=50)
