"""A third-party add-on, installed with pip and found by its entry point, adds a page and reacts to events."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.harness.appliance import PASSWORD, RunningAppliance, start_appliance
from tests.web.test_browser import log_in, visit

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "wardcam-hello"


@pytest.fixture(scope="module")
def site_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the example add-on with pip into a folder of its own (not into the project's venv)."""
    target = tmp_path_factory.mktemp("site-packages")
    source = tmp_path_factory.mktemp("source") / EXAMPLE.name
    shutil.copytree(EXAMPLE, source)  # setuptools leaves build files beside the sources: not in our tree
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(source)],
        check=True, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert (target / "wardcam_hello").is_dir()
    assert any(target.glob("wardcam_hello-*.dist-info/entry_points.txt"))
    return target


@pytest.fixture
def served(site_packages: Path, tmp_path: Path) -> Iterator[RunningAppliance]:
    running = start_appliance(tmp_path / "data", env={"PYTHONPATH": str(site_packages)})
    running.add_user("admin", "admin")
    yield running
    running.stop()


def test_the_installed_addon_is_found_enabled_and_adds_a_page(served: RunningAppliance) -> None:
    admin = served.login("admin")
    listed = {a["name"]: a for a in admin.get("/api/addons").json()}
    assert listed["hello"]["status"] == "disabled"
    assert listed["hello"]["origin"] == "wardcam-hello 1.0.0"

    assert admin.get("/addon/hello/status").status_code == 200
    assert "Xin chào" not in admin.get("/addon/hello/status").text  # not running yet: no greeting

    enabled = admin.post("/api/addons/hello/enable")
    assert enabled.status_code == 200 and enabled.json()["status"] == "running"
    page = admin.get("/addon/hello/status")
    assert page.status_code == 200 and "Xin chào" in page.text
    assert "/addon/hello/status" in admin.get("/").text  # in the navigation

    configured = admin.put("/api/addons/hello/options", json={"greeting": "Chào tổ tuần tra", "repeat": 2})
    assert configured.status_code == 200
    assert "Chào tổ tuần tra" in admin.get("/addon/hello/status").text

    metrics = admin.get("/metrics").text
    assert 'wardcam_addon_status{addon="hello",status="running"} 1.0' in metrics
    assert 'wardcam_addon_status{addon="hello",status="disabled"} 0.0' in metrics

    refused = admin.put("/api/addons/hello/options", json={"greeting": "x", "repeat": 9})
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"] == {"repeat": "Phải nhỏ hơn hoặc bằng 5."}
    wrong_type = admin.put("/api/addons/hello/options", json={"greeting": ["a"], "repeat": "ba"})
    assert wrong_type.status_code == 422
    assert wrong_type.json()["error"]["fields"] == {"greeting": "Cần một chuỗi ký tự.", "repeat": "Cần một số nguyên."}
    assert "Chào tổ tuần tra" in admin.get("/addon/hello/status").text  # nothing changed


def test_the_installed_addon_reacts_to_events_and_serves_its_api(served: RunningAppliance) -> None:
    admin = served.login("admin")
    admin.post("/api/addons/hello/enable")
    assert admin.get("/api/addon/hello/events").json() == {"count": 0, "last": None}

    created = admin.post("/api/cameras", json={"name": "Hẻm 5", "main_url": "rtsp://127.0.0.1:8554/cam1"})
    assert created.status_code == 201, created.text
    deadline = time.monotonic() + 5
    while admin.get("/api/addon/hello/events").json()["count"] == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert admin.get("/api/addon/hello/events").json() == {"count": 1, "last": "camera_changed"}

    admin.post("/api/addons/hello/disable")
    assert admin.get("/api/addon/hello/events").status_code == 404
    with served.client() as anonymous:
        assert anonymous.get("/api/addon/hello/events").status_code == 401


@pytest.mark.browser
async def test_staff_enable_the_installed_addon_in_chromium(
    served: RunningAppliance, chromium_browser: Browser, artifacts: Path
) -> None:
    context = await chromium_browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    page = await context.new_page()
    await visit(page, served, "/login")
    await log_in(page, served, "admin", PASSWORD)
    await expect(page.locator(".q-page-container").get_by_text("Tổng quan", exact=True)).to_be_visible()

    await visit(page, served, "/addons")
    card = page.locator("[data-addon=hello]")
    await expect(card.get_by_text("Đã tắt")).to_be_visible()
    await card.get_by_role("switch").click()
    await expect(card.get_by_text("Đang chạy")).to_be_visible()
    await page.screenshot(path=artifacts / "addons.png")

    await visit(page, served, "/")  # the navigation now lists the add-on's page
    await page.locator(".q-drawer").get_by_text("Hello", exact=True).click()
    await expect(page.get_by_text("Xin chào")).to_be_visible()
    await page.screenshot(path=artifacts / "addon-page.png")

    await visit(page, served, "/audit")
    await expect(page.get_by_text("Bật tiện ích").first).to_be_visible()
    await page.screenshot(path=artifacts / "audit.png")
    await context.close()
