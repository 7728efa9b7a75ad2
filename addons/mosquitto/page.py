"""/addon/mosquitto/users: the built-in broker's state, and a write-only password for each listed user."""

from __future__ import annotations

from nicegui import ui

from addons import mosquitto
from addons.mosquitto.broker import BrokerState
from appliance.auth.roles import Permission
from appliance.errors import WardCamError
from appliance.i18n import t
from web import design
from web.guard import acting, client_ip


def state_text() -> str:
    """Return the broker's state in plain words."""
    rt = mosquitto.running()
    status = rt.broker.status
    if status.state == BrokerState.RUNNING:
        key = "addon.mosquitto.state.lan" if rt.options.listen_on_lan else "addon.mosquitto.state.local"
        return t(key, port=rt.options.port)
    if status.state == BrokerState.RESTARTING:
        return t("addon.mosquitto.state.restarting", code="—" if status.last_exit is None else status.last_exit)
    return t(f"addon.mosquitto.state.{status.state.value}")


def users_page() -> None:
    """Draw the broker's state and one row per user listed in the options."""
    rt = mosquitto.running()
    state = ui.label(state_text()).classes("font-medium").mark("mosquitto-state")
    ui.timer(2.0, lambda: state.set_text(state_text()))
    ui.label(t("addon.mosquitto.connect_hint", port=rt.options.port)).classes(design.MUTED)
    ui.label(t("addon.mosquitto.users_title")).classes(design.H2)
    if not rt.options.users:
        ui.label(t("addon.mosquitto.no_users")).classes(design.MUTED).mark("mosquitto-no-users")
        return
    with_password = rt.files.users_with_password()
    for name in rt.options.users:
        user_row(name, name in with_password)


def user_row(name: str, has_password: bool) -> None:
    """One broker user: whether a password is set, and a field to set a new one (never shown back)."""
    with ui.card().classes(design.CARD), ui.row().classes("w-full items-center gap-4"):
        ui.label(name).classes("font-semibold min-w-32")
        badge = ui.label().classes(design.MUTED).mark(f"mosquitto-has-password-{name}")

        def show(stored: bool) -> None:
            badge.set_text(t("addon.mosquitto.password_set" if stored else "addon.mosquitto.password_missing"))

        show(has_password)
        field = (
            ui.input(t("addon.mosquitto.new_password"), password=True, password_toggle_button=True)
            .props("autocomplete=new-password")
            .classes("grow")
            .mark(f"mosquitto-password-{name}")
        )

        async def save() -> None:
            who = await acting(Permission.MANAGE_ADDONS)
            if who is None:
                return
            try:
                await mosquitto.set_password(name, field.value or "", who, client_ip())
            except WardCamError as exc:
                field.error = t(exc.key, **exc.params)
                return
            field.value = ""
            field.error = None
            show(True)
            ui.notify(t("addon.mosquitto.password_saved", user=name), type="positive")

        ui.button(t("addon.mosquitto.set_password"), icon="key", on_click=save).mark(f"mosquitto-set-password-{name}")
