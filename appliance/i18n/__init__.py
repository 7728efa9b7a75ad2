"""Translations: t("key") in the user's language, Vietnamese by default.

Catalogs are flat JSON files in one folder per language beside this module (vi/, en/), one
file per area of the product; every file of a language is merged. Add-ons add their own keys
with add_catalog(). The language comes from, in order: the `lang` argument, the language set
for the current task with use_language(), a resolver the web panel installs (the browser tab's
user), and finally Vietnamese.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LANGUAGES: dict[str, str] = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT_LANGUAGE = "vi"

_catalogs: dict[str, dict[str, str]] = {}
_current: ContextVar[str | None] = ContextVar("wardcam_language", default=None)
_resolver: Callable[[], str | None] | None = None
_missing_reported: set[str] = set()


def _load() -> None:
    for code in LANGUAGES:
        merged: dict[str, str] = {}
        for path in sorted((Path(__file__).parent / code).glob("*.json")):
            entries = json.loads(path.read_text(encoding="utf-8"))
            duplicated = merged.keys() & entries.keys()
            if duplicated:
                raise ValueError(f"{path}: keys defined twice: {sorted(duplicated)}")
            merged.update(entries)
        _catalogs[code] = merged


def catalog(lang: str) -> dict[str, str]:
    """Return the whole catalog of one language."""
    if not _catalogs:
        _load()
    return _catalogs[lang]


def add_catalog(lang: str, entries: dict[str, str]) -> None:
    """Add an add-on's keys to a language's catalog."""
    catalog(lang).update(entries)


def set_resolver(resolver: Callable[[], str | None] | None) -> None:
    """Install the function that tells the language of the current browser tab."""
    global _resolver
    _resolver = resolver


@contextmanager
def use_language(lang: str | None) -> Iterator[None]:
    """Make t() use this language in the current task."""
    token = _current.set(lang if lang in LANGUAGES else None)
    try:
        yield
    finally:
        _current.reset(token)


def current_language() -> str:
    """Return the language in force for the current task or browser tab."""
    lang = _current.get()
    if lang is None and _resolver is not None:
        try:
            lang = _resolver()
        except RuntimeError:
            lang = None
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, lang: str | None = None, **params: Any) -> str:
    """Return the translated text for a key, with {placeholders} filled in."""
    code = lang if lang in LANGUAGES else current_language()
    text = catalog(code).get(key)
    if text is None:
        text = catalog(DEFAULT_LANGUAGE).get(key)
        if key not in _missing_reported:
            _missing_reported.add(key)
            log.warning("missing translation key %s (%s)", key, code)
        if text is None:
            return key
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            log.warning("bad placeholders for translation key %s", key)
    return text


def t_or_text(text: str, lang: str | None = None, **params: Any) -> str:
    """Translate text when it is a catalog key; otherwise return it as it is (add-ons may give plain text)."""
    if text in catalog(DEFAULT_LANGUAGE):
        return t(text, lang, **params)
    return text


def best_language(accept_language: str | None) -> str:
    """Pick a supported language from an Accept-Language header."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE
