"""Named errors of the notification system, each with the translation key the user reads."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from appliance.errors import WardCamError
from appliance.i18n import t
from appliance.validation import field_errors


class NotifyInputInvalid(WardCamError):
    """Some fields of a target, rule, mute or system notification did not validate; one message per field."""

    key = "error.invalid_request"
    status = 422

    def __init__(self, errors: ValidationError | list[dict[str, Any]]) -> None:
        super().__init__()
        self.errors = errors.errors() if isinstance(errors, ValidationError) else errors

    def field_messages(self, message: str, lang: str | None = None) -> dict[str, str]:
        """Return one translated message per field (our own checks carry their key as their type)."""
        messages: dict[str, str] = {}
        others = []
        for error in self.errors:
            kind = str(error.get("type", ""))
            if kind.startswith("notify.error."):
                name = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body",)) or "url"
                params = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, str | int | float)}
                messages.setdefault(name, t(kind, lang, **params))
            else:
                others.append(error)
        return {**field_errors(others, lang), **messages}

    @property
    def fields(self) -> dict[str, str]:
        """Return the messages per field in the current language."""
        return self.field_messages("")


def field_error(name: str, key: str, **params: Any) -> NotifyInputInvalid:
    """Return the error of one field."""
    return NotifyInputInvalid([{"type": key, "loc": (name,), "ctx": params}])


class UnknownService(WardCamError):
    """The service asked for is not one WardCam knows (or its add-on is not running)."""

    key = "notify.error.unknown_service"
    status = 422
    field = "service"
