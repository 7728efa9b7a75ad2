"""Every hook is documented in docs/addon-hooks.md and has a test of its own."""

from __future__ import annotations

import re
from pathlib import Path

from appliance.addons.hookspecs import HOOK_NAMES, AddonSpec

ROOT = Path(__file__).resolve().parents[3]


def test_the_contract_has_the_hooks_the_issue_asks_for() -> None:
    assert set(HOOK_NAMES) == {
        "wardcam_setup", "wardcam_teardown", "wardcam_pages", "wardcam_api_routes", "wardcam_event",
        "wardcam_notification_services", "wardcam_discover_cameras", "wardcam_health_checks",
    }  # fmt: skip
    for name in HOOK_NAMES:
        doc = getattr(AddonSpec, name).__doc__ or ""
        assert doc and "\n" not in doc.strip(), f"{name} needs a one-line docstring"


def test_every_hook_has_a_section_with_its_signature_and_an_example() -> None:
    text = (ROOT / "docs" / "addon-hooks.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## (wardcam_\w+)\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S))
    for name in HOOK_NAMES:
        assert name in sections, f"docs/addon-hooks.md has no section for {name}"
        body = sections[name]
        assert f"def {name}(" in body, f"the section of {name} shows no signature"
        assert body.count("```") >= 4, f"the section of {name} has no example"


def test_every_hook_has_a_test_of_its_own() -> None:
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py"))
    test_names = re.findall(r"def (test_\w+)", tests)
    for name in HOOK_NAMES:
        assert any(name in test for test in test_names), f"no test is named after {name}"
