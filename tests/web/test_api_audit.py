"""The audit log and the metrics over HTTP, against a served appliance: admins only, and in Excel-ready CSV."""

from __future__ import annotations

import csv
import io

import httpx
from prometheus_client.parser import text_string_to_metric_families

from appliance import __version__
from tests.harness.appliance import RunningAppliance

BOM = b"\xef\xbb\xbf"
HEADER = ["id", "time_utc", "actor", "action", "object_type", "object_id", "detail", "address", "hash"]


def token_for(module_appliance: RunningAppliance, username: str) -> str:
    return module_appliance.cli("token", "create", f"prometheus-{username}", "--user", username).stdout.strip()


def rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.content.startswith(BOM)
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_admin_downloads_the_audit_log_as_csv(admin: httpx.Client) -> None:
    me = admin.get("/api/users/me").json()
    assert admin.patch(f"/api/users/{me['id']}", json={"display_name": "Nguyễn Thị Hồng Nhung"}).status_code == 200

    response = admin.get("/api/audit.csv")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="wardcam-audit-')
    assert response.content.startswith(BOM + b"id,time_utc,actor,action,")
    assert next(csv.reader(io.StringIO(response.content.decode("utf-8-sig")))) == HEADER
    found = rows(response)
    logins = [row for row in found if row["action"] == "auth.login"]
    assert logins and all(row["actor"] == "admin" and row["address"] == "127.0.0.1" for row in logins)
    assert [int(row["id"]) for row in found] == sorted(int(row["id"]) for row in found)
    assert found[0]["time_utc"].endswith("+00:00")
    updated = next(row for row in found if row["action"] == "user.updated")
    assert updated["detail"] == '{"display_name": "Nguyễn Thị Hồng Nhung"}'
    assert "Nguyễn Thị Hồng Nhung".encode() in response.content


def test_every_export_is_itself_audited_with_its_filter(admin: httpx.Client) -> None:
    assert admin.get("/api/audit.csv", params={"action": "auth.login", "since": "2020-01-01"}).status_code == 200
    exports = admin.get("/api/audit", params={"action": "audit.exported", "limit": 1}).json()["entries"]
    assert exports[0]["actor"] == "admin"
    assert exports[0]["detail"]["action"] == "auth.login"
    assert exports[0]["detail"]["since"].startswith("2020-01-01T")
    assert exports[0]["detail"]["rows"] >= 1


def test_the_csv_follows_the_filter(admin: httpx.Client) -> None:
    logins = rows(admin.get("/api/audit.csv", params={"actor": "admin", "action": "auth.login"}))
    assert logins and {(row["actor"], row["action"]) for row in logins} == {("admin", "auth.login")}
    assert rows(admin.get("/api/audit.csv", params={"since": "2999-01-01"})) == []
    assert rows(admin.get("/api/audit.csv", params={"until": "2020-01-01"})) == []


def some_entries(admin: httpx.Client, count: int) -> None:
    """Write `count` audit entries, whatever ran before: each CSV export is itself audited."""
    for _ in range(count):
        assert admin.get("/api/audit.csv", params={"action": "auth.login"}).status_code == 200


def test_a_time_range_includes_its_start_and_excludes_its_end(admin: httpx.Client) -> None:
    some_entries(admin, 3)
    entries = admin.get("/api/audit", params={"limit": 3}).json()["entries"]
    newest, middle, oldest = entries
    found = admin.get("/api/audit", params={"since": oldest["at"], "until": newest["at"]}).json()["entries"]
    assert [e["id"] for e in found] == [middle["id"], oldest["id"]]


def test_the_json_list_is_paged_newest_first(admin: httpx.Client) -> None:
    some_entries(admin, 4)
    first = admin.get("/api/audit", params={"limit": 2}).json()
    second = admin.get("/api/audit", params={"limit": 2, "offset": 2}).json()
    assert first["total"] >= 4 and len(first["entries"]) == len(second["entries"]) == 2
    ids = [e["id"] for e in first["entries"] + second["entries"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
    assert set(first["entries"][0]) >= {"id", "at", "actor", "action", "object_type", "detail", "ip", "hash"}


def test_a_bad_date_or_limit_gets_a_translated_422(admin: httpx.Client) -> None:
    bad_date = admin.get("/api/audit.csv", params={"since": "hôm qua"})
    assert bad_date.status_code == 422
    assert bad_date.json()["error"]["message"] == "Thời điểm không hợp lệ: hôm qua. Hãy nhập ngày theo dạng 2025-03-01."
    assert admin.get("/api/audit", params={"limit": 0}).status_code == 422


def test_viewers_and_strangers_cannot_read_the_audit_log(module_appliance: RunningAppliance) -> None:
    viewer = module_appliance.login("xem")
    with module_appliance.client() as anonymous:
        for path in ("/api/audit.csv", "/api/audit"):
            assert viewer.get(path).status_code == 403
            assert anonymous.get(path).status_code == 401
    viewer.close()


def test_metrics_for_an_admin_token(module_appliance: RunningAppliance) -> None:
    token = token_for(module_appliance, "admin")
    with module_appliance.client(headers={"Authorization": f"Bearer {token}"}) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert samples[("wardcam_info", (("version", __version__),))] == 1.0
    assert samples[("wardcam_users", (("role", "admin"),))] == 1.0
    assert samples[("wardcam_users", (("role", "viewer"),))] == 1.0
    assert samples[("wardcam_users", (("role", "operator"),))] == 0.0
    assert samples[("wardcam_sessions_active", ())] >= 0
    assert samples[("wardcam_audit_entries_total", ())] >= 4  # two users added, a token, at least one login
    assert samples[("wardcam_event_bus_handler_failures_total", ())] == 0.0
    assert samples[("wardcam_cameras", (("enabled", "true"),))] == 0.0
    assert samples[("wardcam_cameras", (("enabled", "false"),))] == 0.0


def test_metrics_count_a_live_session(module_appliance: RunningAppliance) -> None:
    token = token_for(module_appliance, "admin")
    session = module_appliance.login("admin")
    with module_appliance.client(headers={"Authorization": f"Bearer {token}"}) as client:
        text = client.get("/metrics").text
    session.close()
    active = next(f for f in text_string_to_metric_families(text) if f.name == "wardcam_sessions_active")
    assert active.samples[0].value >= 1


def test_metrics_refuse_a_viewer_token_and_strangers(module_appliance: RunningAppliance) -> None:
    token = token_for(module_appliance, "xem")
    with module_appliance.client(headers={"Authorization": f"Bearer {token}"}) as viewer:
        assert viewer.get("/metrics").status_code == 403
    with module_appliance.client() as anonymous:
        refused = anonymous.get("/metrics")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "error.not_authenticated"
