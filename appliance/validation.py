"""Validation errors in the user's language, one message per field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from appliance.i18n import catalog, t

SKIPPED_LOCATIONS = ("body", "query", "path")


def field_errors(errors: Iterable[Mapping[str, Any]], lang: str | None = None) -> dict[str, str]:
    """Turn pydantic error dicts into a translated message per field (the first error of each field)."""
    messages: dict[str, str] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in SKIPPED_LOCATIONS]
        name = ".".join(loc) or "body"
        kind = str(error.get("type", "value_error"))
        key = kind if kind in catalog("vi") else f"error.field.{kind}"  # a custom error may name its own message
        if key not in catalog("vi"):
            key = "error.field.invalid"
        params = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, str | int | float)}
        messages.setdefault(name, t(key, lang, **params))
    return messages
