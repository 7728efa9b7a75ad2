"""Typed answers of Frigate's HTTP API, after its OpenAPI description (docs/static/frigate-api.yaml).

Only the fields WardCam uses are declared; Frigate's others are kept (extra="allow") or ignored, so
that a newer Frigate with more fields still reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


def sub_label_text(value: Any) -> str:
    """Return a sub label as text: Frigate sends null, a string, or [name, score]."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and value and isinstance(value[0], str):
        return value[0]
    return ""


class EventInfo(_Answer):
    """One tracked object (an "event") as GET /api/events and /api/events/{id} describe it (EventResponse)."""

    id: str
    label: str
    sub_label: str = ""
    camera: str
    start_time: float
    end_time: float | None = None
    false_positive: bool | None = None
    zones: list[str] = Field(default_factory=list)
    thumbnail: str | None = None
    has_clip: bool = False
    has_snapshot: bool = False
    retain_indefinitely: bool = False
    plus_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("sub_label", mode="before")
    @classmethod
    def _sub_label(cls, value: Any) -> str:
        return sub_label_text(value)

    @property
    def top_score(self) -> float:
        """Return the event's best score (Frigate keeps it in `data`)."""
        value = self.data.get("top_score", self.data.get("score", 0.0))
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


class ReviewInfo(_Answer):
    """One review item (alert or detection) as GET /api/review lists it (ReviewSegmentResponse)."""

    id: str
    camera: str
    start_time: datetime
    end_time: datetime | None = None
    has_been_reviewed: bool = False
    severity: Literal["alert", "detection"]
    thumb_path: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class ExportStarted(_Answer):
    """What POST /api/export/{camera}/start/{start}/end/{end} answers (StartExportResponse)."""

    success: bool
    message: str
    export_id: str | None = None
    status: str | None = None


class Outcome(_Answer):
    """Frigate's usual {success, message} answer (config save, and most errors)."""

    success: bool = False
    message: str = ""


class CameraInfo(_Answer):
    """One camera of Frigate's running config; only whether it is on is read."""

    enabled: bool = True


class FrigateConfig(_Answer):
    """Frigate's running config as GET /api/config gives it; WardCam reads its cameras and MQTT prefix."""

    cameras: dict[str, CameraInfo] = Field(default_factory=dict)
    mqtt: dict[str, Any] = Field(default_factory=dict)

    @property
    def camera_names(self) -> list[str]:
        """Return Frigate's camera names, sorted."""
        return sorted(self.cameras)
