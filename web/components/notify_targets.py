"""The Notifications page's targets: the list (no address ever shown), a form per service, "Send test"."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from appliance.auth.roles import Permission
from appliance.i18n import t, t_or_text
from appliance.notify import Notifications, NotifyInputInvalid, UnknownService
from appliance.notify.sender import Outcome
from appliance.notify.urls import FORMS
from web import context, design
from web.components.options_form import OptionsForm
from web.guard import acting, client_ip

Refresh = Callable[[], Awaitable[None]]


def service_choices(notify: Notifications) -> dict[str, str]:
    """Return the services staff may pick, Zalo only while its add-on runs."""
    return {name: t(form.title_key) for name, form in FORMS.items()
            if name != "zalo" or "zalobot" in notify.addon_schemes}  # fmt: skip


def show_outcome(label: ui.label, outcome: Outcome) -> None:
    """Show how a test went, in plain words."""
    label.set_text(outcome.text())
    label.classes(replace="text-positive font-medium" if outcome.ok else design.ERROR_TEXT)
    ui.notify(outcome.text(), type="positive" if outcome.ok else "warning")


class TargetForm:
    """Name, service and the service's fields; "Send test" works before saving."""

    def __init__(self, notify: Notifications, on_saved: Refresh) -> None:
        self.notify = notify
        self.on_saved = on_saved
        self.fields: OptionsForm | None = None

    async def draw(self) -> None:
        with ui.card().classes(design.CARD), ui.column().classes("w-full gap-2"):
            ui.label(t("notify.targets.add")).classes("font-semibold")
            self.name = ui.input(t("notify.field.target_name")).classes(design.FORM_FIELD).mark("target-name")
            choices = service_choices(self.notify)
            self.service = ui.select(choices, value="telegram", label=t("notify.field.service"),
                                     on_change=self._service_changed)  # fmt: skip
            self.service.classes(design.FORM_FIELD).mark("target-service")
            if "zalo" not in choices:
                ui.label(t("notify.targets.zalo_hint")).classes(design.MUTED)
            self.box = ui.column().classes("w-full gap-2")
            await self._draw_fields()
            with ui.row().classes("items-center gap-2"):
                ui.button(t("notify.targets.test"), icon="send", on_click=self.test).props("outline").mark(
                    "target-test"
                )
                ui.button(t("action.save"), icon="save", on_click=self.save).mark("target-save")
            self.result = ui.label("").mark("target-test-result")

    async def _draw_fields(self) -> None:
        self.box.clear()
        form_type = FORMS[self.service.value]
        self.fields = OptionsForm(form_type, form_type.model_construct())
        with self.box:
            ui.label(t_or_text(form_type.title_key)).classes(design.MUTED)
            await self.fields.draw()

    async def _service_changed(self) -> None:
        await self._draw_fields()

    def _values(self) -> dict[str, Any]:
        assert self.fields is not None
        return {k: ("" if v is None else v) for k, v in self.fields.values().items()}

    def _show_errors(self, exc: NotifyInputInvalid | UnknownService) -> None:
        errors = exc.field_messages(t(exc.key))
        assert self.fields is not None
        self.fields.show_errors(errors)
        self.name.error = errors.get("name")
        self.service.error = errors.get("service")
        ui.notify(t("notify.not_saved"), type="warning")

    async def test(self) -> None:
        if await acting(Permission.MANAGE_NOTIFICATIONS) is None:
            return
        self.result.set_text(t("notify.targets.testing"))
        try:
            outcome = await self.notify.targets.test_form(self.service.value, self._values(),
                                                          t("notify.test.title"), t("notify.test.body"))  # fmt: skip
        except (NotifyInputInvalid, UnknownService) as exc:
            self.result.set_text("")
            self._show_errors(exc)
            return
        assert self.fields is not None
        self.fields.show_errors({})
        show_outcome(self.result, outcome)

    async def save(self) -> None:
        who = await acting(Permission.MANAGE_NOTIFICATIONS)
        if who is None:
            return
        try:
            view = await self.notify.targets.create(self.name.value, self.service.value, self._values(), who,
                                                    client_ip())  # fmt: skip
        except (NotifyInputInvalid, UnknownService) as exc:
            self._show_errors(exc)
            return
        ui.notify(t("notify.targets.saved", name=view.name), type="positive")
        self.name.value = ""
        self.name.error = None
        await self._draw_fields()  # never keep a token in the page
        self.result.set_text("")
        await self.on_saved()


async def targets_section(notify: Notifications, on_change: Refresh) -> Refresh:
    """Draw the targets and the form; return the list's refresh."""
    listing = ui.column().classes("w-full gap-2").mark("targets")

    async def refresh() -> None:
        views = await notify.targets.list()
        listing.clear()
        with listing:
            if not views:
                ui.label(t("notify.targets.none")).classes(design.MUTED)
            for view in views:
                with ui.card().classes(design.CARD).props(f"data-target={view.id}"), \
                        ui.row().classes("w-full items-center gap-3 no-wrap"):  # fmt: skip
                    ui.icon("send" if view.enabled else "cancel_schedule_send").classes("text-2xl text-primary")
                    with ui.column().classes("gap-0 grow"):
                        ui.label(view.name).classes("font-medium")
                        ui.label(view.summary).classes(design.MUTED)
                    result = ui.label("").classes("text-sm")
                    ui.button(t("notify.targets.test"), icon="send",
                              on_click=lambda v=view, r=result: _test(notify, v.id, r)).props("flat dense")  # fmt: skip
                    ui.switch(t("notify.field.enabled"), value=view.enabled,
                              on_change=lambda e, v=view: _enable(notify, v.id, e.value))  # fmt: skip
                    ui.button(icon="delete", on_click=lambda v=view: _delete(notify, v.id, v.name, changed)).props(
                        f'flat round color=negative aria-label="{t("notify.delete")}"'
                    )

    async def changed() -> None:
        await refresh()
        await on_change()

    await refresh()
    await TargetForm(notify, changed).draw()
    return refresh


async def _test(notify: Notifications, target_id: int, label: ui.label) -> None:
    if await acting(Permission.MANAGE_NOTIFICATIONS) is None:
        return
    label.set_text(t("notify.targets.testing"))
    show_outcome(label, await notify.targets.test(target_id, t("notify.test.title"), t("notify.test.body")))


async def _enable(notify: Notifications, target_id: int, enabled: bool) -> None:
    who = await acting(Permission.MANAGE_NOTIFICATIONS)
    if who is not None:
        await notify.targets.update(target_id, who, client_ip(), enabled=enabled)


async def _delete(notify: Notifications, target_id: int, name: str, changed: Refresh) -> None:
    with ui.dialog() as dialog, ui.card():
        ui.label(t("notify.targets.delete_confirm", name=name))
        with ui.row():
            ui.button(t("action.cancel"), on_click=lambda: dialog.submit(False)).props("flat")
            ui.button(t("notify.delete"), on_click=lambda: dialog.submit(True)).props("color=negative")
    if not await dialog:
        return
    who = await acting(Permission.MANAGE_NOTIFICATIONS)
    if who is None:
        return
    await notify.targets.delete(target_id, who, client_ip())
    ui.notify(t("notify.targets.deleted", name=name))
    await changed()


def current_notify() -> Notifications:
    """Return the notification system of the served appliance."""
    return context.appliance().notify
