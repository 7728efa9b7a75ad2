"""In real Chromium: an admin adds a webhook target, presses Send test and sees it arrive, saves it, and adds a
rule for the patrol shifts. Screenshot: tests/artifacts/notifications.png."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from appliance.i18n import catalog
from tests.appliance.notify.receivers import Receiver
from tests.harness.appliance import RunningAppliance

pytestmark = pytest.mark.browser
VI = catalog("vi")
expect.set_options(timeout=15_000)


@pytest.fixture
def group() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
async def page(chromium_browser: Browser) -> AsyncIterator[Page]:
    ctx = await chromium_browser.new_context(viewport={"width": 1280, "height": 1000}, locale="vi-VN")
    ctx.set_default_timeout(15_000)
    try:
        yield await ctx.new_page()
    finally:
        await ctx.close()


async def visit(page: Page, server: RunningAppliance, path: str) -> None:
    await page.goto(server.url + path)
    await page.wait_for_function("window.did_handshake === true")


async def test_admin_tests_a_target_saves_it_and_adds_a_patrol_rule(
    appliance_server: RunningAppliance, page: Page, group: Receiver, artifacts: Path
) -> None:
    server = appliance_server
    server.add_user("owner", "admin")
    await visit(page, server, "/login")
    await page.get_by_label(VI["field.username"]).fill("owner")
    await page.get_by_label(VI["field.password"]).fill("mat-khau-du-dai-1")
    await page.get_by_role("button", name=VI["login.submit"]).click()
    await expect(page.locator(".q-header").get_by_text("owner")).to_be_visible()

    await visit(page, server, "/notifications")
    await page.get_by_label(VI["notify.field.service"]).click()
    await page.get_by_role("option", name=VI["notify.service.webhook"]).click()
    await page.get_by_label(VI["notify.field.target_name"]).fill("Nhóm tổ dân phố 5")
    await page.get_by_label(VI["notify.field.url"]).fill(group.url("/to-5"))
    await page.get_by_role("button", name=VI["notify.targets.test"]).click()
    await expect(
        page.locator("[data-marker='target-test-result'], .q-notification").get_by_text(VI["notify.sent"]).first
    ).to_be_visible()
    assert group.received[0].body["message"] == VI["notify.test.body"]
    await page.get_by_role("button", name=VI["action.save"]).click()
    card = page.locator("[data-target]")
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text(f"Webhook · 127.0.0.1:{group.port}/to-5")

    await page.get_by_role("tab", name=VI["notify.tab.rules"]).click()
    await visit(page, server, "/notifications?tab=rules")
    await page.get_by_label(VI["notify.field.rule_name"]).fill("Người ở hẻm ban đêm")
    await page.get_by_role("button", name=VI["notify.rules.patrol_preset"]).click()
    await page.get_by_label(VI["notify.field.targets"]).click()
    await page.get_by_role("option", name="Nhóm tổ dân phố 5").click()
    await page.keyboard.press("Escape")
    await page.locator("[data-rule], .q-card").filter(has_text=VI["notify.rules.add"]).get_by_role(
        "button", name=VI["action.save"]).click()  # fmt: skip
    rule = page.locator("[data-rule]")
    await expect(rule).to_have_count(1)
    await expect(rule).to_contain_text("20:00–24:00, 00:00–04:00")
    await page.screenshot(path=artifacts / "notifications.png", full_page=True)
