"""Frigate's MQTT messages, as documented, are read into detections; anything else is refused with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from addons.frigate.events import (
    MAX_PAYLOAD,
    CameraStatus,
    FrigateEvent,
    FrigateReview,
    Malformed,
    parse_available,
    parse_camera_status,
    parse_event,
    parse_review,
    to_report,
)
from appliance.detections import DetectionReport
from tests.addons.frigate.payloads import T0, event, review, tracked_object


def test_a_person_entering_the_alley_is_read_with_its_best_score_and_every_zone() -> None:
    message = event(
        "update", "1764279000.475377-mxklsc", "cong_truoc", score=0.87890625, top_score=0.958984375,
        current_zones=["hem", "cong"], entered_zones=["via_he", "hem", "cong"], has_snapshot=True,
    )  # fmt: skip
    parsed = parse_event(message)
    assert parsed == FrigateEvent(
        type="update", id="1764279000.475377-mxklsc", camera="cong_truoc", label="person", sub_label="",
        top_score=0.958984375, score=0.87890625, zones=("hem", "via_he", "cong"), start_time=T0, end_time=None,
        has_snapshot=True, has_clip=False, false_positive=False,
    )  # fmt: skip

    report = to_report(parsed, camera_id=4)
    assert isinstance(report, DetectionReport)
    assert (report.source, report.external_id, report.phase, report.camera_id) == (
        "frigate", "1764279000.475377-mxklsc", "update", 4)  # fmt: skip
    assert (report.source_camera, report.label, report.score, report.zones) == (
        "cong_truoc", "person", 0.958984375, ("hem", "via_he", "cong"))  # fmt: skip
    assert report.start == datetime.fromtimestamp(T0, UTC) and report.end is None


@pytest.mark.parametrize(
    ("sub_label", "read"),
    [(None, ""), ("Nguyễn Văn Nam", "Nguyễn Văn Nam"), (["Nguyễn Văn Nam", 0.79], "Nguyễn Văn Nam"), (["Bob"], "Bob")],
)
def test_frigates_sub_label_is_read_whether_it_is_null_a_name_or_a_name_with_its_score(
    sub_label: object, read: str
) -> None:
    parsed = parse_event(event("update", "e1", "hem_5", sub_label=sub_label))
    assert isinstance(parsed, FrigateEvent) and parsed.sub_label == read


def test_the_end_of_an_event_carries_its_end_time_and_an_unknown_camera_stays_unlinked() -> None:
    parsed = parse_event(event("end", "e2", "camera_la", "car", end=T0 + 42.5, has_snapshot=True))
    assert isinstance(parsed, FrigateEvent)
    assert (parsed.type, parsed.end_time, parsed.label) == ("end", T0 + 42.5, "car")
    report = to_report(parsed, camera_id=None)
    assert isinstance(report, DetectionReport)
    assert report.camera_id is None and report.source_camera == "camera_la"
    assert report.end == datetime.fromtimestamp(T0 + 42.5, UTC)


def test_an_event_with_only_an_after_side_is_read() -> None:
    only_after = json.dumps({"type": "new", "after": tracked_object("e3", "hem_5", "bicycle")}).encode()
    parsed = parse_event(only_after)
    assert isinstance(parsed, FrigateEvent) and parsed.label == "bicycle"


def _with(**changes: object) -> bytes:
    """Return an update whose before and after both have these fields changed."""
    before, after = tracked_object("e4", "hem_5"), tracked_object("e4", "hem_5")
    before.update(changes)
    after.update(changes)
    return json.dumps({"type": "update", "before": before, "after": after}).encode()


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe not utf-8", "not JSON"),
        (b'{"type": "new"', "not JSON"),
        (b"[" * 300_000 + b"]" * 300_000, "more than"),
        (b"[" * 50_000 + b"]" * 50_000, "not JSON"),
        (b"x" * (MAX_PAYLOAD + 1), "more than"),
        (b"[1, 2, 3]", "the message is not an object"),
        (b'{"type": "created", "after": {}}', "type is not new, update or end"),
        (b'{"type": "new"}', "neither before nor after"),
        (b'{"type": "new", "after": "person"}', "after is not an object"),
        (_with(id="../../config/save"), "id is not a valid name"),
        (_with(camera="cổng trước"), "camera is not a valid name"),
        (_with(camera=7), "camera is not text"),
        (_with(label=""), "label is empty"),
        (_with(top_score="0.9"), "top_score is not a number"),
        (_with(top_score=True), "top_score is not a number"),
        (_with(score=1.5), "score is not between 0 and 1"),
        (b'{"type": "new", "after": {"id": "e", "camera": "c", "label": "person", "start_time": NaN}}', "not JSON"),
        (_with(start_time=1).replace(b'"start_time": 1,', b'"start_time": 1e999,'), "start_time is not finite"),
        (_with(start_time=None), "start_time is missing"),
        (_with(start_time=-5), "start_time is not a time"),
        (_with(end_time="later"), "end_time is not a number"),
        (_with(current_zones="hem"), "current_zones is not a list of names"),
        (_with(has_snapshot="yes"), "has_snapshot is not true or false"),
        (_with(sub_label={"name": "Nam"}), "sub_label is neither text nor [name, score]"),
        (
            json.dumps(
                {"type": "end", "before": tracked_object("e4", "hem_5"), "after": tracked_object("e5", "hem_5")}
            ).encode(),
            "before and after are not the same object",
        ),
    ],
)
def test_payloads_frigate_never_sends_are_refused_with_a_reason_and_nothing_raises(payload: bytes, why: str) -> None:
    parsed = parse_event(payload)
    assert isinstance(parsed, Malformed) and not parsed
    assert why in parsed.why


def test_reviews_availability_and_camera_health_are_read() -> None:
    parsed = parse_review(review("update", "1764279129.3-fqk5ka", "cong_truoc", detections=["e1", "e2"],
                                 objects=["person", "car"], end=T0 + 30))  # fmt: skip
    assert parsed == FrigateReview(type="update", id="1764279129.3-fqk5ka", camera="cong_truoc", severity="alert",
                                   start_time=T0, end_time=T0 + 30, objects=("person", "car"),
                                   detections=("e1", "e2"), zones=())  # fmt: skip
    assert isinstance(parse_review(b'{"type": "new", "after": {"severity": "panic"}}'), Malformed)

    assert parse_available(b"online") is True
    assert parse_available(b"offline") is False
    assert isinstance(parse_available(b"\x00" * 10_000), Malformed)

    assert parse_camera_status("frigate", "frigate/hem_5/status/detect", b"offline") == CameraStatus(
        "hem_5", "detect", "offline")  # fmt: skip
    assert isinstance(parse_camera_status("frigate", "frigate/hem_5/status/detect", b"on fire"), Malformed)
    assert isinstance(parse_camera_status("frigate", "frigate/hem 5/status/detect", b"online"), Malformed)
    assert isinstance(parse_camera_status("frigate", "frigate/hem_5/detect/state", b"ON"), Malformed)
