"""Dialog helpers shared by the pages."""

from __future__ import annotations

from nicegui import ui


def open_once(dialog: ui.dialog) -> None:
    """Open a dialog that is deleted when it closes, so that a closed form leaves nothing behind."""
    dialog.on_value_change(lambda e: None if e.value else dialog.delete())
    dialog.open()
