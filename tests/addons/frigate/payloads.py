"""Frigate's MQTT payloads in the shapes its documentation gives (docs/integrations/mqtt.md).

`event()` is one message on frigate/events: {"type", "before", "after"}, each side a whole tracked
object with the fields Frigate sends; `review()` one on frigate/reviews. Times are epoch seconds.
"""

from __future__ import annotations

import json
from typing import Any

T0 = 1764279000.0  # 2025-11-27 21:30 UTC, a Thursday evening in the ward


def tracked_object(event_id: str, camera: str, label: str = "person", *, start: float = T0, end: float | None = None,
                   score: float = 0.79, top_score: float = 0.87, sub_label: Any = None,
                   current_zones: list[str] | None = None, entered_zones: list[str] | None = None,
                   has_snapshot: bool = False, has_clip: bool = False) -> dict[str, Any]:  # fmt: skip
    """Return one side (before or after) of an events message."""
    return {
        "id": event_id,
        "camera": camera,
        "frame_time": start + 6.3,
        "snapshot": {"frame_time": start + 4.1, "box": [415, 489, 528, 700], "area": 12728,
                     "region": [260, 446, 660, 846], "score": 0.77546, "attributes": []},
        "label": label,
        "sub_label": sub_label,
        "top_score": top_score,
        "false_positive": False,
        "start_time": start,
        "end_time": end,
        "score": score,
        "box": [424, 500, 536, 712],
        "area": 23744,
        "ratio": 2.113207,
        "region": [264, 450, 667, 853],
        "current_zones": current_zones or [],
        "entered_zones": entered_zones or [],
        "thumbnail": None,
        "has_snapshot": has_snapshot,
        "has_clip": has_clip,
        "active": True,
        "stationary": False,
        "motionless_count": 0,
        "position_changes": 2,
        "attributes": {},
        "current_attributes": [],
        "current_estimated_speed": 0.71,
        "velocity_angle": 180,
        "recognized_license_plate": None,
        "recognized_license_plate_score": None,
    }  # fmt: skip


def event(kind: str, event_id: str, camera: str, label: str = "person", **after: Any) -> bytes:
    """Return a frigate/events message: `after` as given, `before` the same object a moment earlier."""
    now = tracked_object(event_id, camera, label, **after)
    earlier = dict(now, score=max(0.0, now["score"] - 0.1), current_zones=now["current_zones"][:1],
                   entered_zones=now["entered_zones"][:1], end_time=None, has_snapshot=False,
                   sub_label=None)  # fmt: skip
    return json.dumps({"type": kind, "before": earlier, "after": now}).encode()


def review(kind: str, review_id: str, camera: str, *, severity: str = "alert", detections: list[str] | None = None,
           objects: list[str] | None = None, start: float = T0, end: float | None = None) -> bytes:  # fmt: skip
    """Return a frigate/reviews message."""
    item = {
        "id": review_id, "camera": camera, "start_time": start, "end_time": end, "severity": severity,
        "thumb_path": f"/media/frigate/clips/review/thumb-{camera}-{review_id}.webp",
        "data": {"detections": detections or [], "objects": objects or ["person"], "sub_labels": [],
                 "zones": [], "audio": []},
    }  # fmt: skip
    return json.dumps({"type": kind, "before": dict(item, severity="detection"), "after": item}).encode()
