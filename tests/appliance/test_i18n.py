"""Every text a user reads is translated: the vi and en catalogs are complete and agree."""

from __future__ import annotations

import re
import string
from pathlib import Path

from appliance.i18n import LANGUAGES, best_language, catalog, t, use_language

ROOT = Path(__file__).resolve().parents[2]
LITERAL_KEY = re.compile(r"""\bt\(\s*f?["']([a-z0-9_]+\.[a-z0-9_.{}]+)["']""")


def used_keys() -> set[str]:
    """Return every key the code passes to t() as a literal (f-string parts become patterns)."""
    keys: set[str] = set()
    for folder in ("appliance", "web", "addons"):
        for path in (ROOT / folder).rglob("*.py"):
            keys.update(LITERAL_KEY.findall(path.read_text(encoding="utf-8")))
    return keys


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_catalogs_have_exactly_the_same_keys() -> None:
    vi, en = catalog("vi"), catalog("en")
    assert sorted(set(vi) - set(en)) == []
    assert sorted(set(en) - set(vi)) == []


def test_every_key_used_in_the_code_is_in_both_catalogs() -> None:
    keys = used_keys()
    assert len(keys) > 50
    for lang in LANGUAGES:
        entries = catalog(lang)
        missing = []
        for key in keys:
            if "{" in key:  # t(f"role.{role}") and the like: some key must fit the pattern
                pattern = re.compile(re.sub(r"\\\{[^}]*\\\}", "[a-z0-9_]+", re.escape(key)) + "$")
                if not any(pattern.match(k) for k in entries):
                    missing.append(key)
            elif key not in entries:
                missing.append(key)
        assert missing == [], f"{lang}: {missing}"


def test_translations_use_the_same_placeholders() -> None:
    vi, en = catalog("vi"), catalog("en")
    assert [k for k in vi if placeholders(vi[k]) != placeholders(en[k])] == []


def test_no_translation_is_empty_or_left_in_english_by_mistake() -> None:
    vi, en = catalog("vi"), catalog("en")
    assert [k for k, v in vi.items() if not v.strip()] == []
    same = [k for k in vi if vi[k] == en[k] and len(en[k]) > 12]
    assert same == []


def test_vietnamese_is_the_default_and_english_is_available() -> None:
    assert t("nav.dashboard") == "Tổng quan"
    assert t("nav.dashboard", "en") == "Dashboard"
    with use_language("en"):
        assert t("error.password_weak", min_length=10).endswith("at least 10 characters.")
    assert best_language("en-US,en;q=0.9") == "en"
    assert best_language("fr-FR") == "vi"
    assert best_language(None) == "vi"
