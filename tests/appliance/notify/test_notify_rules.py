"""Rules decide which detections reach which group: cameras or sites, labels, score, zones, time windows across
midnight (the patrol shifts), days, and the cooldown per camera and label. Delivered to a real local webhook."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from appliance.notify import NotifyInputInvalid
from appliance.notify.rules import RuleConfig, Seen, matches
from appliance.notify.windows import PATROL_SHIFTS, TimeWindow, in_windows
from tests.appliance.notify.conftest import JPEG, World
from tests.appliance.notify.helpers import rule, seen, webhook_target
from tests.appliance.notify.receivers import Mode, Receiver
from tests.harness.waiting import until

PATROL = [{"start": "20:00", "end": "24:00"}, {"start": "00:00", "end": "04:00"}]


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in the week of Monday 2026-11-23 (day 0 = Monday)."""
    return datetime(2026, 11, 23 + day, hour, minute).astimezone()


def test_patrol_shifts_cover_the_night_across_midnight_and_nothing_by_day() -> None:
    shifts = list(PATROL_SHIFTS)
    assert [w.label() for w in shifts] == ["20:00–24:00", "00:00–04:00"]
    for hour, minute, inside in ((19, 59, False), (20, 0, True), (23, 59, True), (0, 0, True), (3, 59, True),
                                 (4, 0, False), (12, 0, False)):  # fmt: skip
        assert in_windows(shifts, [], local(2, hour, minute)) is inside, (hour, minute)


def test_a_window_crossing_midnight_belongs_to_the_day_it_starts() -> None:
    friday_night = [TimeWindow(start="22:00", end="02:00")]
    assert in_windows(friday_night, [4], local(4, 23, 0))  # Friday 23:00
    assert in_windows(friday_night, [4], local(5, 1, 30))  # Saturday 01:30, the window opened on Friday
    assert not in_windows(friday_night, [4], local(5, 23, 0))  # Saturday's own window is not chosen
    assert not in_windows(friday_night, [4], local(4, 1, 30))  # Friday 01:30 belongs to Thursday's window


def test_a_rule_checks_camera_or_site_label_score_and_zones() -> None:
    config = RuleConfig(site_ids=[7], camera_ids=[3], labels=["Person", "motorcycle"], min_score=0.6,
                        zones=["cong-hem"], target_ids=[1])  # fmt: skip
    night = local(0, 23, 0)
    assert matches(config, Seen(3, None, "person", 0.7, ("cong-hem",)), night)
    assert matches(config, Seen(9, 7, "motorcycle", 0.7, ("CONG-HEM", "via-he")), night)  # by its site
    assert not matches(config, Seen(9, 8, "person", 0.7, ("cong-hem",)), night)  # another camera and site
    assert not matches(config, Seen(3, None, "car", 0.9, ("cong-hem",)), night)
    assert not matches(config, Seen(3, None, "person", 0.59, ("cong-hem",)), night)
    assert not matches(config, Seen(3, None, "person", 0.9, ("via-he",)), night)


def test_bad_rules_are_refused_field_by_field_in_the_users_words() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        RuleConfig.model_validate({"windows": [{"start": "25:00", "end": "04:00"}], "template_vi": "{camera} {pass}",
                                   "days": [9], "target_ids": [1]})  # fmt: skip
    messages = NotifyInputInvalid(caught.value).field_messages("", "vi")
    assert messages["windows.0.start"] == "Giờ phải có dạng HH:MM, vd. 20:00."
    assert messages["template_vi"] == "Không có ô pass để điền; xem danh sách bên dưới."
    assert messages["days"] == "Ngày không hợp lệ."


async def test_patrol_rule_sends_people_at_the_alley_at_night_only(
    world: World, receivers: Callable[[Mode], Receiver]
) -> None:
    group = receivers("ok")
    target = await webhook_target(world, group, "Tổ tuần tra phường")
    await rule(world, "Người ở hẻm 12 ban đêm", [target.id], site_ids=[world.site_id], labels=["person"],
               min_score=0.5, windows=PATROL, cooldown_s=0)  # fmt: skip

    await seen(world, world.camera_id, start=local(0, 23, 58))  # Monday 23:58
    await seen(world, world.camera_id, start=local(1, 0, 2))  # Tuesday 00:02, across midnight
    await seen(world, world.camera_id, start=local(1, 12, 0))  # noon: not in the shifts
    await seen(world, world.camera_id, "car", start=local(1, 0, 5))  # not a person
    await seen(world, world.other_camera_id, start=local(1, 0, 5))  # another site
    await seen(world, world.camera_id, score=0.3, start=local(1, 0, 6))  # not sure enough
    await until(lambda: len(group.received) >= 2, 5, "two deliveries")
    await asyncio.sleep(0.5)
    assert len(group.received) == 2
    assert {r.body["title"] for r in group.received} == {"🚨 Người tại Hẻm 12 – đầu hẻm"}
    first, second = sorted(group.messages(), key=lambda m: "23/11" not in m)
    assert first.startswith("Người tại Hẻm 12 – đầu hẻm (Hẻm 12 Nguyễn Trãi) lúc 23:58:00 23/11/2026. Xem: http")
    assert "/events?id=" in first
    assert second.startswith("Người tại Hẻm 12 – đầu hẻm (Hẻm 12 Nguyễn Trãi) lúc 00:02:00 24/11/2026.")


async def test_the_cooldown_lets_one_through_per_camera_and_label_every_five_minutes(
    world: World, receivers: Callable[[Mode], Receiver]
) -> None:
    group = receivers("ok")
    target = await webhook_target(world, group, "Nhóm dân phố")
    await rule(world, "Mọi chuyển động", [target.id], attach_snapshot=False,
               template_en="{label} on {camera}", language="en")  # fmt: skip
    start = datetime(2026, 11, 28, 21, 0).astimezone()
    world.clock.fixed = start
    for _ in range(3):  # a busy intersection: the same camera and label again and again
        await seen(world, world.other_camera_id, "motorcycle", snapshot=None)
    await seen(world, world.other_camera_id, "person", snapshot=None)  # another label goes through
    await seen(world, world.camera_id, "motorcycle", snapshot=None)  # another camera too
    world.clock.fixed = start + timedelta(minutes=4, seconds=59)
    await seen(world, world.other_camera_id, "motorcycle", snapshot=None)  # still cooling down
    world.clock.fixed = start + timedelta(minutes=5)
    await seen(world, world.other_camera_id, "motorcycle", snapshot=None)  # five minutes on: again
    await until(lambda: len(group.received) >= 4, 5, "four deliveries")
    await asyncio.sleep(0.5)
    assert sorted(group.messages()) == sorted(["Motorbike on Ngã tư chợ", "Person on Ngã tư chợ",
                                               "Motorbike on Hẻm 12 – đầu hẻm", "Motorbike on Ngã tư chợ"])  # fmt: skip


async def test_the_snapshot_arrives_intact_and_a_muted_camera_says_nothing(
    world: World, receivers: Callable[[Mode], Receiver]
) -> None:
    group = receivers("ok")
    target = await webhook_target(world, group, "Công an phường")
    await rule(world, "Có người", [target.id], labels=["person"], cooldown_s=0)
    picture = JPEG + bytes(range(256)) * 400  # about 100 KB, every byte value
    await seen(world, world.camera_id, snapshot=picture)
    await until(lambda: len(group.received) == 1, 5, "the delivery")
    [attachment] = group.received[0].body["attachments"]
    assert attachment["mimetype"] == "image/jpeg"
    assert group.received[0].attachment() == picture

    await world.notify.mutes.create(None, world.site_id, datetime.now().astimezone() + timedelta(hours=2),
                                    "Thay dây mạng", None)  # fmt: skip
    await seen(world, world.camera_id)
    await seen(world, world.other_camera_id)  # not at the muted site
    await until(lambda: len(group.received) == 2, 5, "the unmuted camera's delivery")
    await asyncio.sleep(0.5)
    assert len(group.received) == 2
    assert "Ngã tư chợ" in group.received[1].body["title"]
