"""Footage requests over /api/requests against a served appliance that records a real RTSP camera.

An officer asks, a ward admin approves (the footage is locked) and has the package made, and the officer
downloads it by a link made for them and checks it; another officer, an operator and a stranger with the
link get nothing. Every view, download and check is in the audit log, whose chain still verifies.
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser as SyncBrowser
from playwright.sync_api import Page as SyncPage
from playwright.sync_api import expect

from appliance.i18n import catalog
from appliance.requests.keys import SigningKey
from appliance.requests.links import DownloadLinks
from appliance.requests.verify import verify_package
from tests.harness.appliance import PASSWORD, RunningAppliance, start_appliance

VI = catalog("vi")


class Ward:
    """The served appliance, its camera, and a logged-in client per user."""

    def __init__(self, server: RunningAppliance, camera_id: int) -> None:
        self.server, self.camera_id = server, camera_id
        self.clients = {name: server.login(name) for name in ("quantri", "tam", "hoa", "trucban")}

    def __getitem__(self, name: str) -> httpx.Client:
        return self.clients[name]

    def audit(self, action: str) -> list[dict[str, Any]]:
        response = self["quantri"].get("/api/audit", params={"action": action})
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()["entries"]
        return entries


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory, rtsp_cameras: Any) -> Iterator[Ward]:
    """A ward with a market camera recording, two officers granted its site, and an operator."""
    server = start_appliance(tmp_path_factory.mktemp("requests") / "data")
    try:
        server.add_user("quantri", "admin")
        for name, role in (("tam", "police"), ("hoa", "police"), ("trucban", "operator")):
            server.add_user(name, role)
        with closing(server.login("quantri")) as admin:
            site = admin.post("/api/sites", json={"name": "Chợ Bàn Cờ"}).json()["id"]
            camera = admin.post("/api/cameras", json={"name": "Cổng chợ", "main_url": rtsp_cameras.urls[2],
                                                      "site_id": site})  # fmt: skip
            assert camera.status_code == 201, camera.text
            for user in admin.get("/api/users").json():
                if user["username"] in ("tam", "hoa"):
                    assert admin.patch(f"/api/users/{user['id']}", json={"site_ids": [site]}).status_code == 200
        ward = Ward(server, camera.json()["id"])
        yield ward
        for client in ward.clients.values():
            client.close()
    finally:
        server.stop()


def first_segment(ward: Ward, within_s: float = 60) -> tuple[datetime, datetime]:
    """Wait until the camera has a closed segment; return its start and end."""
    deadline = time.monotonic() + within_s
    now = datetime.now().astimezone()
    window = {"camera_id": ward.camera_id, "start": (now - timedelta(hours=1)).isoformat(),
              "end": (now + timedelta(hours=1)).isoformat()}  # fmt: skip
    while True:
        segments = ward["quantri"].get("/api/recordings", params=window).json()["segments"]
        if segments:
            return datetime.fromisoformat(segments[0]["start"]), datetime.fromisoformat(segments[0]["end"])
        assert time.monotonic() < deadline, "the camera recorded no segment"
        time.sleep(1)


def ask(client: httpx.Client, ward: Ward, start: datetime, end: datetime, **changes: Any) -> httpx.Response:
    body = {"officer_name": "Đại úy Lê Văn Tâm", "officer_unit": "Công an phường 7", "officer_badge": "CA-123456",
            "case_number": "CV 45/2026", "reason": "Va chạm xe máy trước cổng chợ", "camera_ids": [ward.camera_id],
            "start": start.isoformat(), "end": end.isoformat(), **changes}  # fmt: skip
    return client.post("/api/requests", json=body)


def test_an_officer_gets_a_verifiable_package_that_nobody_else_can_take(ward: Ward, tmp_path: Path) -> None:
    start, end = first_segment(ward)
    asked = ask(ward["tam"], ward, start + timedelta(seconds=2), end - timedelta(seconds=2))
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert request["status"] == "pending" and not request["downloadable"]
    rid = request["id"]

    # another officer of the same site neither sees nor opens it; an operator has nothing to do with requests
    assert [r["id"] for r in ward["hoa"].get("/api/requests").json()] == []
    assert ward["hoa"].get(f"/api/requests/{rid}").status_code == 404
    assert ward["trucban"].get("/api/requests").status_code == 403
    # the officer cannot approve their own request
    assert ward["tam"].post(f"/api/requests/{rid}/approve", json={"note": "tự duyệt"}).status_code == 403

    approved = ward["quantri"].post(f"/api/requests/{rid}/approve", json={"note": "Đồng ý cung cấp"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert ward["quantri"].post(f"/api/requests/{rid}/export", json={}).status_code == 202
    deadline = time.monotonic() + 60
    while (progress := ward["tam"].get(f"/api/requests/{rid}/progress").json())["state"] != "done":
        assert progress["state"] != "failed", progress
        assert time.monotonic() < deadline, progress
        time.sleep(0.5)
    opened = ward["tam"].get(f"/api/requests/{rid}").json()
    assert opened["status"] == "exported" and opened["downloadable"] and opened["decision_note"] == "Đồng ý cung cấp"

    # a download link for the officer: useless to anyone else, or altered
    link = ward["tam"].post(f"/api/requests/{rid}/link").json()
    assert datetime.fromisoformat(link["expires_at"]) > datetime.now().astimezone() + timedelta(hours=23)
    someone_elses = ward["hoa"].get(link["url"])
    assert someone_elses.status_code == 404
    assert someone_elses.json()["error"]["message"] == VI["requests_web.error.link_invalid"]
    assert ward["trucban"].get(link["url"]).status_code == 403
    with ward.server.client() as stranger:
        assert stranger.get(link["url"]).status_code == 401
    altered = link["url"][:-1] + ("0" if link["url"][-1] != "0" else "1")
    assert ward["tam"].get(altered).status_code == 404
    # a link made for him two days ago, working for a day, by this appliance's own link key
    tam_id = int(link["url"].rsplit("/", 1)[1].split(".")[1])
    old = DownloadLinks(ward.server.data_dir / "secrets").make(rid, tam_id, ttl_s=86400, now=time.time() - 2 * 86400)
    expired = ward["tam"].get(f"/api/requests/download/{old.token}")
    assert expired.status_code == 410
    assert expired.json()["error"]["message"] == VI["requests_web.error.link_expired"]

    downloaded = ward["tam"].get(link["url"])
    assert downloaded.status_code == 200 and downloaded.headers["content-type"] == "application/zip"
    package = tmp_path / "package.zip"
    package.write_bytes(downloaded.content)
    key = SigningKey(ward.server.data_dir / "secrets").info()
    result = verify_package(package, expected_fingerprint=key.fingerprint)  # offline, as the police would
    assert result.ok and result.trusted and result.files_ok == 1, result.problems
    with zipfile.ZipFile(package) as archive:
        assert archive.read("handover.pdf").startswith(b"%PDF")
    checked = ward["tam"].post(f"/api/requests/{rid}/verify").json()
    assert checked == {"ok": True, "fingerprint": key.fingerprint, "files_ok": 1, "problems": []}
    handover = ward["tam"].get(f"/api/requests/{rid}/handover.pdf")
    assert handover.headers["content-type"] == "application/pdf" and handover.content.startswith(b"%PDF")
    assert ward["hoa"].get(f"/api/requests/{rid}/handover.pdf").status_code == 404

    # every view, download and check is audited, with who; the audit chain still holds
    for action, minimum in (("requests.viewed", 1), ("requests.downloaded", 1), ("requests.verified", 1),
                            ("requests.handover_viewed", 1)):  # fmt: skip
        entries = [e for e in ward.audit(action) if e["object_id"] == str(rid)]
        assert len(entries) >= minimum and {e["actor"] for e in entries} == {"tam"}, (action, entries)
    [download] = [e for e in ward.audit("requests.downloaded") if e["object_id"] == str(rid)]
    assert download["detail"]["case"] == "CV 45/2026" and download["detail"]["manifest"] == opened["package_sha256"]
    chain = ward.server.cli("audit", "verify")
    assert chain.returncode == 0, chain.stdout + chain.stderr

    # handed over and closed: the officer's link stops working; the admin can still take the package
    for step in ("deliver", "close"):
        assert ward["quantri"].post(f"/api/requests/{rid}/{step}").status_code == 200
    closed = ward["tam"].get(link["url"])
    assert closed.status_code == 404 and closed.json()["error"]["message"] == VI["requests_web.error.no_package"]
    assert not ward["tam"].get(f"/api/requests/{rid}").json()["downloadable"]
    admin_link = ward["quantri"].post(f"/api/requests/{rid}/link").json()
    assert ward["quantri"].get(admin_link["url"]).content == downloaded.content


def test_a_rejection_says_why_and_staff_can_file_for_an_officer(ward: Ward) -> None:
    start = datetime.now().astimezone().replace(microsecond=0) - timedelta(hours=1)
    end = start + timedelta(minutes=10)
    users = {u["username"]: u["id"] for u in ward["quantri"].get("/api/users").json()}
    filed = ask(ward["quantri"], ward, start, end, officer_user_id=users["hoa"], case_number="CV 46/2026")
    assert filed.status_code == 201, filed.text
    rid = filed.json()["id"]
    assert [r["id"] for r in ward["hoa"].get("/api/requests").json()] == [rid]  # hers now, entered by staff

    silent = ward["quantri"].post(f"/api/requests/{rid}/reject", json={"note": " "})
    assert silent.status_code == 422
    assert silent.json()["error"]["message"] == VI["requests.error.note_required"]
    rejected = ward["quantri"].post(f"/api/requests/{rid}/reject", json={"note": "Chưa có văn bản đề nghị"})
    assert rejected.json()["status"] == "rejected"
    seen = ward["hoa"].get(f"/api/requests/{rid}").json()
    assert (seen["status"], seen["decision_note"], seen["downloadable"]) == (
        "rejected",
        "Chưa có văn bản đề nghị",
        False,
    )
    assert ward["hoa"].post(f"/api/requests/{rid}/link").status_code == 404
    assert (
        ward["hoa"].post(f"/api/requests/{rid}/link").json()["error"]["message"] == VI["requests_web.error.no_package"]
    )
    wrong = ask(ward["quantri"], ward, start, end, officer_user_id=users["trucban"])
    assert wrong.status_code == 422


def in_chromium(browser: SyncBrowser, ward: Ward, name: str) -> SyncPage:
    """Open a Chromium page and log in there as the user."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    page.goto(f"{ward.server.url}/login")
    page.get_by_label(VI["field.username"]).fill(name)
    page.get_by_label(VI["field.password"]).fill(PASSWORD)
    page.get_by_role("button", name=VI["login.submit"]).click()
    expect(page.locator(".q-header").get_by_text(name)).to_be_visible()
    return page


@pytest.mark.browser
def test_in_chromium_an_admin_approves_in_the_dialog_and_an_officer_sees_only_their_own(
    ward: Ward, chromium_browser_sync: SyncBrowser, artifacts: Path
) -> None:
    start = datetime.now().astimezone().replace(microsecond=0) - timedelta(hours=1)
    tams = ask(ward["tam"], ward, start, start + timedelta(minutes=5), case_number="CV 47/2026").json()["id"]
    hoas = ask(ward["hoa"], ward, start, start + timedelta(minutes=5), case_number="CV 48/2026").json()["id"]

    admin = in_chromium(chromium_browser_sync, ward, "quantri")
    admin.goto(f"{ward.server.url}/requests")
    admin.get_by_text(VI["requests_web.card_title"].format(id=tams, case="CV 47/2026")).click()
    admin.wait_for_url(f"**/requests/{tams}")
    expect(admin.get_by_role("status")).to_have_text(VI["requests_web.status.pending"])
    admin.get_by_role("button", name=VI["requests_web.approve"]).click()
    dialog = admin.locator(".q-dialog")
    expect(dialog.get_by_text(VI["requests_web.approve_lock"])).to_be_visible()
    dialog.get_by_label(VI["requests_web.field.note"]).fill("Đồng ý cung cấp cho Công an phường 7")
    dialog.get_by_role("button", name=VI["requests_web.approve"]).click()
    expect(admin.get_by_role("status")).to_have_text(VI["requests_web.status.approved"], timeout=15_000)
    expect(admin.get_by_text("Đồng ý cung cấp cho Công an phường 7")).to_be_visible(timeout=15_000)
    admin.screenshot(path=str(artifacts / "request-approved.png"), full_page=True)
    admin.context.close()
    assert ward["tam"].get(f"/api/requests/{tams}").json()["status"] == "approved"

    officer = in_chromium(chromium_browser_sync, ward, "hoa")
    officer.goto(f"{ward.server.url}/requests")
    expect(officer.get_by_text(VI["requests_web.card_title"].format(id=hoas, case="CV 48/2026"))).to_be_visible()
    expect(officer.get_by_text("CV 47/2026")).to_have_count(0)  # Tâm's, on the same site
    officer.screenshot(path=str(artifacts / "requests-officer.png"), full_page=True)
    officer.goto(f"{ward.server.url}/requests/{tams}")  # someone else's: not found, as if it did not exist
    expect(officer.get_by_text(VI["error.not_found"])).to_be_visible()
    expect(officer.get_by_role("button", name=VI["requests_web.approve"])).to_have_count(0)
    officer.context.close()
