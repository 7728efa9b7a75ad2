"""Delivery: each target is tried three times with backoff, a hanging or failing target never holds up another,
what could not be sent yet survives a restart of the appliance, and the log and metrics tell what happened."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from appliance.app import Appliance
from appliance.db.models.notify import DeliveryState, NotificationDelivery
from appliance.detections import DetectionReport
from appliance.notify.log import error_text
from appliance.notify.metrics import metric_families
from appliance.settings import Settings
from tests.appliance.notify.conftest import World
from tests.appliance.notify.helpers import rule, seen, webhook_target
from tests.appliance.notify.receivers import Mode, Receiver
from tests.harness.waiting import until


async def test_a_failing_target_is_tried_three_times_and_the_log_says_why(
    world: World, receivers: Callable[[Mode], Receiver]
) -> None:
    broken = receivers("fail")
    target = await webhook_target(world, broken, "Máy chủ hỏng")
    await rule(world, "Mọi thứ", [target.id], cooldown_s=0)
    await seen(world, world.camera_id)
    await until(lambda: len(broken.received) == 3, 5, "three tries")
    await asyncio.sleep(0.3)  # no fourth
    assert broken.answered == [500, 500, 500]
    [row] = await NotificationDelivery.all()
    await until(lambda: _state(row.id, DeliveryState.FAILED), 3, "the delivery marked failed")
    row = await NotificationDelivery.get(id=row.id)
    assert (row.attempts, row.rule_name, row.target_name) == (3, "Mọi thứ", "Máy chủ hỏng")
    assert error_text(row, "vi") == "Dịch vụ đang gặp lỗi (mã 500)."
    assert error_text(row, "en") == "The service has a problem (code 500)."
    figures = {
        m.name: {s.labels["target"]: s.value for s in m.samples} for m in await metric_families(world.notify.queue)
    }
    assert figures["wardcam_notification_failed"]["Máy chủ hỏng"] == 1
    assert figures["wardcam_notification_failed_attempts"]["Máy chủ hỏng"] == 3


async def test_a_target_that_answers_again_gets_the_message_on_a_retry(
    world: World, receivers: Callable[[Mode], Receiver]
) -> None:
    flaky = receivers("fail")
    target = await webhook_target(world, flaky, "Mạng chập chờn")
    await rule(world, "Mọi thứ", [target.id], cooldown_s=0, attach_snapshot=False)
    await seen(world, world.camera_id, snapshot=None)
    await until(lambda: len(flaky.received) == 1, 5, "the first try")
    flaky.mode = "ok"
    await until(lambda: flaky.answered[-1:] == [200], 5, "the retry")
    [row] = await NotificationDelivery.all()
    await until(lambda: _state(row.id, DeliveryState.SENT), 3, "the delivery marked sent")
    assert (await NotificationDelivery.get(id=row.id)).attempts == 2


async def test_a_hanging_target_and_a_failing_one_never_hold_up_a_healthy_one(
    world: World, receivers: Callable[[Mode], Receiver]
) -> None:
    healthy, failing, hanging = receivers("ok"), receivers("fail"), receivers("hang")
    targets = [await webhook_target(world, healthy, "Nhóm Zalo tổ 5"),
               await webhook_target(world, failing, "Hỏng"), await webhook_target(world, hanging, "Treo")]  # fmt: skip
    await rule(world, "Ba nơi", [t.id for t in targets], cooldown_s=0, attach_snapshot=False)
    reported = []
    for _ in range(5):
        reported.append(time.time())
        await seen(world, world.camera_id, snapshot=None)
        await asyncio.sleep(0.05)
    await until(lambda: len(healthy.received) == 5, 5, "five messages at the healthy target")
    delays = [r.at - sent for r, sent in zip(healthy.received, reported, strict=True)]
    assert max(delays) < 1.0, delays  # while the other two hang or fail
    assert len(hanging.received) >= 1 and hanging.answered[0] == 0  # it is hanging right now
    assert len(failing.received) >= 5


async def test_a_delivery_pending_when_the_appliance_stops_is_sent_after_it_starts_again(
    db: Path, receivers: Callable[[Mode], Receiver]
) -> None:
    from appliance.db.connection import close_database

    await close_database()  # the appliance opens its own database in the data folder
    settings = Settings(data_dir=db / "box", database_url=None, port=18080)
    group = receivers("hang")
    appliance = Appliance(settings)
    await appliance.start()
    try:
        target = await appliance.notify.targets.create("Nhóm dân phố", "webhook", {"url": group.url()}, None)
        await appliance.notify.rules.create("Mọi thứ", {"target_ids": [target.id], "attach_snapshot": False}, None)
        report = DetectionReport(source="test", external_id="restart", label="person", start=datetime.now(UTC))
        await appliance.detections.report(report)
        await until(lambda: len(group.received) == 1, 5, "the first try, which hangs")
    finally:
        await appliance.stop()  # stopped while the try hangs: nothing was sent
    group.mode = "ok"
    group.release.set()
    again = Appliance(settings)
    await again.start()
    try:
        await until(lambda: group.answered.count(200) == 1, 10, "the delivery after the restart")
        [row] = await NotificationDelivery.all()
        await until(lambda: _state(row.id, DeliveryState.SENT), 3, "the delivery marked sent")
        assert group.received[-1].body["title"] == "🚨 Người tại camera chưa gắn"
    finally:
        await again.stop()


async def _state(delivery_id: int, state: DeliveryState) -> bool:
    row = await NotificationDelivery.get(id=delivery_id)
    return row.state == state
