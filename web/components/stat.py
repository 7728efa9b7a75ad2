"""stat_card(): one number with an icon and a label."""

from __future__ import annotations

from nicegui import ui

from web import design


def stat_card(icon: str, value: str, label: str) -> ui.card:
    """Show one figure."""
    with ui.card().classes("w-full").props(f"data-stat={icon}") as card, ui.row().classes("items-center gap-3 no-wrap"):
        ui.icon(icon).classes("text-4xl text-primary")
        with ui.column().classes("gap-0"):
            ui.label(value).classes(design.STAT_VALUE)
            ui.label(label).classes(design.STAT_LABEL)
    return card
