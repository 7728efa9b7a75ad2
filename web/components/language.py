"""The language picker used on onboarding and login."""

from __future__ import annotations

from urllib.parse import urlencode

from nicegui import ui

from appliance.i18n import LANGUAGES


def language_links(current: str, path: str, **query: str) -> None:
    """Show the other languages as links that reload the page in that language, keeping the query."""
    with ui.row().classes("w-full justify-end gap-3"):
        for code, name in LANGUAGES.items():
            if code == current:
                ui.label(name).classes("text-sm font-semibold")
            else:
                ui.link(name, f"{path}?{urlencode({**query, 'lang': code})}").classes("text-sm").props(
                    f"data-lang={code}"
                )
