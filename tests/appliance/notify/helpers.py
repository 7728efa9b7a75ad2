"""What the notification tests do again and again: make a target and a rule, report what a camera saw."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from appliance.detections import DetectionReport
from appliance.notify.rulebook import RuleView
from appliance.notify.targets import TargetView
from tests.appliance.notify.conftest import JPEG, World
from tests.appliance.notify.receivers import Receiver

_ids = itertools.count(1)


async def webhook_target(world: World, receiver: Receiver, name: str) -> TargetView:
    """Add a JSON webhook target the way staff do, through its friendly form."""
    return await world.notify.targets.create(name, "webhook", {"url": receiver.url()}, None)


async def rule(world: World, name: str, target_ids: list[int], **config: Any) -> RuleView:
    """Add a rule (defaults: any camera, any label, all day, snapshot attached, 5 min cooldown)."""
    return await world.notify.rules.create(name, {"target_ids": target_ids, **config}, None)


async def seen(
    world: World,
    camera_id: int | None,
    label: str = "person",
    *,
    score: float = 0.9,
    zones: tuple[str, ...] = (),
    start: datetime | None = None,
    snapshot: bytes | None = JPEG,
) -> int:
    """Report a detection as a source does: the detection, then its snapshot."""
    row_id = await world.detections.report(DetectionReport(
        source="test", external_id=f"ev-{next(_ids)}", phase="new", camera_id=camera_id, label=label,
        score=score, zones=zones, start=start or datetime.now(UTC)))  # fmt: skip
    if snapshot is not None:
        await world.detections.attach_snapshot(row_id, snapshot)
    return row_id
