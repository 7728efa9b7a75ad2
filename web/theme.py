"""frame(): the header, navigation drawer and page body that every page sits in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import context as ng_context
from nicegui import ui

from appliance.auth.sessions import end_session
from appliance.i18n import t, t_or_text
from web import context, design
from web.navigation import NAV, NavEntry

# filled by web.addon_host with the running add-ons' pages
addon_nav: list[NavEntry] = []


def apply_colors() -> None:
    """Set the panel's colour scheme."""
    ui.colors(primary=design.PRIMARY, secondary=design.SECONDARY, accent=design.ACCENT, negative=design.NEGATIVE)


async def logout() -> None:
    """End this tab's session and go to the login page."""
    token = context.session_token(ng_context.client)
    if token:
        await end_session(token)
    ui.navigate.to("/login")


@contextmanager
def frame(title_key: str) -> Iterator[None]:
    """Draw the header and navigation, then the page's own content inside."""
    who = context.principal()
    apply_colors()
    ui.page_title(f"{t_or_text(title_key)} · WardCam")
    request = ng_context.client.request
    current = request.url.path if request is not None else ""

    with ui.left_drawer(value=None, bordered=True).classes(design.DRAWER).props("width=240") as drawer:
        with ui.list().classes("w-full").props("padding"):
            for entry in [*NAV, *addon_nav]:
                if who is None or not who.can(entry.permission):
                    continue
                active = current == entry.path
                with (
                    ui.item(on_click=lambda p=entry.path: ui.navigate.to(p))
                    .classes(design.NAV_ITEM + (" " + design.NAV_ACTIVE if active else ""))
                    .props(f"clickable data-nav={entry.path}")
                ):
                    with ui.item_section().props("avatar"):
                        ui.icon(entry.icon)
                    ui.item_section(t_or_text(entry.label_key))

    with ui.header().classes(design.HEADER):
        ui.button(icon="menu", on_click=drawer.toggle).props(f'flat round color=white aria-label="{t("nav.menu")}"')
        with ui.row().classes("items-center gap-2 no-wrap"):
            ui.icon("videocam").classes("text-2xl")
            ui.label("WardCam").classes("text-xl font-semibold")
        ui.space()
        if who is not None:
            with ui.button(icon="account_circle").props("flat color=white no-caps").classes("max-w-[50vw]"):
                ui.label(who.label).classes("ml-1 truncate")
                with ui.menu():
                    ui.menu_item(t("nav.account"), on_click=lambda: ui.navigate.to("/account")).mark("account")
                    ui.menu_item(t("nav.logout"), on_click=logout).mark("logout")

    with ui.column().classes(design.PAGE):
        ui.label(t_or_text(title_key)).classes(design.H1)
        yield
