"""Friendly forms for the common services, each building an Apprise URL, and a raw-URL form for the others.

Each form is a pydantic model whose fields carry translation keys as titles, so that the panel draws
it like an add-on's options (web/components/options_form.py). `build()` returns the Apprise URL and a
summary the panel may show: the service and where it goes, never a token or a password.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from typing import ClassVar, Literal
from urllib.parse import quote, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_core import PydanticCustomError


def _error(key: str) -> PydanticCustomError:
    return PydanticCustomError(key, key)


def _q(value: str) -> str:
    return quote(value, safe="")


HOST = re.compile(r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]")
EMAIL = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+")


class ServiceForm(BaseModel):
    """A service's fields; subclasses build the Apprise URL."""

    model_config = ConfigDict(extra="forbid")
    service: ClassVar[str] = ""
    title_key: ClassVar[str] = ""

    @abstractmethod
    def build(self) -> tuple[str, str]:
        """Return (Apprise URL, summary without secrets); each service's form builds its own."""


class TelegramForm(ServiceForm):
    """A Telegram bot (from @BotFather) posting to a chat or group."""

    service: ClassVar[str] = "telegram"
    title_key: ClassVar[str] = "notify.service.telegram"

    bot_token: SecretStr = Field(default=SecretStr(""), title="notify.field.bot_token",
                                 description="notify.help.telegram_token")  # fmt: skip
    chat_id: str = Field(default="", title="notify.field.chat_id", description="notify.help.telegram_chat")

    @field_validator("bot_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if not re.fullmatch(r"\d{3,}:[A-Za-z0-9_-]{10,}", value.get_secret_value().strip()):
            raise _error("notify.error.telegram_token")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("chat_id")
    @classmethod
    def _chat(cls, value: str) -> str:
        value = value.strip()
        if not re.fullmatch(r"-?\d{1,20}|@[A-Za-z0-9_]{4,64}", value):
            raise _error("notify.error.chat_id")
        return value

    def build(self) -> tuple[str, str]:
        return f"tgram://{self.bot_token.get_secret_value()}/{_q(self.chat_id)}", f"Telegram · {self.chat_id}"


class EmailForm(ServiceForm):
    """E-mail through an SMTP server (Gmail, the ward's mail server, ...)."""

    service: ClassVar[str] = "email"
    title_key: ClassVar[str] = "notify.service.email"

    smtp_host: str = Field(default="", title="notify.field.smtp_host", description="notify.help.smtp_host")
    port: int = Field(default=587, ge=1, le=65535, title="notify.field.port")
    security: Literal["starttls", "ssl", "none"] = Field(default="starttls", title="notify.field.security")
    username: str = Field(default="", max_length=256, title="notify.field.username")
    password: SecretStr = Field(default=SecretStr(""), title="notify.field.password")
    sender: str = Field(default="", title="notify.field.sender")
    recipients: str = Field(default="", title="notify.field.recipients", description="notify.help.recipients")

    @field_validator("smtp_host")
    @classmethod
    def _host(cls, value: str) -> str:
        value = value.strip()
        if not HOST.fullmatch(value):
            raise _error("notify.error.host")
        return value

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        value = value.strip()
        if value and not EMAIL.fullmatch(value):
            raise _error("notify.error.email")
        return value

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: str) -> str:
        addresses = [a.strip() for a in re.split(r"[,;\s]+", value) if a.strip()]
        if not addresses or not all(EMAIL.fullmatch(a) for a in addresses):
            raise _error("notify.error.email")
        return ", ".join(addresses)

    def build(self) -> tuple[str, str]:
        scheme = "mailto" if self.security == "none" else "mailtos"
        login = ""
        if self.username:
            login = _q(self.username)
            if self.password.get_secret_value():
                login += ":" + _q(self.password.get_secret_value())
            login += "@"
        to = [a.strip() for a in self.recipients.split(",")]
        query: dict[str, str] = {"to": ",".join(to)}
        if self.security != "none":
            query["mode"] = self.security
        sender = self.sender or (self.username if EMAIL.fullmatch(self.username) else "")
        if sender:
            query["from"] = sender
        url = f"{scheme}://{login}{self.smtp_host}:{self.port}?{urlencode(query)}"
        return url, f"E-mail · {self.recipients}"


class NtfyForm(ServiceForm):
    """An ntfy topic (ntfy.sh or the ward's own ntfy server); residents subscribe to it in the ntfy app."""

    service: ClassVar[str] = "ntfy"
    title_key: ClassVar[str] = "notify.service.ntfy"

    server: str = Field(default="https://ntfy.sh", title="notify.field.server", description="notify.help.ntfy_server")
    topic: str = Field(default="", title="notify.field.topic", description="notify.help.ntfy_topic")
    access_token: SecretStr = Field(default=SecretStr(""), title="notify.field.access_token")

    @field_validator("server")
    @classmethod
    def _server(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value if "://" in value else f"https://{value}")
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or "@" in parts.netloc:
            raise _error("notify.error.server")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        value = value.strip()
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
            raise _error("notify.error.topic")
        return value

    def build(self) -> tuple[str, str]:
        parts = urlsplit(self.server)
        scheme = "ntfys" if parts.scheme == "https" else "ntfy"
        token = self.access_token.get_secret_value().strip()
        query = f"?{urlencode({'token': token})}" if token else ""
        return f"{scheme}://{parts.netloc}/{self.topic}{query}", f"ntfy · {parts.netloc}/{self.topic}"


class DiscordForm(ServiceForm):
    """A Discord channel's webhook (Channel settings → Integrations → Webhooks → Copy URL)."""

    service: ClassVar[str] = "discord"
    title_key: ClassVar[str] = "notify.service.discord"

    webhook_url: SecretStr = Field(default=SecretStr(""), title="notify.field.webhook_url",
                                   description="notify.help.discord")  # fmt: skip

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value().strip()
        if not re.fullmatch(r"https://(?:\w+\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]+/?", text):
            raise _error("notify.error.discord")
        return SecretStr(text.rstrip("/"))

    def build(self) -> tuple[str, str]:
        webhook_id, token = self.webhook_url.get_secret_value().split("/")[-2:]
        return f"discord://{webhook_id}/{token}", "Discord"


class WebhookForm(ServiceForm):
    """Any web address that takes a JSON POST: {title, message, type, attachments: [{filename, base64, mimetype}]}."""

    service: ClassVar[str] = "webhook"
    title_key: ClassVar[str] = "notify.service.webhook"

    url: str = Field(default="", title="notify.field.url", description="notify.help.webhook")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _error("notify.error.webhook_url")
        return value

    def build(self) -> tuple[str, str]:
        parts = urlsplit(self.url)
        scheme = "jsons" if parts.scheme == "https" else "json"
        query = f"?{parts.query}" if parts.query else ""
        host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
        login = ""
        if parts.username:
            login = parts.username + (f":{parts.password}" if parts.password else "") + "@"
        return f"{scheme}://{login}{host}{parts.path}{query}", f"Webhook · {host}{parts.path}"


class ZaloForm(ServiceForm):
    """A Zalo bot (Zalo Bot Platform) posting to a chat; needs the Zalo add-on."""

    service: ClassVar[str] = "zalo"
    title_key: ClassVar[str] = "notify.service.zalo"

    bot_token: SecretStr = Field(default=SecretStr(""), title="notify.field.bot_token",
                                 description="notify.help.zalo_token")  # fmt: skip
    chat_id: str = Field(default="", title="notify.field.chat_id", description="notify.help.zalo_chat")

    @field_validator("bot_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value().strip()
        if not re.fullmatch(r"[A-Za-z0-9:_-]{10,256}", text):
            raise _error("notify.error.zalo_token")
        return SecretStr(text)

    @field_validator("chat_id")
    @classmethod
    def _chat(cls, value: str) -> str:
        value = value.strip()
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", value):
            raise _error("notify.error.chat_id")
        return value

    def build(self) -> tuple[str, str]:
        return f"zalobot://{_q(self.bot_token.get_secret_value())}/{_q(self.chat_id)}", f"Zalo · {self.chat_id}"


class RawForm(ServiceForm):
    """Any Apprise URL (Slack, Matrix, Signal, Pushover, ...): see the Apprise list of services."""

    service: ClassVar[str] = "raw"
    title_key: ClassVar[str] = "notify.service.raw"

    apprise_url: SecretStr = Field(default=SecretStr(""), title="notify.field.apprise_url",
                                   description="notify.help.raw")  # fmt: skip

    @field_validator("apprise_url")
    @classmethod
    def _raw(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value().strip()
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*://\S+", text) or len(text) > 4000:
            raise _error("notify.error.apprise_url")
        return SecretStr(text)

    def build(self) -> tuple[str, str]:
        text = self.apprise_url.get_secret_value()
        return text, text.split("://", 1)[0]


FORMS: dict[str, type[ServiceForm]] = {
    form.service: form for form in (TelegramForm, ZaloForm, EmailForm, NtfyForm, DiscordForm, WebhookForm, RawForm)
}
