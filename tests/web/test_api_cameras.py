"""/api/sites and /api/cameras against a served appliance: passwords go in and never come out."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest

from appliance.i18n import t
from tests.harness.appliance import RunningAppliance

TRICKY_PASSWORD = "p@ss:w/rd#%"
ENCODED_PASSWORD = "p%40ss%3Aw%2Frd%23%25"
MAIN_URL = "rtsp://192.168.1.64:554/Streaming/Channels/101"
READER_FIELDS = {"id", "name", "site_id", "site_name", "enabled"}


@pytest.fixture(scope="module")
def people(module_appliance: RunningAppliance) -> RunningAppliance:
    """Add an operator and a police officer to the module's appliance (it has `admin` and the viewer `xem`)."""
    module_appliance.add_user("dieu-hanh", "operator")
    module_appliance.add_user("cong-an", "police")
    return module_appliance


@pytest.fixture
def operator(people: RunningAppliance) -> Iterator[httpx.Client]:
    with closing(people.login("dieu-hanh")) as client:
        yield client


@pytest.fixture
def viewer(people: RunningAppliance) -> Iterator[httpx.Client]:
    with closing(people.login("xem")) as client:
        yield client


def add_site(admin: httpx.Client, name: str, **fields: Any) -> dict[str, Any]:
    response = admin.post("/api/sites", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


def add_camera(admin: httpx.Client, name: str, **fields: Any) -> dict[str, Any]:
    response = admin.post("/api/cameras", json={"name": name, "main_url": MAIN_URL, **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


def stored_password(appliance: RunningAppliance, camera_id: int) -> str:
    """Read a camera's password straight from the database, as the recorder would get it."""
    with sqlite3.connect(appliance.data_dir / "wardcam.db") as db:
        row = db.execute("SELECT password FROM camera WHERE id = ?", (camera_id,)).fetchone()
    return str(row[0])


def audit(admin: httpx.Client, action: str) -> list[dict[str, Any]]:
    return list(admin.get("/api/audit", params={"action": action, "limit": 1000}).json()["entries"])


def assert_secret_absent(response: httpx.Response, *secrets: str) -> None:
    for secret in (TRICKY_PASSWORD, ENCODED_PASSWORD, *secrets):
        assert secret not in response.text


def test_an_admin_adds_a_site_and_a_camera_and_the_password_never_comes_back(
    people: RunningAppliance, admin: httpx.Client
) -> None:
    site = add_site(admin, "Hẻm 12 Nguyễn Trãi", address="12 Nguyễn Trãi", latitude=21.0231, longitude=105.844)
    assert {k: site[k] for k in ("name", "address", "latitude", "longitude", "notes")} == {
        "name": "Hẻm 12 Nguyễn Trãi", "address": "12 Nguyễn Trãi", "latitude": 21.0231, "longitude": 105.844,
        "notes": "",
    }  # fmt: skip

    created = admin.post(
        "/api/cameras",
        json={"name": "Hẻm 12 – đầu hẻm", "site_id": site["id"], "main_url": MAIN_URL, "username": "admin",
              "password": TRICKY_PASSWORD, "audio_policy": "drop", "retention_days": 14},
    )  # fmt: skip
    assert created.status_code == 201
    camera = created.json()
    assert "password" not in camera
    assert {k: camera[k] for k in ("site_name", "main_url", "sub_url", "username", "has_password")} == {
        "site_name": "Hẻm 12 Nguyễn Trãi", "main_url": MAIN_URL, "sub_url": "", "username": "admin",
        "has_password": True,
    }  # fmt: skip
    assert (camera["enabled"], camera["retention_days"], camera["audio_policy"]) == (True, 14, "drop")
    assert stored_password(people, camera["id"]) == TRICKY_PASSWORD

    for response in (
        created,
        admin.get("/api/cameras"),
        admin.get(f"/api/cameras/{camera['id']}"),
        admin.get("/api/sites"),
        admin.get(f"/api/sites/{site['id']}"),
    ):
        assert response.status_code in (200, 201)
        assert_secret_absent(response)


def test_a_change_without_a_password_keeps_it_and_a_new_one_replaces_it(
    people: RunningAppliance, admin: httpx.Client
) -> None:
    camera = add_camera(admin, "Cổng chợ", username="admin", password=TRICKY_PASSWORD)
    url = f"/api/cameras/{camera['id']}"

    for body in ({"enabled": False}, {"password": None, "retention_days": 7}, {"password": ""}):
        kept = admin.patch(url, json=body)
        assert kept.status_code == 200 and kept.json()["has_password"] is True
        assert_secret_absent(kept)
        assert stored_password(people, camera["id"]) == TRICKY_PASSWORD
    assert (kept.json()["enabled"], kept.json()["retention_days"]) == (False, 7)

    replaced = admin.patch(url, json={"password": "mat-khau-moi:2@"})
    assert replaced.status_code == 200 and replaced.json()["has_password"] is True
    assert_secret_absent(replaced, "mat-khau-moi")
    assert stored_password(people, camera["id"]) == "mat-khau-moi:2@"

    cleared = admin.patch(url, json={"clear_password": True})
    assert cleared.json()["has_password"] is False
    assert stored_password(people, camera["id"]) == ""


def test_a_stream_url_with_credentials_or_a_bad_scheme_is_refused_per_field_and_changes_nothing(
    people: RunningAppliance, admin: httpx.Client
) -> None:
    camera = add_camera(admin, "Ngã tư – hướng Nam")
    before = admin.get("/api/cameras").json()

    with_credentials = admin.post(
        "/api/cameras", json={"name": "Mới", "main_url": "rtsp://admin:bi-mat@192.168.1.64/stream"}
    )
    assert with_credentials.status_code == 422
    assert with_credentials.json()["error"]["fields"] == {
        "main_url": "Không ghi tên đăng nhập hoặc mật khẩu vào địa chỉ: hãy nhập chúng vào ô Tên đăng nhập và Mật khẩu."
    }
    assert "bi-mat" not in with_credentials.text

    bad = admin.post(
        "/api/cameras",
        json={"name": "Mới", "main_url": "rtmp://192.168.1.64/live", "sub_url": "rtsp://192.168.1.64:99999/sub"},
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"] == {
        "main_url": "Địa chỉ luồng phải bắt đầu bằng rtsp://, rtsps://, http:// hoặc https://.",
        "sub_url": t("error.field.stream_url_port", "vi"),  # 99999 is no port
    }
    no_host = admin.patch(f"/api/cameras/{camera['id']}", json={"main_url": "rtsp:///stream", "enabled": False})
    assert no_host.status_code == 422 and set(no_host.json()["error"]["fields"]) == {"main_url"}
    too_long = admin.patch(f"/api/cameras/{camera['id']}", json={"sub_url": "rtsp://h/" + "a" * 1100})
    assert too_long.json()["error"]["fields"] == {"sub_url": "Quá dài: tối đa 1024 ký tự."}

    assert admin.get("/api/cameras").json() == before


def test_an_english_speaking_admin_is_told_in_english_where_the_password_goes(
    people: RunningAppliance, admin: httpx.Client
) -> None:
    added = admin.post(
        "/api/users", json={"username": "admin-en", "password": "mat-khau-du-dai-1", "role": "admin", "language": "en"}
    )
    assert added.status_code == 201
    with closing(people.login("admin-en")) as english:
        response = english.post("/api/cameras", json={"name": "New", "main_url": "rtsp://u:p@10.0.0.9/live"})
    assert response.status_code == 422
    assert response.json()["error"]["fields"]["main_url"] == (
        "Do not put the username or password in the address: enter them in the Username and Password fields."
    )


def test_an_unknown_site_a_duplicate_name_and_wrong_types_are_refused_per_field_and_change_nothing(
    admin: httpx.Client,
) -> None:
    site = add_site(admin, "Chợ Hôm")
    camera = add_camera(admin, "Chợ Hôm – cổng", site_id=site["id"])
    cameras_before, sites_before = admin.get("/api/cameras").json(), admin.get("/api/sites").json()
    entries_before = admin.get("/api/audit", params={"limit": 1}).json()["total"]

    unknown = admin.post("/api/cameras", json={"name": "Mới", "main_url": MAIN_URL, "site_id": 9999})
    assert unknown.status_code == 422
    assert unknown.json()["error"] == {
        "code": "cameras.error.site_unknown",
        "message": "Không có điểm camera số 9999.",
        "fields": {"site_id": "Không có điểm camera số 9999."},
    }
    moved = admin.patch(f"/api/cameras/{camera['id']}", json={"site_id": 9999})
    assert moved.status_code == 422 and set(moved.json()["error"]["fields"]) == {"site_id"}

    same_camera = admin.post("/api/cameras", json={"name": "Chợ Hôm – cổng", "main_url": MAIN_URL})
    assert same_camera.status_code == 409
    assert same_camera.json()["error"]["fields"] == {"name": 'Đã có camera tên "Chợ Hôm – cổng".'}
    same_site = admin.post("/api/sites", json={"name": "Chợ Hôm"})
    assert same_site.status_code == 409
    assert same_site.json()["error"]["fields"] == {"name": 'Đã có điểm camera tên "Chợ Hôm".'}

    wrong = admin.post(
        "/api/cameras",
        json={"name": "", "main_url": 5, "enabled": "có lẽ", "retention_days": 0, "audio_policy": "to", "x": 1},
    )
    assert wrong.status_code == 422
    fields = wrong.json()["error"]["fields"]
    assert fields.pop("audio_policy").startswith("Giá trị phải là một trong: 'copy', 'aac'")
    assert fields == {
        "name": "Quá ngắn: cần ít nhất 1 ký tự.",
        "main_url": "Cần một chuỗi ký tự.",
        "enabled": "Cần giá trị đúng/sai.",
        "retention_days": "Phải lớn hơn hoặc bằng 1.",
        "x": "Trường này không được hỗ trợ.",
    }
    wrong_site = admin.patch(f"/api/sites/{site['id']}", json={"latitude": 200, "longitude": "đông"})
    assert wrong_site.status_code == 422
    fields = wrong_site.json()["error"]["fields"]
    assert fields.pop("latitude").startswith("Phải nhỏ hơn hoặc bằng 90")
    assert fields == {"longitude": "Cần một số."}
    assert admin.get("/api/cameras/99999").status_code == 404

    assert admin.get("/api/cameras").json() == cameras_before
    assert admin.get("/api/sites").json() == sites_before
    assert admin.get("/api/audit", params={"limit": 1}).json()["total"] == entries_before


def test_operators_and_viewers_see_the_camera_list_but_may_not_change_anything(
    admin: httpx.Client, operator: httpx.Client, viewer: httpx.Client
) -> None:
    site = add_site(admin, "Ngõ 5 Hàng Bạc")
    camera = add_camera(admin, "Ngõ 5 – giữa ngõ", site_id=site["id"], username="admin", password=TRICKY_PASSWORD)
    cameras_before, sites_before = admin.get("/api/cameras").json(), admin.get("/api/sites").json()

    for client in (operator, viewer):
        listed = client.get("/api/cameras")
        assert listed.status_code == 200
        mine = next(c for c in listed.json() if c["id"] == camera["id"])
        assert mine == {"id": camera["id"], "name": "Ngõ 5 – giữa ngõ", "site_id": site["id"],
                        "site_name": "Ngõ 5 Hàng Bạc", "enabled": True}  # fmt: skip
        assert all(set(c) == READER_FIELDS for c in listed.json())
        one = client.get(f"/api/cameras/{camera['id']}")
        assert one.status_code == 200 and set(one.json()) == READER_FIELDS
        assert "192.168.1.64" not in listed.text + one.text
        assert client.get(f"/api/sites/{site['id']}").json()["name"] == "Ngõ 5 Hàng Bạc"

        for method, path, body in (
            ("POST", "/api/cameras", {"name": "Trộm", "main_url": MAIN_URL}),
            ("PATCH", f"/api/cameras/{camera['id']}", {"enabled": False}),
            ("DELETE", f"/api/cameras/{camera['id']}", None),
            ("POST", "/api/sites", {"name": "Trộm"}),
            ("PATCH", f"/api/sites/{site['id']}", {"name": "Trộm"}),
            ("DELETE", f"/api/sites/{site['id']}", None),
        ):
            refused = client.request(method, path, json=body)
            assert refused.status_code == 403, (method, path)
            assert refused.json()["error"]["message"] == "Tài khoản của bạn không có quyền xem hoặc làm việc này."

    assert admin.get("/api/cameras").json() == cameras_before
    assert admin.get("/api/sites").json() == sites_before


def test_police_granted_one_site_see_only_that_sites_cameras(people: RunningAppliance, admin: httpx.Client) -> None:
    granted = add_site(admin, "Ngã tư Lê Lợi")
    other = add_site(admin, "Ngã tư Trần Hưng Đạo")
    seen = add_camera(admin, "Lê Lợi – hướng Bắc", site_id=granted["id"])
    hidden = add_camera(admin, "Trần Hưng Đạo – hướng Nam", site_id=other["id"])
    police_id = next(u["id"] for u in admin.get("/api/users").json() if u["username"] == "cong-an")
    assert admin.patch(f"/api/users/{police_id}", json={"site_ids": [granted["id"]]}).status_code == 200

    with closing(people.login("cong-an")) as police:
        assert [s["name"] for s in police.get("/api/sites").json()] == ["Ngã tư Lê Lợi"]
        assert [c["name"] for c in police.get("/api/cameras").json()] == ["Lê Lợi – hướng Bắc"]
        assert police.get(f"/api/cameras/{seen['id']}").json()["site_name"] == "Ngã tư Lê Lợi"
        assert police.get(f"/api/cameras/{hidden['id']}").status_code == 404
        assert police.get(f"/api/sites/{other['id']}").status_code == 404
        assert police.patch(f"/api/cameras/{seen['id']}", json={"enabled": False}).status_code == 403


def test_every_change_is_audited_without_secrets_and_the_audit_chain_verifies(
    people: RunningAppliance, admin: httpx.Client
) -> None:
    site = add_site(admin, "Hẻm 40 Lý Thường Kiệt")
    camera = add_camera(admin, "Hẻm 40 – cuối hẻm", site_id=site["id"], password=TRICKY_PASSWORD)
    admin.patch(f"/api/cameras/{camera['id']}", json={"password": "mat-khau-moi", "retention_days": 90})
    admin.patch(f"/api/sites/{site['id']}", json={"notes": "Tủ điện ở đầu hẻm"})
    assert admin.delete(f"/api/sites/{site['id']}").status_code == 204
    assert admin.get(f"/api/cameras/{camera['id']}").json()["site_id"] is None
    assert admin.delete(f"/api/cameras/{camera['id']}").status_code == 204
    assert admin.get(f"/api/cameras/{camera['id']}").status_code == 404

    def detail(action: str, object_id: int) -> dict[str, Any]:
        [entry] = [e for e in audit(admin, action) if e["object_id"] == str(object_id)]
        assert (entry["actor"], entry["ip"]) == ("admin", "127.0.0.1")
        return dict(entry["detail"])

    assert detail("site.created", site["id"]) == {"name": "Hẻm 40 Lý Thường Kiệt"}
    assert detail("camera.created", camera["id"]) == {"name": "Hẻm 40 – cuối hẻm", "site_id": site["id"]}
    assert detail("camera.updated", camera["id"]) == {"fields": ["password", "retention_days"]}
    assert detail("site.updated", site["id"]) == {"fields": ["notes"]}
    assert detail("site.deleted", site["id"]) == {"name": "Hẻm 40 Lý Thường Kiệt", "cameras_unassigned": [camera["id"]]}
    assert detail("camera.deleted", camera["id"]) == {"name": "Hẻm 40 – cuối hẻm"}
    assert_secret_absent(admin.get("/api/audit", params={"limit": 1000}), "mat-khau-moi")
    assert_secret_absent(admin.get("/api/audit.csv"), "mat-khau-moi")

    verified = people.cli("audit", "verify")
    assert verified.returncode == 0, verified.stderr
