"""Form fields with a translated label and a marker that tests and scripts can find them by."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from appliance.i18n import t


def form_input(name: str, **kwargs: Any) -> ui.input:
    """Return a text input labelled t('field.<name>') and marked <name>."""
    return ui.input(t(f"field.{name}"), **kwargs).mark(name)


def form_select(name: str, options: Any, **kwargs: Any) -> ui.select:
    """Return a select labelled t('field.<name>') and marked <name>."""
    return ui.select(options, label=t(f"field.{name}"), **kwargs).mark(name)
