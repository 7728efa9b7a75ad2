"""An admin sets up notifications on the Notifications page: a target tested before it is saved, then a rule for
the patrol shifts. The target's address never comes back to the page."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from nicegui.testing import User

from appliance.db.models.notify import NotificationRule, NotificationTarget
from tests.appliance.notify.receivers import Receiver
from tests.web.conftest import AddUser, eventually, log_in


@pytest.fixture
def group() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def page_state(user: User) -> str:
    assert user.client is not None
    return json.dumps([e._to_dict() for e in user.client.elements.values()], default=str, ensure_ascii=False)


async def test_the_admin_tests_and_saves_a_webhook_target_then_adds_a_patrol_rule(
    user: User, add_user: AddUser, group: Receiver
) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/notifications")
    await user.should_see("Thêm nơi nhận")

    user.find(marker="target-service").click()
    user.find("Webhook JSON (địa chỉ web)").click()
    user.find(marker="target-name").type("Nhóm tổ dân phố 5")
    user.find(marker="target-test").click()
    await user.should_see("Địa chỉ phải bắt đầu bằng http:// hoặc https://.")  # the empty address, under its field
    user.find(marker="option-url").type(group.url("/to-5?k=bi-mat"))
    user.find(marker="target-test").click()
    await user.should_see("Đã gửi được.")
    assert group.received[0].body["title"] == "WardCam: tin nhắn thử"
    user.find(marker="target-save").click()
    await user.should_see("Đã lưu nơi nhận Nhóm tổ dân phố 5.")
    await eventually(NotificationTarget.all().count, 1)
    target = await NotificationTarget.get(name="Nhóm tổ dân phố 5")
    assert target.url == f"json://127.0.0.1:{group.port}/to-5?k=bi-mat"
    assert "bi-mat" not in page_state(user) and str(group.port) in target.url

    user.find(marker="tab-rules").click()
    await user.open("/notifications?tab=rules")  # the rules' target list is drawn with the page
    await user.should_see("Thêm quy tắc")
    user.find(marker="rule-name").type("Người ở hẻm ban đêm")
    user.find(marker="rule-patrol").click()
    user.find(marker="rule-targets").click()
    user.find("Nhóm tổ dân phố 5").click()
    user.find(marker="rule-save").click()
    await user.should_see("Đã lưu quy tắc Người ở hẻm ban đêm.")
    rule = await NotificationRule.get(name="Người ở hẻm ban đêm")
    assert rule.config["windows"] == [{"start": "20:00", "end": "00:00"}, {"start": "00:00", "end": "04:00"}]
    assert rule.config["target_ids"] == [target.id] and rule.config["labels"] == ["person"]
    assert rule.config["cooldown_s"] == 300
    await user.should_see("Người · 20:00–24:00, 00:00–04:00 · nghỉ 5 phút · gửi tới Nhóm tổ dân phố 5")
