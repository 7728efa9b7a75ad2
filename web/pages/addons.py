"""/addons: every add-on with its state; enable, disable and configure them without a restart."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from appliance.addons.manager import Addon, AddonStatus, OptionsInvalid
from appliance.auth.roles import Permission
from appliance.errors import WardCamError
from appliance.i18n import t, t_or_text
from web import context, design
from web.access import page
from web.components.options_form import OptionsForm
from web.guard import acting, client_ip
from web.theme import frame

STATUS_COLOURS = {
    AddonStatus.RUNNING: "positive",
    AddonStatus.DISABLED: "grey-6",
    AddonStatus.FAILED: "negative",
    AddonStatus.BROKEN: "negative",
}


text = t_or_text  # manifest texts are catalog keys or plain text


@page("/addons", Permission.MANAGE_ADDONS)
def addons_page() -> None:
    """List the add-ons."""
    with frame("nav.addons"):
        if context.appliance().settings.safe_mode:
            ui.label(t("addons.safe_mode")).classes("text-warning font-semibold")
        ui.label(t("addons.intro")).classes(design.MUTED)
        AddonList().draw()


class AddonList:
    """The page's list, refreshed on this page only (a module-level refreshable redraws every page that
    ever drew it, open or gone)."""

    @ui.refreshable_method
    def draw(self) -> None:
        addon_list(self.draw.refresh)


def addon_list(changed: Callable[[], object]) -> None:
    """Draw one card per add-on; `changed` redraws the list."""
    addons = sorted(context.appliance().addons.addons.values(), key=lambda a: a.name)
    if not addons:
        ui.label(t("addons.none")).classes(design.MUTED)
    for addon in addons:
        addon_card(addon, changed)


def addon_card(addon: Addon, changed: Callable[[], object]) -> None:
    """Draw one add-on: what it is, its state, its error, and its controls."""
    manifest = addon.manifest
    with ui.card().classes("w-full").props(f"data-addon={addon.name}"), ui.row().classes("w-full items-start gap-3"):
        ui.icon(manifest.icon if manifest else "extension_off").classes("text-3xl text-primary")
        with ui.column().classes("gap-1 grow"):
            with ui.row().classes("items-center gap-2"):
                ui.label(text(manifest.title) if manifest else addon.name).classes("font-semibold")
                if manifest:
                    ui.label(manifest.version).classes(design.MUTED)
                ui.badge(t(f"addons.status.{addon.status.value}"), color=STATUS_COLOURS[addon.status]).mark(
                    f"status-{addon.name}"
                )
            if manifest and manifest.description:
                ui.label(text(manifest.description)).classes(design.MUTED)
            ui.label(
                t("addons.origin", origin=t("addons.builtin") if addon.origin == "builtin" else addon.origin)
            ).classes(design.MUTED)
            if addon.error:
                ui.label(t("addons.error_text", error=addon.error)).classes(design.ERROR_TEXT).mark(
                    f"error-{addon.name}"
                )
        if manifest is not None:
            with ui.column().classes("items-end gap-1"):
                switch = ui.switch(t("addons.enabled"), value=addon.status == AddonStatus.RUNNING)
                switch.on_value_change(lambda e, a=addon: toggle(a, bool(e.value), changed))
                switch.mark(f"enable-{addon.name}")
                if manifest.options.model_fields:
                    ui.button(
                        t("addons.options"), icon="tune", on_click=lambda a=addon: options_dialog(a, changed)
                    ).props("flat").mark(f"options-{addon.name}")


async def toggle(addon: Addon, enable: bool, changed: Callable[[], object]) -> None:
    """Enable or disable an add-on now."""
    who = await acting(Permission.MANAGE_ADDONS)
    if who is None:
        return
    manager = context.appliance().addons
    try:
        if enable:
            await manager.enable(addon.name, who, client_ip())
        else:
            await manager.disable(addon.name, who, client_ip())
    except WardCamError as exc:
        ui.notify(t(exc.key, **exc.params), type="negative")
    else:
        if addon.status in (AddonStatus.FAILED, AddonStatus.BROKEN):
            ui.notify(t("addons.failed_to_start", error=addon.error), type="negative")
        else:
            ui.notify(t("addons.now_running" if addon.running else "addons.now_stopped"), type="positive")
    changed()


async def options_dialog(addon: Addon, changed: Callable[[], object]) -> None:
    """Show the generated options form, and save it with per-field errors."""
    assert addon.manifest is not None
    form = OptionsForm(addon.manifest.options, addon.options or addon.manifest.options())
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-lg"):
        ui.label(t("addons.options_title", name=text(addon.manifest.title))).classes(design.H2)
        await form.draw()

        async def save() -> None:
            who = await acting(Permission.MANAGE_ADDONS)
            if who is None:
                return
            try:
                await context.appliance().addons.configure(addon.name, form.values(), who, client_ip())
            except OptionsInvalid as exc:
                form.show_errors(exc.fields)
                ui.notify(t("addons.options_invalid"), type="warning")
                return
            form.show_errors({})
            ui.notify(t("addons.options_saved"), type="positive")
            dialog.close()
            changed()

        with ui.row().classes("w-full justify-end"):
            ui.button(t("action.cancel"), on_click=dialog.close).props("flat")
            ui.button(t("action.save"), on_click=save).mark("save-options")
    dialog.open()
