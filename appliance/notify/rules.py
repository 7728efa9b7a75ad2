"""Rules: which detections to announce, when, to which targets, and how often at most.

`RuleConfig` is what staff set in the browser (validated per field, errors as translation keys);
`matches()` decides for one detection at one moment, with the clock given, so tests need not wait
for midnight; `Cooldowns` holds back a repeat for the same camera and label.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from appliance.notify.templates import check_template
from appliance.notify.windows import TimeWindow, in_windows

DEFAULT_COOLDOWN_S = 300
COMMON_LABELS: tuple[str, ...] = ("person", "motorcycle", "bicycle", "car", "truck", "dog", "motion")


class RuleConfig(BaseModel):
    """One rule as staff set it; empty lists mean "any"."""

    model_config = ConfigDict(extra="forbid")

    camera_ids: list[int] = Field(default_factory=list, title="notify.field.cameras")
    site_ids: list[int] = Field(default_factory=list, title="notify.field.sites")
    labels: list[str] = Field(default_factory=list, title="notify.field.labels")
    min_score: float = Field(default=0.0, ge=0.0, le=1.0, title="notify.field.min_score")
    zones: list[str] = Field(default_factory=list, title="notify.field.zones")
    windows: list[TimeWindow] = Field(default_factory=list, max_length=12, title="notify.field.windows")
    days: list[int] = Field(default_factory=list, title="notify.field.days")  # Monday = 0; empty = every day
    cooldown_s: int = Field(default=DEFAULT_COOLDOWN_S, ge=0, le=86400, title="notify.field.cooldown")
    attach_snapshot: bool = Field(default=True, title="notify.field.attach_snapshot")
    target_ids: list[int] = Field(default_factory=list, title="notify.field.targets")
    language: Literal["vi", "en"] = Field(default="vi", title="notify.field.language")
    template_vi: str = Field(default="", title="notify.field.template_vi")
    template_en: str = Field(default="", title="notify.field.template_en")

    @field_validator("labels", "zones")
    @classmethod
    def _names(cls, values: list[str]) -> list[str]:
        cleaned = []
        for value in values:
            value = value.strip().lower() if value else ""
            if not value:
                continue
            if len(value) > 64:
                raise PydanticCustomError("notify.error.name_long", "notify.error.name_long")
            if value not in cleaned:
                cleaned.append(value)
        return cleaned

    @field_validator("days")
    @classmethod
    def _days(cls, values: list[int]) -> list[int]:
        if any(day not in range(7) for day in values):
            raise PydanticCustomError("notify.error.days", "notify.error.days")
        return sorted(set(values))

    @field_validator("target_ids")
    @classmethod
    def _targets(cls, values: list[int]) -> list[int]:
        return list(dict.fromkeys(values))

    @field_validator("template_vi", "template_en")
    @classmethod
    def _template(cls, value: str) -> str:
        return check_template(value)

    def template(self) -> str:
        """Return the template of the rule's language ("" = the default text)."""
        return self.template_vi if self.language == "vi" else self.template_en


@dataclass(frozen=True)
class Seen:
    """A detection as a rule looks at it: the camera, its site, what and how sure, where."""

    camera_id: int | None
    site_id: int | None
    label: str
    score: float
    zones: tuple[str, ...]


def matches(rule: RuleConfig, seen: Seen, local_now: datetime) -> bool:
    """Return whether a detection, seen at a local moment, is one the rule announces."""
    if rule.camera_ids or rule.site_ids:
        on_camera = seen.camera_id is not None and seen.camera_id in rule.camera_ids
        on_site = seen.site_id is not None and seen.site_id in rule.site_ids
        if not (on_camera or on_site):
            return False
    if rule.labels and seen.label.lower() not in rule.labels:
        return False
    if seen.score < rule.min_score:
        return False
    if rule.zones and not {z.lower() for z in seen.zones} & set(rule.zones):
        return False
    return in_windows(rule.windows, rule.days, local_now)


class Cooldowns:
    """Let one notification a rule, camera and label through, then hold back repeats for the cooldown."""

    def __init__(self) -> None:
        self._last: dict[tuple[int, int | None, str], datetime] = {}

    def claim(self, rule_id: int, camera_id: int | None, label: str, cooldown_s: int, now: datetime) -> bool:
        """Return True (and start the cooldown) when a notification may go now."""
        key = (rule_id, camera_id, label.lower())
        last = self._last.get(key)
        if last is not None and now - last < timedelta(seconds=cooldown_s):
            return False
        self._last[key] = now
        if len(self._last) > 10000:  # forget cooldowns long over
            cutoff = now - timedelta(days=1)
            self._last = {k: v for k, v in self._last.items() if v > cutoff}
        return True

    def forget_rule(self, rule_id: int) -> None:
        """Drop a rule's cooldowns (it was changed or deleted)."""
        self._last = {k: v for k, v in self._last.items() if k[0] != rule_id}
