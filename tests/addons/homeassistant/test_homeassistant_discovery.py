"""Staff enable the Home Assistant add-on: each camera appears on the broker as one Home Assistant device.

Everything runs for real: the appliance (SQLite, recorder, live view, detections, MQTT, add-ons),
a Mosquitto of the test's own, the RTSP test cameras. A plain MQTT client stands where Home
Assistant stands, and every discovery payload is checked against Home Assistant's documented schema
(ha_schema.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from addons import homeassistant
from appliance.addons.manager import OptionsInvalid
from appliance.app import Appliance
from appliance.cameras import CameraPatch
from appliance.demo.cameras import BlockingSyntheticCameras
from appliance.detections import DetectionReport
from tests.addons.homeassistant.ha_schema import SCHEMAS, BinarySensorConfig, CameraConfig, discovery_topic
from tests.addons.homeassistant.stand_in import ADMIN, HomeAssistantSide, add_cameras, arrives, enable

ENTITIES = {"camera": "camera", "motion": "binary_sensor", "person": "binary_sensor", "online": "binary_sensor"}


def configs(side: HomeAssistantSide, camera_id: int, *, retained: bool | None = None) -> dict[str, dict[str, Any]]:
    """Return the latest non-empty discovery payload of each entity of a camera, by object id."""
    found: dict[str, dict[str, Any]] = {}
    for message in side.messages():
        match = discovery_topic(message.topic)
        if not match or not (match["node_id"] or "").endswith(f"_{camera_id}"):
            continue
        if retained is not None and message.retain != retained:
            continue
        if message.payload:
            found[match["object_id"]] = json.loads(message.payload)
        else:
            found.pop(match["object_id"], None)
    return found


def payload(side: HomeAssistantSide, topic: str) -> bytes | None:
    """Return the last payload on a topic, or None."""
    message = side.latest(topic)
    return None if message is None else message.payload


def states(side: HomeAssistantSide, topic: str) -> list[bytes]:
    """Return every payload on a state topic, in order."""
    return [m.payload for m in side.messages(topic)]


async def announced(side: HomeAssistantSide, camera_ids: list[int]) -> None:
    """Wait until Home Assistant's side has every entity of every camera."""
    await arrives(lambda: all(len(configs(side, c)) == len(ENTITIES) for c in camera_ids),
                  f"discovery of cameras {camera_ids}")  # fmt: skip


def subscriber(home_assistant: Callable[[], HomeAssistantSide]) -> HomeAssistantSide:
    """Connect a Home Assistant stand-in listening to discovery and to WardCam's topics."""
    side = home_assistant()
    side.subscribe("homeassistant/#", "wardcam/#")
    return side


async def test_each_camera_appears_as_one_device_with_retained_configs_that_follow_home_assistants_schema(
    appliance: Appliance,
    rtsp_cameras: BlockingSyntheticCameras,
    home_assistant: Callable[[], HomeAssistantSide],
) -> None:
    gate, alley = await add_cameras(appliance, rtsp_cameras, ["Cổng chợ", "Hẻm 12"], site="Phường 5")
    await enable(appliance, snapshot_interval_s=0)
    await announced(subscriber(home_assistant), [gate.id, alley.id])

    ha = subscriber(home_assistant)  # Home Assistant starting later: only retained messages reach it
    await announced(ha, [gate.id, alley.id])
    assert all(m.retain for m in ha.messages())
    unique_ids = set()
    for camera in (gate, alley):
        found = configs(ha, camera.id, retained=True)
        assert set(found) == set(ENTITIES)
        matches = [discovery_topic(m.topic) for m in ha.messages()]
        node_ids = {m["node_id"] for m in matches if m and m["node_id"].endswith(f"_{camera.id}")}
        assert len(node_ids) == 1
        node_id = node_ids.pop()
        assert re.fullmatch(rf"wardcam_[0-9a-f]{{8}}_{camera.id}", node_id)
        for object_id, config in found.items():
            topic = f"homeassistant/{ENTITIES[object_id]}/{node_id}/{object_id}/config"
            assert payload(ha, topic) is not None, topic
            entity = SCHEMAS[ENTITIES[object_id]].model_validate(config)  # Home Assistant's schema
            assert entity.unique_id and entity.unique_id not in unique_ids
            unique_ids.add(entity.unique_id)
            assert entity.device is not None
            assert entity.device.identifiers == [node_id]
            assert entity.device.name == camera.name
            assert entity.device.manufacturer == "WardCam"
            assert entity.device.model
            assert entity.device.suggested_area == "Phường 5"
            assert entity.origin is not None and entity.origin.name == "WardCam"
            assert entity.availability is not None and entity.availability_mode == "all"
            available = [a.topic for a in entity.availability]
            assert "wardcam/available" in available  # the appliance's last will
            assert all(payload(ha, a.topic) == a.payload_available.encode() for a in entity.availability)

        picture = CameraConfig.model_validate(found["camera"])
        assert picture.topic == f"wardcam/cameras/{camera.id}/snapshot"
        assert picture.name is None  # the camera entity takes the device's name
        sensors = {k: BinarySensorConfig.model_validate(v) for k, v in found.items() if k != "camera"}
        assert {k: s.device_class for k, s in sensors.items()} == {
            "motion": "motion",
            "person": "occupancy",
            "online": "connectivity",
        }
        assert [a.topic for a in sensors["online"].availability or []] == [
            "wardcam/available",
            "wardcam/homeassistant/available",
        ]  # the online sensor stays available to say that the camera is offline
        assert f"wardcam/cameras/{camera.id}/status" in [a.topic for a in sensors["motion"].availability or []]
        assert sensors["motion"].name == "Chuyển động" and sensors["person"].name == "Có người"
        # Each state topic holds a retained state in the sensor's own payloads: nothing seen yet, camera online.
        assert payload(ha, sensors["motion"].state_topic) == sensors["motion"].payload_off.encode() == b"OFF"
        assert payload(ha, sensors["person"].state_topic) == sensors["person"].payload_off.encode() == b"OFF"
        assert payload(ha, sensors["online"].state_topic) == sensors["online"].payload_on.encode()


async def test_home_assistant_coming_back_gets_every_camera_again_and_a_stopped_addon_shows_unavailable(
    appliance: Appliance,
    rtsp_cameras: BlockingSyntheticCameras,
    home_assistant: Callable[[], HomeAssistantSide],
) -> None:
    (gate,) = await add_cameras(appliance, rtsp_cameras, ["Cổng chợ"])
    await enable(appliance, snapshot_interval_s=0)
    ha = subscriber(home_assistant)
    await announced(ha, [gate.id])
    assert homeassistant.running().bridge.stats.last_birth is None

    ha.forget()
    ha.publish("homeassistant/status", b"offline")
    ha.publish("homeassistant/status", b"online")  # Home Assistant's birth message after its restart
    await announced(ha, [gate.id])
    assert {m.topic.split("/")[1] for m in ha.messages() if m.topic.endswith("/config")} == {"camera", "binary_sensor"}
    assert homeassistant.running().bridge.stats.last_birth is not None

    await appliance.addons.disable("homeassistant")
    late = subscriber(home_assistant)
    await announced(late, [gate.id])  # discovery stays retained...
    assert payload(late, "wardcam/homeassistant/available") == b"offline"  # ...and Home Assistant shows unavailable


async def test_renaming_updates_the_device_and_deleting_or_leaving_out_a_camera_removes_its_entities(
    appliance: Appliance,
    rtsp_cameras: BlockingSyntheticCameras,
    home_assistant: Callable[[], HomeAssistantSide],
) -> None:
    gate, alley, school = await add_cameras(appliance, rtsp_cameras, ["Cổng chợ", "Hẻm 12", "Trường học"])
    await enable(appliance, snapshot_interval_s=0)
    ha = subscriber(home_assistant)
    await announced(ha, [gate.id, alley.id, school.id])

    await appliance.cameras.update_camera(gate.id, CameraPatch(name="Cổng chợ Bến Thành"), who=ADMIN)
    await arrives(lambda: all(c["device"]["name"] == "Cổng chợ Bến Thành" for c in configs(ha, gate.id).values()),
                  "the renamed device")  # fmt: skip

    await appliance.cameras.delete_camera(alley.id, who=ADMIN)
    await arrives(lambda: configs(ha, alley.id) == {}, "empty configs of the deleted camera")
    assert payload(ha, f"wardcam/cameras/{alley.id}/status") == b""

    await appliance.addons.configure("homeassistant", {"snapshot_interval_s": 0, "cameras": [gate.id]})
    await arrives(lambda: configs(ha, school.id) == {}, "empty configs of the camera left out")

    late = subscriber(home_assistant)  # what a Home Assistant starting now finds retained
    await announced(late, [gate.id])
    assert configs(late, alley.id) == {} and configs(late, school.id) == {}
    assert {c["device"]["name"] for c in configs(late, gate.id).values()} == {"Cổng chợ Bến Thành"}


async def test_a_person_detection_turns_the_person_sensor_on_then_off(
    appliance: Appliance,
    rtsp_cameras: BlockingSyntheticCameras,
    home_assistant: Callable[[], HomeAssistantSide],
) -> None:
    (gate,) = await add_cameras(appliance, rtsp_cameras, ["Cổng chợ"])
    await enable(appliance, snapshot_interval_s=0, detection_timeout_s=5)
    ha = subscriber(home_assistant)
    await announced(ha, [gate.id])
    person, motion = f"wardcam/cameras/{gate.id}/person", f"wardcam/cameras/{gate.id}/motion"
    await arrives(lambda: states(ha, person) == [b"OFF"], "the person sensor's first state")
    ha.forget()

    start = datetime.now(UTC)
    seen = DetectionReport(source="frigate", external_id="1700000000.1-abc", phase="new", camera_id=gate.id,
                           label="person", score=0.81, start=start)  # fmt: skip
    await appliance.detections.report(seen)
    await arrives(lambda: states(ha, person) == [b"ON"], "person ON")
    await appliance.detections.report(seen.model_copy(update={"phase": "update", "score": 0.9}))
    await appliance.detections.report(seen.model_copy(update={"phase": "end", "end": datetime.now(UTC)}))
    await arrives(lambda: states(ha, person) == [b"ON", b"OFF"], "person OFF once the detection ends")

    # Motion that began and ended in one report still shows; a car is neither motion nor a person.
    moved = DetectionReport(source="motion", external_id="m-1", phase="end", camera_id=gate.id, label="motion",
                            start=start, end=start)  # fmt: skip
    await appliance.detections.report(moved)
    await appliance.detections.report(DetectionReport(source="frigate", external_id="car-1", camera_id=gate.id,
                                                      label="car", start=start))  # fmt: skip
    await arrives(lambda: states(ha, motion) == [b"ON", b"OFF"], "motion ON then OFF")

    # A detection whose end never comes turns off after the detection timeout.
    await appliance.detections.report(DetectionReport(source="frigate", external_id="lost", camera_id=gate.id,
                                                      label="person", start=start))  # fmt: skip
    await arrives(lambda: states(ha, person)[-1:] == [b"ON"], "person ON again")
    await asyncio.sleep(3)
    assert states(ha, person)[-1:] == [b"ON"]
    await arrives(lambda: states(ha, person)[-1:] == [b"OFF"], "person OFF after the timeout", within_s=5)
    assert states(ha, person) == [b"ON", b"OFF", b"ON", b"OFF"]
    assert states(ha, motion) == [b"ON", b"OFF"]


async def test_the_camera_entity_gets_a_jpeg_picture_of_the_camera(
    appliance: Appliance,
    rtsp_cameras: BlockingSyntheticCameras,
    home_assistant: Callable[[], HomeAssistantSide],
) -> None:
    (gate,) = await add_cameras(appliance, rtsp_cameras, ["Cổng chợ"])
    await enable(appliance, snapshot_interval_s=1)
    ha = subscriber(home_assistant)
    await announced(ha, [gate.id])
    topic = CameraConfig.model_validate(configs(ha, gate.id)["camera"]).topic
    await arrives(lambda: ha.latest(topic) is not None, "a picture on the camera topic", within_s=15)

    picture = ha.latest(topic)
    assert picture is not None and not picture.retain
    assert picture.payload[:2] == b"\xff\xd8" and picture.payload.rstrip(b"\0")[-2:] == b"\xff\xd9"
    ffprobe = ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "json", "-i", "-"]
    probe = await asyncio.to_thread(subprocess.run, ffprobe, input=picture.payload, capture_output=True, check=True)
    (stream,) = json.loads(probe.stdout)["streams"]
    assert stream["codec_name"] == "mjpeg" and stream["width"] > 0 and stream["height"] > 0
    assert homeassistant.running().bridge.stats.snapshots_sent >= 1


async def test_a_camera_that_stops_sending_shows_offline_in_home_assistant(
    appliance: Appliance,
    rtsp_server_factory: Callable[..., BlockingSyntheticCameras],
    home_assistant: Callable[[], HomeAssistantSide],
) -> None:
    cams = rtsp_server_factory(cameras=1)
    (gate,) = await add_cameras(appliance, cams, ["Cổng chợ"])
    appliance.recorder.set_offline_after(1.0)  # the System page's "offline after" setting, shortened
    await enable(appliance, snapshot_interval_s=0)
    ha = subscriber(home_assistant)
    await announced(ha, [gate.id])
    status = f"wardcam/cameras/{gate.id}/status"
    assert payload(ha, status) == b"online"

    cams.stop()
    await arrives(lambda: payload(ha, status) == b"offline", "the camera offline", within_s=15)


async def test_a_discovery_prefix_that_is_not_a_topic_is_refused_in_words(appliance: Appliance) -> None:
    with pytest.raises(OptionsInvalid) as refused:
        await appliance.addons.configure("homeassistant", {"discovery_prefix": "home/#"})
    assert refused.value.fields == {
        "discovery_prefix": "Dùng chữ cái, chữ số, '-', '_' hoặc '.', các cấp cách nhau bằng '/' (tối đa 128 ký tự), "
        "ví dụ homeassistant."
    }
