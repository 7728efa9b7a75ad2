"""options_form(): a form generated from an add-on's options model, like Home Assistant's add-on options."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui
from pydantic import BaseModel

from appliance.addons.options import OptionField, describe, dump, redacted
from appliance.db.models.cameras import Camera, Site
from appliance.i18n import t
from web import design

Save = Callable[[dict[str, Any]], Awaitable[dict[str, str] | None]]


async def _choices(field: OptionField) -> dict[Any, str]:
    if field.kind == "camera":
        return {c.id: c.name for c in await Camera.all()}
    if field.kind == "site":
        return {s.id: s.name for s in await Site.all()}
    return {c: c for c in field.choices}


class OptionsForm:
    """The widgets of one options form, with per-field errors."""

    def __init__(self, model: type[BaseModel], current: BaseModel) -> None:
        self.model = model
        self.current = current
        self.fields = describe(model)
        self.widgets: dict[str, Any] = {}

    async def draw(self) -> None:
        """Draw one widget per option, filled with the current values (never a secret)."""
        values = redacted(self.current)
        raw = dump(self.current)
        for f in self.fields:
            value = values.get(f.name)
            props = f"data-option={f.name}"
            if f.kind == "bool":
                widget: Any = ui.switch(f.title, value=bool(value))
            elif f.kind in ("integer", "number"):
                widget = ui.number(f.title, value=value, min=f.minimum, max=f.maximum,
                                   precision=0 if f.kind == "integer" else None)  # fmt: skip
            elif f.kind == "password":
                widget = ui.input(f.title, password=True, password_toggle_button=True,
                                  placeholder=t("addons.secret_kept") if raw.get(f.name) else "")  # fmt: skip
            elif f.kind in ("select", "camera", "site"):
                widget = ui.select(await _choices(f), value=value, label=f.title, multiple=f.multiple, clearable=True)
                if f.multiple:
                    widget.props("use-chips")
            elif f.kind == "list":
                widget = ui.input_chips(f.title, value=list(value or []))
            elif f.kind == "time":
                widget = ui.input(f.title, value=value or "").props("mask=time fill-mask")
            else:
                widget = ui.input(f.title, value=value or "")
                if f.kind == "url":
                    props += " type=url"
            widget.classes(design.FORM_FIELD).props(props).mark(f"option-{f.name}")
            if f.description:
                widget.tooltip(f.description)
            self.widgets[f.name] = widget

    def values(self) -> dict[str, Any]:
        """Return what the user entered, as plain data for validation."""
        out: dict[str, Any] = {}
        for f in self.fields:
            value = self.widgets[f.name].value
            if f.kind == "integer" and isinstance(value, float) and value.is_integer():
                value = int(value)
            if f.kind == "time" and isinstance(value, str) and value:
                with contextlib.suppress(ValueError):  # else left for the model to refuse, per field
                    value = dt.time.fromisoformat(value).isoformat()
            out[f.name] = value
        return out

    def show_errors(self, errors: dict[str, str]) -> None:
        """Put each error under its field; clear the others."""
        for name, widget in self.widgets.items():
            if hasattr(widget, "error"):
                widget.error = errors.get(name)
