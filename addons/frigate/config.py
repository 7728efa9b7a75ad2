"""What staff set for the Frigate add-on: where Frigate is, how to log in, the MQTT prefix, camera links,
and what the Frigate config WardCam generates asks for."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_core import PydanticCustomError

from addons.frigate.events import CAMERA_NAME
from addons.frigate.mapping import format_links, parse_links

DEFAULT_OBJECTS = ["person", "motorcycle", "bicycle", "car"]
TOPIC_PREFIX = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")
LINK = re.compile(r"([A-Za-z0-9_-]{1,64})=(\d{0,9})")
OBJECT = re.compile(r"[a-z_]{1,32}")
HOST = re.compile(r"[A-Za-z0-9.:_-]{1,253}")


def _refuse(kind: str) -> PydanticCustomError:
    """An error whose type names its message: error.field.<kind> in the frigate catalogs."""
    return PydanticCustomError(kind, kind)


class FrigateOptions(BaseModel):
    """Frigate's address and login, the MQTT topic prefix, camera links, and the generated config's choices."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field("http://127.0.0.1:5000", max_length=255, title="addon.frigate.option.url",
                     description="addon.frigate.option.url_help")  # fmt: skip
    username: str = Field("", max_length=128, title="addon.frigate.option.username",
                          description="addon.frigate.option.username_help")  # fmt: skip
    password: SecretStr = Field(SecretStr(""), title="addon.frigate.option.password",
                                description="addon.frigate.option.password_help")  # fmt: skip
    verify_tls: bool = Field(True, title="addon.frigate.option.verify_tls",
                             description="addon.frigate.option.verify_tls_help")  # fmt: skip
    timeout_s: float = Field(10.0, ge=1, le=60, title="addon.frigate.option.timeout_s")
    topic_prefix: str = Field("frigate", max_length=64, title="addon.frigate.option.topic_prefix",
                              description="addon.frigate.option.topic_prefix_help")  # fmt: skip
    fetch_snapshots: bool = Field(True, title="addon.frigate.option.fetch_snapshots",
                                  description="addon.frigate.option.fetch_snapshots_help")  # fmt: skip
    camera_links: list[str] = Field(default_factory=list, max_length=500, title="addon.frigate.option.camera_links",
                                    description="addon.frigate.option.camera_links_help")  # fmt: skip
    objects: list[str] = Field(default_factory=lambda: list(DEFAULT_OBJECTS), min_length=1, max_length=30,
                               title="addon.frigate.option.objects",
                               description="addon.frigate.option.objects_help")  # fmt: skip
    detect_fps: int = Field(5, ge=1, le=30, title="addon.frigate.option.detect_fps")
    mqtt_host: str = Field("", max_length=253, title="addon.frigate.option.mqtt_host",
                           description="addon.frigate.option.mqtt_host_help")  # fmt: skip
    mqtt_user: str = Field("frigate", max_length=64, title="addon.frigate.option.mqtt_user",
                           description="addon.frigate.option.mqtt_user_help")  # fmt: skip
    run_container: bool = Field(False, title="addon.frigate.option.run_container",
                                description="addon.frigate.option.run_container_help")  # fmt: skip
    mqtt_password: SecretStr = Field(SecretStr(""), title="addon.frigate.option.mqtt_password",
                                     description="addon.frigate.option.mqtt_password_help")  # fmt: skip

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        url = value.strip().rstrip("/")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
        except ValueError:
            raise _refuse("frigate_url") from None
        if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
            raise _refuse("frigate_url")
        if parts.query or parts.fragment or any(c.isspace() for c in url):
            raise _refuse("frigate_url")
        return url

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not value.isprintable():
            raise _refuse("frigate_username")
        return value.strip()

    @field_validator("topic_prefix")
    @classmethod
    def _topic_prefix(cls, value: str) -> str:
        prefix = value.strip().strip("/")
        if not TOPIC_PREFIX.fullmatch(prefix):
            raise _refuse("frigate_topic_prefix")
        return prefix

    @field_validator("camera_links")
    @classmethod
    def _camera_links(cls, value: list[str]) -> list[str]:
        cleaned = [entry.strip() for entry in value if entry.strip()]
        if not all(LINK.fullmatch(entry) and CAMERA_NAME.fullmatch(entry.partition("=")[0]) for entry in cleaned):
            raise _refuse("frigate_camera_link")
        return format_links(parse_links(cleaned))

    @field_validator("objects")
    @classmethod
    def _objects(cls, value: list[str]) -> list[str]:
        objects = list(dict.fromkeys(v.strip().lower() for v in value if v.strip()))
        if not objects or not all(OBJECT.fullmatch(o) for o in objects):
            raise _refuse("frigate_object")
        return objects

    @field_validator("mqtt_host")
    @classmethod
    def _mqtt_host(cls, value: str) -> str:
        host = value.strip()
        if host and not HOST.fullmatch(host):
            raise _refuse("frigate_host")
        return host

    @field_validator("mqtt_user")
    @classmethod
    def _mqtt_user(cls, value: str) -> str:
        user = value.strip()
        if user and not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", user):
            raise _refuse("frigate_username")
        return user

    @field_validator("mqtt_password")
    @classmethod
    def _mqtt_password(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().isprintable():  # it goes on one line of the container's environment
            raise _refuse("frigate_password")
        return value

    @property
    def links(self) -> dict[str, int | None]:
        """Return the camera links set by hand: Frigate name -> WardCam camera id (None: not linked)."""
        return parse_links(self.camera_links)

    @property
    def authenticated(self) -> bool:
        """Return whether WardCam logs in to Frigate (port 8971) rather than using the open port 5000."""
        return bool(self.username)
