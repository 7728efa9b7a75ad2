"""The REST API against a served appliance: bad input gets a clear, translated 4xx, and changes nothing."""

from __future__ import annotations

import httpx

from tests.harness.appliance import RunningAppliance


def users(client: httpx.Client) -> list[str]:
    return [u["username"] for u in client.get("/api/users").json()]


def test_a_wrong_password_is_refused_in_the_callers_language(module_appliance: RunningAppliance) -> None:
    with module_appliance.client() as client:
        vi = client.post("/api/auth/login", json={"username": "admin", "password": "sai-mat-khau"})
        en = client.post(
            "/api/auth/login",
            json={"username": "admin", "password": "wrong-password"},
            headers={"Accept-Language": "en-GB,en;q=0.8"},
        )
    assert vi.status_code == 401 and vi.json()["error"]["message"] == "Sai tên đăng nhập hoặc mật khẩu."
    assert en.status_code == 401 and en.json()["error"]["message"] == "Wrong username or password."
    assert "wardcam_session" not in vi.cookies


def test_malformed_json_gets_a_400_and_creates_nothing(admin: httpx.Client) -> None:
    before = users(admin)
    response = admin.post("/api/users", content=b'{"username": "x", ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "error.malformed_json",
        "message": "Nội dung gửi lên không phải JSON hợp lệ.",
    }
    assert users(admin) == before


def test_wrong_types_and_unknown_fields_are_reported_per_field(admin: httpx.Client) -> None:
    response = admin.post("/api/users", json={"username": "ok-name", "password": 5, "role": "boss", "extra": 1})
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"password", "role", "extra"}
    assert fields["extra"] == "Trường này không được hỗ trợ."
    assert "ok-name" not in users(admin)


def test_a_duplicate_username_gets_409(admin: httpx.Client) -> None:
    response = admin.post("/api/users", json={"username": "admin", "password": "mat-khau-du-dai-2", "role": "viewer"})
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "Tên đăng nhập này đã có người dùng."
    assert users(admin) == ["admin", "xem"]


def test_a_weak_password_gets_422(admin: httpx.Client) -> None:
    response = admin.post("/api/users", json={"username": "moi", "password": "ngan", "role": "viewer"})
    assert response.status_code == 422
    assert "ít nhất 10 ký tự" in response.json()["error"]["message"]
    assert users(admin) == ["admin", "xem"]


def test_a_missing_or_invalid_token_gets_401(module_appliance: RunningAppliance) -> None:
    with module_appliance.client() as client:
        missing = client.get("/api/users/me")
        invalid = client.get("/api/users/me", headers={"Authorization": "Bearer wct_not-a-real-token"})
        malformed = client.get("/api/users/me", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "error.not_authenticated"
    for response in (invalid, malformed):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "error.token_invalid"


def test_a_token_from_the_cli_works_like_its_user(module_appliance: RunningAppliance) -> None:
    created = module_appliance.cli("token", "create", "home-assistant")
    token = created.stdout.strip()
    with module_appliance.client(headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.get("/api/users/me").json()["username"] == "admin"
        assert client.get("/api/users").status_code == 200


def test_a_viewer_token_gets_403_on_admin_endpoints(module_appliance: RunningAppliance) -> None:
    token = module_appliance.cli("token", "create", "tv", "--user", "xem").stdout.strip()
    with module_appliance.client(headers={"Authorization": f"Bearer {token}"}) as client:
        forbidden = client.post("/api/users", json={"username": "x1", "password": "mat-khau-du-dai", "role": "admin"})
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["message"] == "Tài khoản của bạn không có quyền xem hoặc làm việc này."


def test_an_unknown_api_path_is_a_json_404_for_a_logged_in_user(admin: httpx.Client) -> None:
    response = admin.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "error.not_found"


def test_admins_can_read_the_openapi_schema_and_others_cannot(
    module_appliance: RunningAppliance, admin: httpx.Client
) -> None:
    schema = admin.get("/api/openapi.json")
    assert schema.status_code == 200
    assert {"/api/users/me", "/api/addons", "/api/auth/login"} <= set(schema.json()["paths"])
    viewer = module_appliance.login("xem")
    assert viewer.get("/api/openapi.json").status_code == 403
    viewer.close()
