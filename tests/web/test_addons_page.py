"""Ward staff turn an add-on on, configure it with a generated form, and turn it off, all in the browser."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from nicegui.testing import User

from appliance.db.models.addons import AddonState
from tests.web.conftest import AddUser, eventually, log_in
from web import context


def load_example() -> ModuleType:
    """Import the example add-on from its source folder, without installing it."""
    package = Path(__file__).resolve().parents[2] / "docs" / "examples" / "wardcam-hello" / "wardcam_hello"
    spec = importlib.util.spec_from_file_location("wardcam_hello", package / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


wardcam_hello = load_example()


async def open_addons(user: User, add_user: AddUser) -> None:
    context.appliance().addons.register_module(wardcam_hello, "wardcam-hello 1.0.0")
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/addons")


async def addon_running() -> bool:
    return context.appliance().addons.get("hello").running


async def test_staff_enable_an_addon_and_its_page_appears(user: User, add_user: AddUser) -> None:
    await open_addons(user, add_user)
    await user.should_see("Hello")
    await user.should_see("Đã tắt")
    user.find(marker="enable-hello").click()
    await eventually(addon_running, True)
    await user.should_see("Tiện ích đã bật.", retries=50)
    await user.open("/addon/hello/status")
    await user.should_see("Xin chào")


async def test_the_generated_form_shows_errors_per_field_and_saves_valid_options(user: User, add_user: AddUser) -> None:
    await open_addons(user, add_user)
    user.find(marker="options-hello").click()
    await user.should_see(marker="option-repeat", retries=50)
    user.find(marker="option-greeting").clear().type("Chào tổ tuần tra")
    user.find(marker="option-repeat").clear().type("9")
    user.find(marker="save-options").click()
    await user.should_see("Phải nhỏ hơn hoặc bằng 5.", retries=50)
    assert not await AddonState.exists(name="hello")
    user.find(marker="option-repeat").clear().type("2")
    user.find(marker="save-options").click()
    await user.should_see("Đã lưu tùy chọn.", retries=50)
    stored = await AddonState.get(name="hello")
    assert stored.options == {"greeting": "Chào tổ tuần tra", "repeat": 2}


async def test_an_addon_that_fails_to_start_shows_its_error(
    user: User, add_user: AddUser, caplog: pytest.LogCaptureFixture
) -> None:
    await open_addons(user, add_user)
    original = wardcam_hello.wardcam_setup

    def failing_setup(ctx: object, options: object) -> None:
        raise ConnectionError("không kết nối được")

    wardcam_hello.wardcam_setup = wardcam_hello.hookimpl(failing_setup)  # type: ignore[attr-defined]
    try:
        user.find(marker="enable-hello").click()
        await user.should_see("Tiện ích không khởi động được: ConnectionError: không kết nối được", retries=50)
        await user.should_see("Lỗi: ConnectionError: không kết nối được", retries=50)
    finally:
        wardcam_hello.wardcam_setup = original
    assert "add-on hello failed in wardcam_setup" in caplog.text  # logged, as it should be
    caplog.clear()  # the one ERROR line this test expects
