"""Home Assistant's MQTT discovery schema for the two platforms WardCam announces, written as pydantic models.

Written after Home Assistant's documentation (integrations/camera.mqtt, binary_sensor.mqtt, the MQTT
discovery page) and its voluptuous schemas (homeassistant/components/mqtt: schemas.py for what every
entity shares, config.py for qos/encoding, camera.py, binary_sensor.py, discovery.py for the topic).
Unknown keys are refused (`extra="forbid"`), so a misspelt option fails here instead of being
silently dropped by Home Assistant. Abbreviated keys are not accepted: WardCam sends full names.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

# homeassistant/components/mqtt/discovery.py: after the discovery prefix, <component>/[<node_id>/]<object_id>/config
DISCOVERY_TOPIC = re.compile(
    r"(?P<component>\w+)/(?:(?P<node_id>[a-zA-Z0-9_-]+)/)?(?P<object_id>[a-zA-Z0-9_-]+)/config"
)


def discovery_topic(topic: str, prefix: str = "homeassistant") -> re.Match[str] | None:
    """Match a topic as Home Assistant does: its discovery prefix, then DISCOVERY_TOPIC."""
    if not topic.startswith(prefix + "/"):
        return None
    return DISCOVERY_TOPIC.fullmatch(topic[len(prefix) + 1 :])


def _subscribe_topic(value: str) -> str:
    """Home Assistant's valid_subscribe_topic: non-empty, at most 65535 bytes, no NUL, wildcards whole levels."""
    levels = value.split("/")
    if not value or len(value.encode()) > 65535 or "\0" in value:
        raise ValueError("not a topic")
    if any("+" in level and level != "+" for level in levels):
        raise ValueError("'+' must fill a whole level")
    if "#" in value and (levels[-1] != "#" or value.count("#") > 1):
        raise ValueError("'#' must be the last level")
    return value


Topic = Annotated[str, AfterValidator(_subscribe_topic)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Availability(_Strict):
    """One entry of `availability` (MQTT_AVAILABILITY_LIST_SCHEMA)."""

    topic: Topic
    payload_available: str = "online"
    payload_not_available: str = "offline"
    value_template: str | None = None


class Device(_Strict):
    """The `device` block (MQTT_ENTITY_DEVICE_INFO_SCHEMA): at least one identifier or connection."""

    identifiers: list[str] | str = Field(default_factory=list)
    connections: list[tuple[str, str]] = Field(default_factory=list)
    manufacturer: str | None = None
    model: str | None = None
    model_id: str | None = None
    name: str | None = None
    hw_version: str | None = None
    serial_number: str | None = None
    sw_version: str | None = None
    via_device: str | None = None
    suggested_area: str | None = None
    configuration_url: str | None = None

    @model_validator(mode="after")
    def _identified(self) -> Device:
        if not self.identifiers and not self.connections:
            raise ValueError("a device needs at least one identifier or connection")
        return self


class Origin(_Strict):
    """The `origin` block (MQTT_ORIGIN_INFO_SCHEMA)."""

    name: str
    sw_version: str | None = None
    support_url: str | None = None


class EntityCommon(_Strict):
    """What every MQTT entity accepts (MQTT_BASE_SCHEMA and MQTT_ENTITY_COMMON_SCHEMA)."""

    qos: Literal[0, 1, 2] = 0
    encoding: str = "utf-8"
    name: str | None = None
    unique_id: str | None = None
    object_id: str | None = None
    default_entity_id: str | None = None
    device: Device | None = None
    origin: Origin | None = None
    enabled_by_default: bool = True
    entity_category: Literal["config", "diagnostic"] | None = None
    icon: str | None = None
    json_attributes_topic: Topic | None = None
    json_attributes_template: str | None = None
    availability: list[Availability] | None = None
    availability_topic: Topic | None = None
    availability_mode: Literal["all", "any", "latest"] = "latest"
    availability_template: str | None = None
    payload_available: str = "online"
    payload_not_available: str = "offline"

    @model_validator(mode="after")
    def _one_availability(self) -> EntityCommon:
        if self.availability is not None and self.availability_topic is not None:
            raise ValueError("availability and availability_topic exclude each other")
        return self


class CameraConfig(EntityCommon):
    """An MQTT camera (camera.py): the picture is the whole payload of `topic`."""

    topic: Topic
    image_encoding: Literal["b64"] | None = None


BinarySensorClass = Literal[
    "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door", "garage_door", "gas", "heat",
    "light", "lock", "moisture", "motion", "moving", "occupancy", "opening", "plug", "power", "presence", "problem",
    "running", "safety", "smoke", "sound", "tamper", "update", "vibration", "window",
]  # fmt: skip


class BinarySensorConfig(EntityCommon):
    """An MQTT binary sensor (binary_sensor.py, over MQTT_RO_SCHEMA)."""

    state_topic: Topic
    value_template: str | None = None
    device_class: BinarySensorClass | None = None
    expire_after: Annotated[int, Field(gt=0)] | None = None
    force_update: bool = False
    off_delay: Annotated[int, Field(gt=0)] | None = None
    payload_on: str = "ON"
    payload_off: str = "OFF"


SCHEMAS: dict[str, type[EntityCommon]] = {"camera": CameraConfig, "binary_sensor": BinarySensorConfig}
