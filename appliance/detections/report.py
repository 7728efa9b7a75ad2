"""What a source says about one detection: a DetectionReport, validated before it reaches the store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Phase = Literal["new", "update", "end"]


def _aware(value: datetime | None) -> datetime | None:
    """Read a naive time as UTC, so that rows compare whatever the source sent."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


AwareTime = Annotated[datetime, AfterValidator(_aware)]


class DetectionReport(BaseModel):
    """One message about one detection; the same (source, external_id) always means the same detection.

    Reports may come repeated, out of order or with some missing (an "end" with no "new"): the store
    merges each into the row, keeping the earliest start, the latest end, the highest score and every
    zone, so the row ends up the same whatever order the reports came in.
    """

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    source: str = Field(min_length=1, max_length=32)
    external_id: str = Field(min_length=1, max_length=128)
    phase: Phase = "new"
    camera_id: int | None = None
    source_camera: str = Field(default="", max_length=128)
    label: str = Field(min_length=1, max_length=64)
    sub_label: str = Field(default="", max_length=128)
    score: float = Field(default=0.0, ge=0.0, le=1.0)
    zones: tuple[Annotated[str, Field(max_length=64)], ...] = Field(default=(), max_length=32)
    start: AwareTime
    end: Annotated[datetime | None, AfterValidator(_aware)] = None
    has_clip: bool = False
