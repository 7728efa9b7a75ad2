"""The MQTT settings section: which broker, how to log in, TLS, client id and base topic.

Stored as the Setting row "mqtt". The password is write-only: it is kept in the database for the
connection, and never returned to a browser, written to a log or put in the audit log.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from appliance.errors import WardCamError
from appliance.i18n import t
from appliance.validation import field_errors

SETTINGS_KEY = "mqtt"
PASSWORD_MAX = 256
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
CLIENT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
BASE_TOPIC = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")

BrokerChoice = Literal["builtin", "external", "off"]


def _error(key: str) -> PydanticCustomError:
    """Return a validation error whose type is its translation key (see MqttSettingsInvalid)."""
    return PydanticCustomError(key, key)


def normalize_url(value: str) -> str:
    """Return a broker URL as scheme://host[:port] ("" stays ""), or raise the error of what is wrong."""
    value = value.strip()
    if not value:
        return value
    parts = urlsplit(value if "://" in value else f"mqtt://{value}")
    if parts.scheme not in DEFAULT_PORTS:
        raise _error("mqtt.error.url_scheme")
    if "@" in parts.netloc:
        raise _error("mqtt.error.url_credentials")
    try:
        port = parts.port
    except ValueError:
        raise _error("mqtt.error.url_port") from None
    if port == 0:
        raise _error("mqtt.error.url_port")
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise _error("mqtt.error.url_invalid")
    return f"{parts.scheme}://{parts.netloc}"


class MqttSettings(BaseModel):
    """How the appliance reaches its MQTT broker."""

    model_config = ConfigDict(extra="forbid")

    broker: BrokerChoice = Field(default="builtin", title="mqtt.field.broker", description="mqtt.help.broker")
    url: str = Field(default="", max_length=255, title="mqtt.field.url", description="mqtt.help.url")
    username: str = Field(default="", max_length=128, title="mqtt.field.username")
    password: SecretStr = Field(default=SecretStr(""), title="mqtt.field.password",
                                description="mqtt.help.password")  # fmt: skip
    ca_pem: str = Field(default="", max_length=65536, title="mqtt.field.ca_pem", description="mqtt.help.ca_pem")
    tls_insecure: bool = Field(default=False, title="mqtt.field.tls_insecure", description="mqtt.help.tls_insecure")
    client_id: str = Field(default="", max_length=64, title="mqtt.field.client_id", description="mqtt.help.client_id")
    base_topic: str = Field(default="wardcam", min_length=1, max_length=64, title="mqtt.field.base_topic",
                            description="mqtt.help.base_topic")  # fmt: skip

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return normalize_url(value)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return value.strip()

    @field_validator("password")
    @classmethod
    def _password(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if len(secret) > PASSWORD_MAX or any(ord(c) < 32 for c in secret):
            raise _error("mqtt.error.password")
        return value

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, value: str) -> str:
        value = value.strip()
        if value and not CLIENT_ID.fullmatch(value):
            raise _error("mqtt.error.client_id")
        return value

    @field_validator("base_topic")
    @classmethod
    def _base_topic(cls, value: str) -> str:
        value = value.strip()
        if not BASE_TOPIC.fullmatch(value):
            raise _error("mqtt.error.base_topic")
        return value

    @field_validator("ca_pem")
    @classmethod
    def _ca_pem(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        if "-----BEGIN CERTIFICATE-----" not in value:
            raise _error("mqtt.error.ca_pem")
        try:
            ssl.create_default_context(cadata=value)
        except (ssl.SSLError, ValueError):
            raise _error("mqtt.error.ca_pem") from None
        return value + "\n"

    @model_validator(mode="after")
    def _needs_url(self) -> MqttSettings:
        if self.broker == "external" and not self.url:
            raise PydanticCustomError("mqtt.error.url_missing", "mqtt.error.url_missing")
        return self

    def stored(self) -> dict[str, Any]:
        """Return the settings as stored in the database (the password in clear: the connection needs it)."""
        return {**self.model_dump(mode="json"), "password": self.password.get_secret_value()}

    def public(self) -> dict[str, Any]:
        """Return the settings as a browser or the API may see them: no password, only whether one is set."""
        values = self.model_dump(mode="json", exclude={"password"})
        values["has_password"] = bool(self.password.get_secret_value())
        return values


class MqttSettingsInvalid(WardCamError):
    """Some MQTT settings did not validate; each field gets its own translated message."""

    key = "error.invalid_request"
    status = 422

    def __init__(self, errors: ValidationError) -> None:
        super().__init__()
        self.errors = errors.errors()

    def field_messages(self, message: str, lang: str | None = None) -> dict[str, str]:
        """Return one translated message per field (the MQTT checks carry their key as their type)."""
        messages: dict[str, str] = {}
        others = []
        for error in self.errors:
            kind = str(error.get("type", ""))
            if kind.startswith("mqtt.error."):
                name = ".".join(str(p) for p in error.get("loc", ())) or "url"
                messages.setdefault(name, t(kind, lang))
            else:
                others.append(error)
        return {**field_errors(others, lang), **messages}


@dataclass(frozen=True)
class BrokerTarget:
    """A broker to connect to, resolved from the settings or from the built-in broker add-on."""

    host: str
    port: int
    tls: bool = False
    username: str = ""
    password: str = field(default="", repr=False)
    ca_pem: str = field(default="", repr=False)
    tls_insecure: bool = False

    @property
    def address(self) -> str:
        """Return host:port, as the page shows it (never any credential)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """Return the broker's URL without credentials."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.address}"

    @classmethod
    def from_url(cls, url: str, username: str = "", password: str = "", ca_pem: str = "",
                 tls_insecure: bool = False) -> BrokerTarget:  # fmt: skip
        """Build a target from an mqtt:// or mqtts:// URL (already validated)."""
        parts = urlsplit(url)
        scheme = parts.scheme or "mqtt"
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"not an MQTT broker URL: {url!r}")
        return cls(parts.hostname, parts.port or DEFAULT_PORTS[scheme], scheme == "mqtts", username, password,
                   ca_pem, tls_insecure)  # fmt: skip


@dataclass(frozen=True)
class BuiltinBroker:
    """What the built-in broker add-on hands to the MQTT connection: where it listens and the appliance's login."""

    url: str
    username: str
    password: str = field(repr=False)

    def target(self) -> BrokerTarget:
        """Return the broker as a connection target."""
        return BrokerTarget.from_url(self.url, self.username, self.password)


def merge(old: MqttSettings, values: dict[str, Any]) -> MqttSettings:
    """Validate new values over the old settings; an empty password keeps the old one, unless the broker changed.

    A password belongs to one broker and user: when the address or the user name changes and no new
    password is given, the old one is forgotten rather than sent to another broker.
    """
    merged: dict[str, Any] = {**old.stored(), **values}
    given = merged.get("password")
    if isinstance(given, SecretStr):
        given = given.get_secret_value()
    if not given:
        try:
            same = (normalize_url(str(merged.get("url", ""))) == old.url
                    and str(merged.get("username", "")).strip() == old.username)  # fmt: skip
        except PydanticCustomError:
            same = False
        merged["password"] = old.password.get_secret_value() if same else ""
    try:
        return MqttSettings.model_validate(merged)
    except ValidationError as exc:
        raise MqttSettingsInvalid(exc) from exc
