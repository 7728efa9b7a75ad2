"""The page shown when a page fails: a plain message in the user's language, never a traceback."""

from __future__ import annotations

from nicegui import app, ui

from appliance.i18n import t
from web import design
from web.theme import apply_colors


def page_failed() -> None:
    """Tell the user that something went wrong, without technical detail."""
    apply_colors()
    with ui.card().classes(design.AUTH_CARD):
        ui.icon("error_outline").classes("text-5xl text-negative")
        ui.label(t("error.page_failed_title")).classes(design.H1)
        ui.label(t("error.page_failed")).classes(design.MUTED)
        ui.link(t("nav.dashboard"), "/")


def install() -> None:
    """Show page_failed() instead of a traceback when a page raises."""
    app.on_page_exception(page_failed)
