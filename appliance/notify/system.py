"""System notifications (camera offline and back, disk, a recorder failing again and again, a footage request
waiting for approval, a scheduled backup that failed), each with its own targets, and the panel address that
links point to.

Stored as the Setting row "notifications", validated by `NotifySettings`.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from appliance.db.models.settings import Setting
from appliance.notify.errors import NotifyInputInvalid

SETTINGS_KEY = "notifications"
SystemKind = Literal["camera_offline", "disk", "recorder_failing", "request_pending", "backup_failed"]
SYSTEM_KINDS: tuple[SystemKind, ...] = (
    "camera_offline",
    "disk",
    "recorder_failing",
    "request_pending",
    "backup_failed",
)


class SystemNotice(BaseModel):
    """One kind of system notification: on or off, and to which targets."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=False, title="notify.field.enabled")
    target_ids: list[int] = Field(default_factory=list, title="notify.field.targets")


class OfflineNotice(SystemNotice):
    """A camera records nothing for N minutes; and again when it is back."""

    minutes: int = Field(default=5, ge=1, le=1440, title="notify.field.offline_minutes")
    back_online: bool = Field(default=True, title="notify.field.back_online")


class RecorderNotice(SystemNotice):
    """A camera's recording restarted N times within M minutes (not counting a camera that is unreachable)."""

    restarts: int = Field(default=5, ge=2, le=1000, title="notify.field.restarts")
    minutes: int = Field(default=15, ge=1, le=1440, title="notify.field.within_minutes")


class NotifySettings(BaseModel):
    """The notification system's own settings."""

    model_config = ConfigDict(extra="forbid")

    panel_url: str = Field(default="", max_length=255, title="notify.field.panel_url",
                           description="notify.help.panel_url")  # fmt: skip
    language: Literal["vi", "en"] = Field(default="vi", title="notify.field.system_language")
    camera_offline: OfflineNotice = Field(default_factory=OfflineNotice)
    disk: SystemNotice = Field(default_factory=SystemNotice)
    recorder_failing: RecorderNotice = Field(default_factory=RecorderNotice)
    request_pending: SystemNotice = Field(default_factory=SystemNotice)
    backup_failed: SystemNotice = Field(default_factory=SystemNotice)

    @field_validator("panel_url")
    @classmethod
    def _panel_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
            raise PydanticCustomError("notify.error.panel_url", "notify.error.panel_url")
        return value

    def notice(self, kind: SystemKind) -> SystemNotice:
        """Return the settings of one kind of system notification."""
        notice: SystemNotice = getattr(self, kind)
        return notice


async def load_settings() -> NotifySettings:
    """Return the stored settings, or the defaults (when none, or no longer valid)."""
    row = await Setting.get_or_none(key=SETTINGS_KEY)
    if row is None:
        return NotifySettings()
    try:
        return NotifySettings.model_validate(row.value)
    except ValidationError:
        return NotifySettings()


async def save_settings(values: dict[str, Any], current: NotifySettings) -> NotifySettings:
    """Validate values over the current settings and store them."""
    merged = {**current.model_dump(mode="json"), **values}
    try:
        new = NotifySettings.model_validate(merged)
    except ValidationError as exc:
        raise NotifyInputInvalid(exc) from exc
    await Setting.update_or_create(key=SETTINGS_KEY, defaults={"value": new.model_dump(mode="json")})
    return new


def default_panel_url(host: str, port: int) -> str:
    """Return the panel's address as links would use it when staff set none (the box's name for 0.0.0.0)."""
    import socket

    if host in ("", "0.0.0.0", "::"):
        host = socket.gethostname()
    return f"http://{host}:{port}"
