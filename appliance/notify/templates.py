"""Message templates of a rule, in Vietnamese (the default) and English, with {placeholders}."""

from __future__ import annotations

import string
from dataclasses import dataclass

from pydantic_core import PydanticCustomError

from appliance.i18n import catalog, t

PLACEHOLDERS: tuple[str, ...] = ("camera", "site", "label", "time", "link", "score", "zones")
MAX_LENGTH = 1000


def check_template(text: str) -> str:
    """Return the template if every {placeholder} is one we fill; otherwise raise its translated error."""
    text = text.strip()
    if len(text) > MAX_LENGTH:
        raise PydanticCustomError("notify.error.template_long", "notify.error.template_long")
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        raise PydanticCustomError("notify.error.template_braces", "notify.error.template_braces") from None
    for _, name, _, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS or conversion:
            raise PydanticCustomError(
                "notify.error.template_placeholder", "notify.error.template_placeholder", {"name": name}
            )
    return text


@dataclass(frozen=True)
class MessageFacts:
    """What a detection message says, already in words."""

    camera: str
    site: str
    label: str
    time: str
    link: str
    score: str = ""
    zones: str = ""


def label_text(label: str, lang: str) -> str:
    """Return a detection label in words (person -> người), or the label itself when we have no word for it."""
    key = f"notify.label.{label.lower()}"
    return t(key, lang) if key in catalog(lang) else label


def render(template: str, facts: MessageFacts, lang: str) -> str:
    """Fill a template (the language's default when empty) with the facts."""
    text = template.strip() or t("notify.template.detection", lang)
    values = {name: str(getattr(facts, name)) for name in PLACEHOLDERS}
    try:
        return text.format_map(values)
    except (KeyError, IndexError, ValueError):  # a template stored before a check: never lose the message
        return t("notify.template.detection", lang).format_map(values)
