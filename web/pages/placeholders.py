"""Pages whose capability is still being built: they say what will come there."""

from __future__ import annotations

from nicegui import ui

from appliance.auth.roles import Permission
from appliance.i18n import t
from web import design
from web.access import page
from web.theme import frame

COMING: list[tuple[str, Permission, str, str]] = [
    ("/requests", Permission.REQUEST_FOOTAGE, "nav.requests", "gavel"),
]


def _register(path: str, permission: Permission, title_key: str, icon: str) -> None:
    name = path.strip("/")

    @page(path, permission)
    def coming_soon() -> None:
        with frame(title_key), ui.card().classes(design.CARD), ui.row().classes("items-start gap-4 no-wrap"):
            ui.icon(icon).classes("text-5xl text-grey-6")
            with ui.column().classes("gap-1"):
                ui.label(t("placeholder.heading")).classes(design.H2)
                ui.label(t(f"placeholder.{name}")).classes(design.MUTED)


for _path, _permission, _title, _icon in COMING:
    _register(_path, _permission, _title, _icon)
