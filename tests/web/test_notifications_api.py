"""/api/notifications over a served appliance: targets never show their address, bad input is explained per field,
a test message says how it went, and the log and the metrics tell what was delivered."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.appliance.notify.receivers import Receiver


@pytest.fixture
def group() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def test_targets_rules_mutes_log_and_metrics_through_the_api(admin: httpx.Client, group: Receiver) -> None:
    telegram = {"name": "Tổ 5", "service": "telegram", "values": {"bot_token": "abc", "chat_id": "x y"}}
    refused = admin.post("/api/notifications/targets", json=telegram)
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"] == {"bot_token": "Mã bot Telegram có dạng 123456789:ABC...",
                                                 "chat_id": "Mã nhóm / cuộc trò chuyện không hợp lệ."}  # fmt: skip

    created = admin.post("/api/notifications/targets", json={"name": "Tổ 5", "service": "webhook",
                                                             "values": {"url": group.url("/k/bi-mat")}})  # fmt: skip
    assert created.status_code == 201, created.text
    target = created.json()
    listed = admin.get("/api/notifications/targets")
    assert listed.json() == [{"id": target["id"], "name": "Tổ 5", "service": "webhook",
                              "summary": f"Webhook · 127.0.0.1:{group.port}/k/bi-mat", "enabled": True}]  # fmt: skip
    tested = admin.post(f"/api/notifications/targets/{target['id']}/test").json()
    assert tested == {"ok": True, "message": "Đã gửi được.", "error": None}

    group.mode = "fail"
    tested = admin.post(f"/api/notifications/targets/{target['id']}/test").json()
    assert tested == {"ok": False, "message": "Dịch vụ đang gặp lỗi (mã 500).", "error": "notify.error.server"}
    group.mode = "ok"

    rule = admin.post(
        "/api/notifications/rules",
        json={
            "name": "Ca đêm",
            "config": {
                "target_ids": [target["id"]],
                "windows": [{"start": "22:00", "end": "02:00"}],
                "labels": ["person"],
            },
        },
    )
    assert rule.status_code == 201, rule.text
    assert rule.json()["config"]["cooldown_s"] == 300
    bad = admin.post("/api/notifications/rules", json={"name": "Sai", "config": {"target_ids": []}})
    assert bad.json()["error"]["fields"] == {"target_ids": "Chọn ít nhất một nơi nhận."}

    system = admin.put("/api/notifications/system", json={"disk": {"enabled": True, "target_ids": [target["id"]]},
                                                          "panel_url": "ftp://x"})  # fmt: skip
    assert system.json()["error"]["fields"] == {"panel_url": "Địa chỉ bảng điều khiển phải bắt đầu bằng http:// "
                                                             "hoặc https://."}  # fmt: skip
    mute = admin.post("/api/notifications/mutes", json={"site_id": 999, "until": "2999-01-01T00:00:00+07:00"})
    assert mute.json()["error"]["fields"] == {"site_id": "Khu vực không tồn tại."}

    log = admin.get("/api/notifications/log").json()
    assert log == []  # tests go straight out, not through the queue
    metrics = admin.get("/metrics").text
    assert 'wardcam_notification_pending{target="Tổ 5"} 0.0' in metrics
    assert 'wardcam_notification_sent_total{target="Tổ 5"} 0.0' in metrics
    assert "bi-mat" not in admin.get("/api/notifications/rules").text + admin.get("/api/notifications/system").text

    assert admin.delete(f"/api/notifications/targets/{target['id']}").status_code == 204
    assert admin.get("/api/notifications/rules").json()[0]["config"]["target_ids"] == []
