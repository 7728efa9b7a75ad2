"""The owner's first visit: create the admin account in the browser, in Vietnamese by default."""

from __future__ import annotations

from nicegui.testing import User

from appliance.db.models.users import Role
from appliance.db.models.users import User as Account
from tests.web.conftest import PASSWORD


async def fill_onboarding(
    user: User, username: str = "chu-tich", password: str = PASSWORD, confirm: str | None = None
) -> None:
    await user.should_see("Họ và tên")
    user.find(marker="display_name").type("Nguyễn Thị Hoa")
    user.find(marker="username").type(username)
    user.find(marker="password").type(password)
    user.find(marker="password_confirm").type(confirm if confirm is not None else password)
    user.find("Tạo tài khoản và bắt đầu").click()


async def test_a_fresh_appliance_leads_every_page_to_onboarding(user: User) -> None:
    await user.open("/users")
    await user.should_see("Chào mừng đến với WardCam")
    await user.open("/system")
    await user.should_see("Tạo tài khoản và bắt đầu")


async def test_the_owner_creates_the_admin_and_lands_on_the_dashboard(user: User) -> None:
    await user.open("/")
    await fill_onboarding(user)
    await user.should_see("Tổng quan", retries=50)
    await user.should_see("Nguyễn Thị Hoa")
    owner = await Account.get(username="chu-tich")
    assert owner.role == Role.ADMIN
    assert owner.password_hash.startswith("$argon2id$")
    assert PASSWORD not in owner.password_hash


async def test_onboarding_closes_once_a_user_exists(user: User) -> None:
    await user.open("/onboarding")
    await fill_onboarding(user)
    await user.should_see("Tổng quan", retries=50)
    response = await user.http_client.get("/onboarding", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert await Account.all().count() == 1


async def test_onboarding_can_be_done_in_english(user: User) -> None:
    await user.open("/onboarding?lang=en")
    await user.should_see("Welcome to WardCam")
    user.find(marker="display_name").type("Ward Owner")
    user.find(marker="username").type("owner")
    user.find(marker="password").type(PASSWORD)
    user.find(marker="password_confirm").type(PASSWORD)
    user.find("Create the account and start").click()
    await user.should_see("Dashboard", retries=50)
    assert (await Account.get(username="owner")).language == "en"


async def test_a_short_password_is_refused_with_a_clear_message(user: User) -> None:
    await user.open("/onboarding")
    await fill_onboarding(user, password="ngan")
    await user.should_see("Mật khẩu quá ngắn hoặc quá đơn giản: cần ít nhất 10 ký tự.", retries=50)
    assert await Account.all().count() == 0


async def test_mismatched_passwords_are_refused(user: User) -> None:
    await user.open("/onboarding")
    await fill_onboarding(user, confirm="mot-mat-khau-khac")
    await user.should_see("Hai mật khẩu không khớp.", retries=50)
    assert await Account.all().count() == 0


async def test_a_username_with_spaces_is_refused(user: User) -> None:
    await user.open("/onboarding")
    await fill_onboarding(user, username="chu tich")
    await user.should_see(
        "Tên đăng nhập gồm 2–64 ký tự: chữ không dấu, số, dấu chấm, gạch dưới hoặc gạch ngang.", retries=50
    )
    assert await Account.all().count() == 0
