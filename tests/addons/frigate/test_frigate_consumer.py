"""Frigate publishes its detections on a real Mosquitto; WardCam stores each once, with its snapshot, whatever comes.

Frigate itself is a plain MQTT client here (a Watcher), publishing the payloads its documentation
shows, and the stand-in of its HTTP API serves the snapshots.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from addons import frigate as frigate_addon
from appliance.addons.manager import AddonManager
from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.cameras import CameraInput, Cameras
from appliance.db.models.cameras import Camera
from appliance.db.models.detections import Detection
from appliance.db.models.users import Role
from appliance.detections import Detections
from appliance.mqtt import MqttService
from tests.addons.frigate.fake_frigate import FakeFrigate, jpeg
from tests.addons.frigate.payloads import T0, event, review
from tests.appliance.mqtt.conftest import Watcher
from tests.harness.fixtures import RunningBroker
from tests.harness.waiting import until

SECONDS = 10.0
ADMIN = Principal(user_id=1, username="admin", display_name="", role=Role.ADMIN, language="vi")


async def start_addon(manager: AddonManager, frigate: FakeFrigate, prefix: str, **options: object) -> None:
    """Point the add-on at Frigate and turn it on, as staff do on the Add-ons page."""
    await manager.configure("frigate", {"url": frigate.url, "topic_prefix": prefix, **options})
    addon = await manager.enable("frigate")
    assert addon.running, addon.error


async def frigate_comes_online(frigate_mqtt: Watcher, prefix: str) -> None:
    """Frigate says "online" (retained, as it does) until WardCam has heard it: its subscriptions are in place."""
    frigate_mqtt.publish(f"{prefix}/available", b"online", retain=True)
    await until(lambda: frigate_addon.running().state.available is True, SECONDS, "WardCam hearing Frigate online")


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def one_detection(event_id: str) -> Detection:
    return await Detection.get(source="frigate", external_id=event_id)


async def test_a_person_at_the_gate_from_new_to_end_is_one_detection_with_its_snapshot_kept_locally(
    manager: AddonManager, frigate_open: FakeFrigate, mosquitto: RunningBroker, prefix: str,
    watchers: Callable[..., Watcher], detections: Detections, db: Path,
) -> None:  # fmt: skip
    gate = await Camera.create(name="Cổng trước", main_url="rtsp://127.0.0.1:8554/cam1", enabled=False)
    await start_addon(manager, frigate_open, prefix)
    frigate = watchers(mosquitto.host, mosquitto.port)
    await frigate_comes_online(frigate, prefix)
    event_id = "1764279000.475377-mxklsc"
    frigate_open.snapshots[event_id] = jpeg("red")
    frigate_open.snapshot_failures = 1  # Frigate is still writing it the first time WardCam asks

    seen = {"current_zones": ["hem"], "entered_zones": ["via_he", "hem"], "has_snapshot": True, "top_score": 0.93}
    events = f"{prefix}/events"
    frigate.publish(events, event("new", event_id, "cong_truoc", top_score=0.61, score=0.61))
    frigate.publish(events, event("update", event_id, "cong_truoc", score=0.88, sub_label=["Nguyễn Văn Nam", 0.79],
                                  **seen))  # fmt: skip
    frigate.publish(events, event("end", event_id, "cong_truoc", score=0.7, end=T0 + 42.5, **seen))

    async def ended_with_snapshot() -> bool:
        row = await Detection.get_or_none(source="frigate", external_id=event_id)
        return row is not None and row.end is not None and bool(row.snapshot_path)

    await until(ended_with_snapshot, SECONDS, "the detection ending with its snapshot kept")
    row = await one_detection(event_id)
    assert (row.camera_id, row.source_camera, row.label, row.sub_label) == (gate.id, "cong_truoc", "person",
                                                                            "Nguyễn Văn Nam")  # fmt: skip
    assert row.top_score == 0.93 and sorted(row.zones) == ["hem", "via_he"]
    assert (row.start, row.end) == (utc(T0), utc(T0 + 42.5))
    assert (db / row.snapshot_path).read_bytes() == jpeg("red")
    assert detections.snapshot_file(row) == (db / row.snapshot_path).resolve()
    assert await Detection.all().count() == 1
    counts = frigate_addon.running().snapshots.counts  # type: ignore[union-attr]
    assert counts.failed == 0 and counts.kept >= 1


async def test_repeated_out_of_order_and_missing_messages_each_end_up_as_one_right_detection(
    manager: AddonManager, frigate_open: FakeFrigate, mosquitto: RunningBroker, prefix: str,
    watchers: Callable[..., Watcher],
) -> None:  # fmt: skip
    await start_addon(manager, frigate_open, prefix, fetch_snapshots=False)
    frigate = watchers(mosquitto.host, mosquitto.port)
    await frigate_comes_online(frigate, prefix)
    shuffled = [  # a motorbike whose messages came back to front, some twice
        event("end", "moto-1", "hem_5", "motorcycle", top_score=0.9, end=T0 + 20, entered_zones=["hem"]),
        event("update", "moto-1", "hem_5", "motorcycle", top_score=0.9, current_zones=["via_he"]),
        event("new", "moto-1", "hem_5", "motorcycle", top_score=0.55),
        event("end", "moto-1", "hem_5", "motorcycle", top_score=0.9, end=T0 + 20),
        event("update", "moto-1", "hem_5", "motorcycle", top_score=0.72),
        # a car whose new and update were lost: only its end arrived
        event("end", "car-1", "hem_5", "car", start=T0 + 5, end=T0 + 9, top_score=0.8),
        # a bicycle announced twice
        event("new", "bike-1", "hem_5", "bicycle", start=T0 + 7, top_score=0.66),
        event("new", "bike-1", "hem_5", "bicycle", start=T0 + 7, top_score=0.66),
    ]
    for payload in shuffled:
        frigate.publish(f"{prefix}/events", payload)
    await until(lambda: frigate_addon.running().state.events_stored == len(shuffled), SECONDS, "every message stored")

    assert await Detection.all().count() == 3
    moto = await one_detection("moto-1")
    assert (moto.label, moto.top_score, moto.start, moto.end) == ("motorcycle", 0.9, utc(T0), utc(T0 + 20))
    assert sorted(moto.zones) == ["hem", "via_he"]
    car = await one_detection("car-1")
    assert (car.start, car.end, car.top_score) == (utc(T0 + 5), utc(T0 + 9), 0.8)
    bike = await one_detection("bike-1")
    assert bike.end is None and bike.camera_id is None and bike.source_camera == "hem_5"


async def test_junk_on_frigates_topics_is_counted_and_the_detections_after_it_are_still_stored(
    manager: AddonManager, frigate_open: FakeFrigate, mosquitto: RunningBroker, prefix: str,
    watchers: Callable[..., Watcher], mqtt_to_broker: MqttService,
) -> None:  # fmt: skip
    frigate = watchers(mosquitto.host, mosquitto.port)
    frigate.publish(f"{prefix}/events", b"retained junk from an old test rig", retain=True)
    await start_addon(manager, frigate_open, prefix, fetch_snapshots=False,
                      camera_links=["nha_kho=", "cong_sau=999"])  # fmt: skip
    await frigate_comes_online(frigate, prefix)
    junk = [
        b"{not json",
        b"\xff\xfe\x00",
        json.dumps({"type": "new", "after": {"id": 5, "camera": [], "label": None}}).encode(),
        json.dumps({"type": "update", "after": {"id": "x", "camera": "hem_5", "start_time": "yesterday"}}).encode(),
        b"[" * 200_000 + b"]" * 200_000,  # 400 kB of nesting
        b"A" * 3_000_000,  # megabytes
        event("new", "../../api/config/save", "hem_5"),
    ]
    for payload in junk:
        frigate.publish(f"{prefix}/events", payload)
    frigate.publish(f"{prefix}/available", b"maybe")
    frigate.publish(f"{prefix}/hem_5/status/detect", b"\x00\x01")
    frigate.publish(f"{prefix}/reviews", b"{}")
    frigate.publish(f"{prefix}/events", event("new", "person-after-junk", "nha_kho", top_score=0.7))
    frigate.publish(f"{prefix}/events", event("new", "person-2", "cong_sau", top_score=0.7))

    state = frigate_addon.running().state
    await until(lambda: state.events_stored == 2, SECONDS, "the two good events stored after the junk")
    expected = 1 + len(junk) + 3  # the retained junk, the junk events, and one each on available, status, reviews
    await until(lambda: state.malformed == expected, SECONDS, f"{expected} malformed payloads counted")
    assert mqtt_to_broker.status.malformed == expected
    assert mqtt_to_broker.status.handler_failures == 0
    for event_id in ("person-after-junk", "person-2"):  # "not a WardCam camera", and a link to a deleted camera
        row = await one_detection(event_id)
        assert row.camera_id is None
    assert await Detection.all().count() == 2
    assert state.available is True  # "maybe" changed nothing
    frigate.publish(f"{prefix}/events", b"", retain=True)  # take the retained junk away


async def test_frigates_availability_camera_health_and_reviews_show_in_the_addons_state(
    manager: AddonManager, frigate_open: FakeFrigate, mosquitto: RunningBroker, prefix: str,
    watchers: Callable[..., Watcher],
) -> None:  # fmt: skip
    await Camera.create(name="Hẻm 5", main_url="rtsp://127.0.0.1:8554/cam2", enabled=False)
    await start_addon(manager, frigate_open, prefix)
    frigate = watchers(mosquitto.host, mosquitto.port)
    await frigate_comes_online(frigate, prefix)
    rt = frigate_addon.running()
    await until(lambda: rt.state.api.ok, SECONDS, "the first call to Frigate's API")
    assert rt.state.api.version == "0.16.2-4d58206" and rt.state.api.cameras == ("cong_truoc", "hem_5")

    frigate.publish(f"{prefix}/hem_5/status/detect", b"offline")
    frigate.publish(f"{prefix}/hem_5/status/record", b"disabled")
    frigate.publish(f"{prefix}/reviews", review("new", "1764279129.3-fqk5ka", "hem_5", detections=["e1"]))
    await until(lambda: rt.state.reviews_received == 1, SECONDS, "the review")
    hem = rt.state.cameras["hem_5"]
    assert hem.status == {"detect": "offline", "record": "disabled"}
    assert hem.last_review is not None and hem.last_review.severity == "alert"
    assert rt.cameras.resolve("hem_5") == ((await Camera.get(name="Hẻm 5")).id, "auto")

    health = await frigate_addon.frigate_health()
    assert health.ok and health.params["version"] == "0.16.2-4d58206"
    frigate.publish(f"{prefix}/available", b"offline", retain=True)
    await until(lambda: rt.state.available is False, SECONDS, "Frigate going offline")
    health = await frigate_addon.frigate_health()
    assert not health.ok and health.message_key == "addon.frigate.health.offline"
    frigate.publish(f"{prefix}/available", b"", retain=True)
    await asyncio.sleep(0)


async def test_a_camera_added_while_frigate_runs_gets_frigates_detections_from_then_on(
    manager: AddonManager, frigate_open: FakeFrigate, mosquitto: RunningBroker, prefix: str,
    watchers: Callable[..., Watcher], detections: Detections, db: Path,
) -> None:  # fmt: skip
    await start_addon(manager, frigate_open, prefix, fetch_snapshots=False)
    frigate = watchers(mosquitto.host, mosquitto.port)
    await frigate_comes_online(frigate, prefix)
    state = frigate_addon.running().state
    frigate.publish(f"{prefix}/events", event("new", "before-1", "nha_kho"))
    await until(lambda: state.events_stored == 1, SECONDS, "the first event stored")
    assert (await one_detection("before-1")).camera_id is None

    cameras = Cameras(AuditLog(db / "audit-head.json"), detections.bus)  # as the Cameras page adds one
    store = await cameras.create_camera(CameraInput(name="Nhà kho", main_url="rtsp://127.0.0.1:8554/cam4",
                                                    enabled=False), who=ADMIN)  # fmt: skip
    await until(lambda: frigate_addon.running().cameras.camera_id("nha_kho") == store.id, SECONDS,
                "the add-on learning of the new camera")  # fmt: skip
    frigate.publish(f"{prefix}/events", event("new", "after-1", "nha_kho"))
    await until(lambda: state.events_stored == 2, SECONDS, "the second event stored")
    assert (await one_detection("after-1")).camera_id == store.id
