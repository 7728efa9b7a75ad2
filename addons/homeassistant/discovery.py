"""Home Assistant MQTT discovery messages for WardCam's cameras: pure functions of a camera and the options.

Each camera is one Home Assistant device with four entities, each announced by one retained JSON
message on `<prefix>/<component>/<node_id>/<object_id>/config`:

| object_id | component     | what                                                       |
|-----------|---------------|------------------------------------------------------------|
| camera    | camera        | the newest picture, a JPEG on `<base>/cameras/<id>/snapshot` |
| motion    | binary_sensor | device_class motion, `ON`/`OFF` on `<base>/cameras/<id>/motion` |
| person    | binary_sensor | device_class occupancy, `ON`/`OFF` on `<base>/cameras/<id>/person` |
| online    | binary_sensor | device_class connectivity, `online`/`offline` on `<base>/cameras/<id>/status` |

The keys are Home Assistant's full option names (no abbreviations), so that a person can read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from appliance import __version__
from appliance.i18n import t

ONLINE = "online"
OFFLINE = "offline"
ON = "ON"
OFF = "OFF"
MANUFACTURER = "WardCam"


@dataclass(frozen=True)
class CameraInfo:
    """What Home Assistant is told about one camera."""

    id: int
    name: str
    site: str = ""  # the site's name, Home Assistant's suggested area; "" without a site
    model: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class Entity:
    """One entity of a camera's device."""

    object_id: str
    component: str
    device_class: str | None = None
    diagnostic: bool = False


CAMERA = Entity("camera", "camera")
MOTION = Entity("motion", "binary_sensor", "motion")
PERSON = Entity("person", "binary_sensor", "occupancy")
ONLINE_SENSOR = Entity("online", "binary_sensor", "connectivity", diagnostic=True)
ENTITIES = (CAMERA, MOTION, PERSON, ONLINE_SENSOR)


@dataclass(frozen=True)
class CameraTopics:
    """The topics WardCam publishes a camera's state on."""

    status: str  # "online" / "offline", retained
    motion: str  # "ON" / "OFF", retained
    person: str  # "ON" / "OFF", retained
    snapshot: str  # JPEG, not retained

    def retained(self) -> tuple[str, ...]:
        """Return the topics that hold a retained state."""
        return (self.status, self.motion, self.person)


@dataclass(frozen=True)
class Discovery:
    """Build the discovery topics and payloads of one box's cameras."""

    prefix: str  # Home Assistant's discovery prefix, "homeassistant" by default
    box_id: str  # this box's own id, so that two boxes on one broker never share an entity
    base_topic: str  # WardCam's base topic, "wardcam" by default
    appliance_availability: str  # the appliance's last will: "<base>/available" online/offline
    addon_availability: str  # this add-on's own: "online" while it runs, "offline" once stopped
    language: str = "vi"

    def node_id(self, camera_id: int) -> str:
        """Return the device's node id (also its identifier): wardcam_<box id>_<camera id>."""
        return f"wardcam_{self.box_id}_{camera_id}"

    def topics(self, camera_id: int) -> CameraTopics:
        """Return the state topics of one camera."""
        base = f"{self.base_topic}/cameras/{camera_id}"
        return CameraTopics(f"{base}/status", f"{base}/motion", f"{base}/person", f"{base}/snapshot")

    def config_topic(self, camera_id: int, entity: Entity) -> str:
        """Return the discovery topic of one entity."""
        return f"{self.prefix}/{entity.component}/{self.node_id(camera_id)}/{entity.object_id}/config"

    def config_topics(self, camera_id: int) -> list[str]:
        """Return the discovery topics of every entity of a camera."""
        return [self.config_topic(camera_id, entity) for entity in ENTITIES]

    def device(self, camera: CameraInfo) -> dict[str, Any]:
        """Return the device block shared by a camera's entities."""
        device: dict[str, Any] = {
            "identifiers": [self.node_id(camera.id)],
            "name": camera.name,
            "manufacturer": MANUFACTURER,
            "model": camera.model or t("addon.homeassistant.model", self.language),
            "sw_version": __version__,
        }
        if camera.site:
            device["suggested_area"] = camera.site
        return device

    def availability(self, camera_id: int | None) -> list[dict[str, str]]:
        """Return the availability topics: the appliance, this add-on, and the camera itself when given."""
        topics = [self.appliance_availability, self.addon_availability]
        if camera_id is not None:
            topics.append(self.topics(camera_id).status)
        return [{"topic": topic, "payload_available": ONLINE, "payload_not_available": OFFLINE} for topic in topics]

    def config(self, camera: CameraInfo, entity: Entity) -> dict[str, Any]:
        """Return the discovery payload of one entity of a camera."""
        topics = self.topics(camera.id)
        payload: dict[str, Any] = {
            "unique_id": f"{self.node_id(camera.id)}_{entity.object_id}",
            # The camera entity takes the device's name; the sensors are "<camera> Motion" and so on.
            "name": None if entity is CAMERA else t(f"addon.homeassistant.entity.{entity.object_id}", self.language),
            "device": self.device(camera),
            "origin": {"name": MANUFACTURER, "sw_version": __version__},
            "qos": 1,
        }
        # The online sensor must stay available while the camera is offline: it is what says so.
        payload["availability"] = self.availability(None if entity is ONLINE_SENSOR else camera.id)
        payload["availability_mode"] = "all"
        if entity is CAMERA:
            payload["topic"] = topics.snapshot
            return payload
        payload["device_class"] = entity.device_class
        if entity is ONLINE_SENSOR:
            payload.update(
                state_topic=topics.status, payload_on=ONLINE, payload_off=OFFLINE, entity_category="diagnostic"
            )
        else:
            payload.update(state_topic=topics.motion if entity is MOTION else topics.person, payload_on=ON,
                           payload_off=OFF)  # fmt: skip
        return payload

    def configs(self, camera: CameraInfo) -> dict[str, dict[str, Any]]:
        """Return every discovery topic of a camera with its payload."""
        return {self.config_topic(camera.id, entity): self.config(camera, entity) for entity in ENTITIES}
