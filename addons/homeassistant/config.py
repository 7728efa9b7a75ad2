"""What staff can set for Home Assistant discovery; the defaults match a Home Assistant left as installed."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from appliance.addons.options import CameraIds

# One or more topic levels of letters, digits, '_', '-' and '.': no wildcard, no empty level.
TOPIC = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")


def _topic(value: str) -> str:
    value = value.strip().strip("/")
    if not TOPIC.fullmatch(value) or len(value) > 128:
        # the type names the message: field_errors() shows "error.field.homeassistant_topic" under the field
        raise PydanticCustomError("homeassistant_topic", "not a topic")
    return value


class HomeAssistantOptions(BaseModel):
    """Where Home Assistant looks for devices, how often camera pictures go out, and which cameras."""

    model_config = ConfigDict(extra="forbid")

    discovery_prefix: str = Field(
        "homeassistant",
        title="addon.homeassistant.option.discovery_prefix",
        description="addon.homeassistant.option.discovery_prefix_help",
    )
    status_topic: str = Field(
        "homeassistant/status",
        title="addon.homeassistant.option.status_topic",
        description="addon.homeassistant.option.status_topic_help",
    )
    snapshot_interval_s: int = Field(
        10,
        ge=0,
        le=3600,
        title="addon.homeassistant.option.snapshot_interval_s",
        description="addon.homeassistant.option.snapshot_interval_s_help",
    )
    detection_timeout_s: int = Field(
        120,
        ge=5,
        le=3600,
        title="addon.homeassistant.option.detection_timeout_s",
        description="addon.homeassistant.option.detection_timeout_s_help",
    )
    cameras: CameraIds = Field(
        default_factory=list,
        title="addon.homeassistant.option.cameras",
        description="addon.homeassistant.option.cameras_help",
    )
    language: Literal["vi", "en"] = Field(
        "vi",
        title="addon.homeassistant.option.language",
        description="addon.homeassistant.option.language_help",
    )

    @field_validator("discovery_prefix", "status_topic")
    @classmethod
    def _topics(cls, value: str) -> str:
        return _topic(value)

    def includes(self, camera_id: int) -> bool:
        """Return whether a camera is shown in Home Assistant (every camera when none is picked)."""
        return not self.cameras or camera_id in self.cameras
