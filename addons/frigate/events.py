"""Frigate's MQTT messages read into typed values, by pure functions that never raise.

Every function here takes the payload as the broker delivered it and returns either the value or a
`Malformed` (falsy, with the reason), whatever the bytes: invalid JSON, wrong types, NaN, huge
numbers, deep nesting, megabytes. What Frigate documents (docs/integrations/mqtt.md):

- `frigate/events`: {"type": "new"|"update"|"end", "before": {...}, "after": {...}}, each object
  with id, camera, label, sub_label (null, a string, or [name, score]), top_score, score,
  start_time, end_time (epoch seconds), current_zones, entered_zones, has_snapshot, has_clip,
  false_positive.
- `frigate/reviews`: the same envelope around a review item: id, camera, start_time, end_time,
  severity ("alert"|"detection"), data {detections, objects, sub_labels, zones, audio}.
- `frigate/available`: "online" or "offline".
- `frigate/<camera>/status/<role>`: "online", "offline" or "disabled" for audio, detect, record.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError

from appliance.detections import DetectionReport

SOURCE = "frigate"
MAX_PAYLOAD = 256 * 1024  # a real event is a few kilobytes; anything near this is not Frigate's
CAMERA_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what Frigate accepts as a camera name
EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # Frigate's ids look like 1607123955.475377-mxklsc
ROLE = re.compile(r"[a-z_]{1,32}")
MAX_LABEL = 64
MAX_SUB_LABEL = 128
MAX_ZONE = 64
MAX_ZONES = 32
LAST_TIME = 32503680000.0  # 3000-01-01: later epoch seconds are not a real time

EventType = Literal["new", "update", "end"]
Severity = Literal["alert", "detection"]
CameraState = Literal["online", "offline", "disabled"]
TYPES: tuple[EventType, ...] = ("new", "update", "end")


@dataclass(frozen=True)
class Malformed:
    """A payload that could not be used, and why (for the log and the malformed counter)."""

    why: str

    def __bool__(self) -> bool:
        return False


@dataclass(frozen=True)
class FrigateEvent:
    """One tracked object as one message about it describes it."""

    type: EventType
    id: str
    camera: str
    label: str
    sub_label: str
    top_score: float
    score: float
    zones: tuple[str, ...]
    start_time: float
    end_time: float | None
    has_snapshot: bool
    has_clip: bool
    false_positive: bool


@dataclass(frozen=True)
class FrigateReview:
    """One review item (a stretch of activity on a camera, alert or detection)."""

    type: EventType
    id: str
    camera: str
    severity: Severity
    start_time: float
    end_time: float | None
    objects: tuple[str, ...]
    detections: tuple[str, ...]  # the ids of the tracked objects in it
    zones: tuple[str, ...]


@dataclass(frozen=True)
class CameraStatus:
    """The health of one role (audio, detect, record) of one Frigate camera."""

    camera: str
    role: str
    state: CameraState


class _Bad(Exception):
    """Raised inside the parsers; turned into Malformed at their edge."""


# --- pieces -------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _load(payload: bytes) -> Any:
    if not isinstance(payload, bytes | bytearray):
        raise _Bad("not bytes")
    if len(payload) > MAX_PAYLOAD:
        raise _Bad(f"{len(payload)} bytes, more than {MAX_PAYLOAD}")
    try:
        return json.loads(payload, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise _Bad(f"not JSON ({type(exc).__name__})") from None


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(f"{what} is not an object")
    return value


def _text(obj: dict[str, Any], key: str, pattern: re.Pattern[str] | None = None, limit: int = 0) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise _Bad(f"{key} is not text")
    value = value.strip()
    if pattern is not None and not pattern.fullmatch(value):
        raise _Bad(f"{key} is not a valid name")
    if not value or (limit and len(value) > limit) or not value.isprintable():
        raise _Bad(f"{key} is empty, too long or unprintable")
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(f"{key} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise _Bad(f"{key} is not finite")
    return number


def _score(obj: dict[str, Any], key: str) -> float | None:
    if obj.get(key) is None:
        return None
    score = _number(obj[key], key)
    if not 0.0 <= score <= 1.0:
        raise _Bad(f"{key} is not between 0 and 1")
    return score


def _time(obj: dict[str, Any], key: str, required: bool) -> float | None:
    if obj.get(key) is None:
        if required:
            raise _Bad(f"{key} is missing")
        return None
    seconds = _number(obj[key], key)
    if not 0.0 < seconds < LAST_TIME:
        raise _Bad(f"{key} is not a time")
    return seconds


def _flag(obj: dict[str, Any], key: str) -> bool:
    value = obj.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _Bad(f"{key} is not true or false")
    return value


def _names(obj: dict[str, Any], *keys: str) -> list[str]:
    """Return the strings of some lists (zones, objects), in order, once each, each cut to MAX_ZONE."""
    found: list[str] = []
    for key in keys:
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _Bad(f"{key} is not a list of names")
        for name in value:
            name = name.strip()[:MAX_ZONE]
            if name and name.isprintable() and name not in found:
                found.append(name)
    return found


def _sub_label(value: Any) -> str:
    """Return Frigate's sub label as text: null, "name", or ["name", score] (newer versions)."""
    if value is None:
        return ""
    if isinstance(value, list) and 1 <= len(value) <= 2 and isinstance(value[0], str | type(None)):
        if len(value) == 2 and value[1] is not None:
            _number(value[1], "sub_label score")
        value = value[0] or ""
    if not isinstance(value, str):
        raise _Bad("sub_label is neither text nor [name, score]")
    text = value.strip()[:MAX_SUB_LABEL]
    return text if text.isprintable() else ""


def _envelope(payload: bytes) -> tuple[EventType, dict[str, Any], dict[str, Any] | None]:
    """Return (type, the newest state, the state before) of a {type, before, after} message."""
    message = _object(_load(payload), "the message")
    kind = message.get("type")
    if kind not in TYPES:
        raise _Bad("type is not new, update or end")
    before, after = message.get("before"), message.get("after")
    if after is None and before is None:
        raise _Bad("neither before nor after")
    now = _object(after if after is not None else before, "after")
    earlier = _object(before, "before") if before is not None and after is not None else None
    if earlier is not None and (earlier.get("id") != now.get("id") or earlier.get("camera") != now.get("camera")):
        raise _Bad("before and after are not the same object")
    return kind, now, earlier


# --- messages -----------------------------------------------------------------------------------


def parse_event(payload: bytes) -> FrigateEvent | Malformed:
    """Read one `frigate/events` message; never raises."""
    try:
        kind, now, earlier = _envelope(payload)
        both = [now] if earlier is None else [earlier, now]
        scores = [s for obj in both for s in (_score(obj, "top_score"), _score(obj, "score")) if s is not None]
        label = _text(now, "label", limit=MAX_LABEL)
        sub_label = _sub_label(now.get("sub_label"))
        if not sub_label and earlier is not None:
            sub_label = _sub_label(earlier.get("sub_label"))
        zones = [z for obj in both for z in _names(obj, "current_zones", "entered_zones")]
        start = _time(now, "start_time", required=True)
        assert start is not None
        return FrigateEvent(
            type=kind,
            id=_text(now, "id", EVENT_ID),
            camera=_text(now, "camera", CAMERA_NAME),
            label=label,
            sub_label=sub_label,
            top_score=max(scores, default=0.0),
            score=_score(now, "score") or 0.0,
            zones=tuple(dict.fromkeys(zones))[:MAX_ZONES],
            start_time=start,
            end_time=_time(now, "end_time", required=False),
            has_snapshot=_flag(now, "has_snapshot"),
            has_clip=_flag(now, "has_clip"),
            false_positive=_flag(now, "false_positive"),
        )
    except _Bad as bad:
        return Malformed(str(bad))


def parse_review(payload: bytes) -> FrigateReview | Malformed:
    """Read one `frigate/reviews` message; never raises."""
    try:
        kind, now, _ = _envelope(payload)
        severity = now.get("severity")
        if severity not in ("alert", "detection"):
            raise _Bad("severity is not alert or detection")
        data = _object(now.get("data") or {}, "data")
        detections = _names(data, "detections")
        if not all(EVENT_ID.fullmatch(d) for d in detections):
            raise _Bad("detections are not event ids")
        start = _time(now, "start_time", required=True)
        assert start is not None
        return FrigateReview(
            type=kind,
            id=_text(now, "id", EVENT_ID),
            camera=_text(now, "camera", CAMERA_NAME),
            severity=severity,
            start_time=start,
            end_time=_time(now, "end_time", required=False),
            objects=tuple(_names(data, "objects")[:MAX_ZONES]),
            detections=tuple(detections[:256]),
            zones=tuple(_names(data, "zones")[:MAX_ZONES]),
        )
    except _Bad as bad:
        return Malformed(str(bad))


def parse_available(payload: bytes) -> bool | Malformed:
    """Read `frigate/available`: True for "online", False for "offline"; never raises."""
    text = bytes(payload[:16]).strip().lower() if isinstance(payload, bytes | bytearray) else b""
    if text == b"online":
        return True
    if text == b"offline":
        return False
    return Malformed("availability is neither online nor offline")


def parse_camera_status(prefix: str, topic: str, payload: bytes) -> CameraStatus | Malformed:
    """Read `<prefix>/<camera>/status/<role>`; never raises."""
    rest = topic[len(prefix) + 1 :] if topic.startswith(prefix + "/") else ""
    parts = rest.split("/")
    if len(parts) != 3 or parts[1] != "status" or not CAMERA_NAME.fullmatch(parts[0]) or not ROLE.fullmatch(parts[2]):
        return Malformed("not a camera status topic")
    if not isinstance(payload, bytes | bytearray):
        return Malformed("not bytes")
    state = bytes(payload[:16]).strip().lower().decode("ascii", errors="replace")
    if state not in ("online", "offline", "disabled"):
        return Malformed("camera status is not online, offline or disabled")
    return CameraStatus(parts[0], parts[2], state)  # type: ignore[arg-type]


# --- to the detections store ---------------------------------------------------------------------


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def to_report(event: FrigateEvent, camera_id: int | None) -> DetectionReport | Malformed:
    """Return the detection report one event message makes (source "frigate", id = Frigate's); never raises."""
    try:
        return DetectionReport(
            source=SOURCE,
            external_id=event.id,
            phase=event.type,
            camera_id=camera_id,
            source_camera=event.camera,
            label=event.label,
            sub_label=event.sub_label,
            score=event.top_score,
            zones=event.zones,
            start=_utc(event.start_time),
            end=_utc(event.end_time) if event.end_time is not None else None,
            has_clip=event.has_clip,
        )
    except (ValidationError, ValueError, OverflowError, OSError) as exc:
        return Malformed(f"not a valid detection ({type(exc).__name__})")
