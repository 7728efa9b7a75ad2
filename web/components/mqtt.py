"""The MQTT section of the System page: the broker connection's state, and its settings for admins."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from appliance.auth.roles import Permission
from appliance.i18n import t
from appliance.mqtt import MqttService, MqttSettingsInvalid, MqttState, MqttStatus
from appliance.mqtt.service import default_client_id
from web import context, design
from web.guard import acting, client_ip

STATE_ICONS = {
    MqttState.CONNECTED: ("check_circle", "text-positive"),
    MqttState.CONNECTING: ("sync", "text-warning"),
    MqttState.ERROR: ("error", "text-negative"),
    MqttState.DISCONNECTED: ("remove_circle_outline", "text-grey-7"),
}
FIELDS = ("broker", "url", "username", "password", "ca_pem", "tls_insecure", "client_id", "base_topic")


def counters_text(status: MqttStatus) -> str:
    """Return the message counters in one line."""
    return t("mqtt.counters", received=status.received, published=status.published,
             failures=status.handler_failures, malformed=status.malformed)  # fmt: skip


def state_card(service: MqttService) -> None:
    """Show the connection's state in plain words, refreshed every second."""
    with ui.card().classes(design.CARD), ui.row().classes("items-center gap-3 no-wrap"):
        icon = ui.icon("").classes("text-2xl")
        with ui.column().classes("gap-0"):
            text = ui.label().classes("font-medium").mark("mqtt-state")
            since = ui.label().classes(design.MUTED)
            counters = ui.label().classes(design.MUTED).mark("mqtt-counters")

    def refresh() -> None:
        status = service.status
        name, colour = STATE_ICONS[status.state]
        icon.props(f"name={name}").classes(replace=f"text-2xl {colour}")
        text.set_text(status.text())
        since.set_text(t("mqtt.since", when=status.since.astimezone().strftime("%Y-%m-%d %H:%M:%S")))
        counters.set_text(counters_text(status))

    refresh()
    ui.timer(1.0, refresh)


def settings_form(service: MqttService) -> None:
    """Let an admin choose the broker; the password is write-only, applied at once and audited."""
    s = service.settings
    with ui.card().classes(design.CARD), ui.column().classes("w-full gap-2"):
        ui.label(t("mqtt.settings_title")).classes("font-semibold")
        choices = {"builtin": t("mqtt.broker.builtin"), "external": t("mqtt.broker.external"),
                   "off": t("mqtt.broker.off")}  # fmt: skip
        broker = ui.radio(choices, value=s.broker).props("inline").mark("mqtt-broker")
        ui.label(t("mqtt.help.broker")).classes(design.MUTED)
        inputs: dict[str, Any] = {"broker": broker}
        with ui.column().classes("w-full gap-2") as external:
            inputs["url"] = (
                ui.input(t("mqtt.field.url"), value=s.url, placeholder="mqtt://192.168.1.10:1883")
                .classes(design.FORM_FIELD)
                .mark("mqtt-url")
            )
            ui.label(t("mqtt.help.url")).classes(design.MUTED)
            with ui.row().classes("w-full gap-4 no-wrap"):
                inputs["username"] = (
                    ui.input(t("mqtt.field.username"), value=s.username).classes("grow").mark("mqtt-username")
                )
                inputs["password"] = password_input(bool(s.password.get_secret_value()))
            ui.label(t("mqtt.help.password")).classes(design.MUTED)
            inputs["ca_pem"] = (
                ui.textarea(t("mqtt.field.ca_pem"), value=s.ca_pem.strip())
                .classes(design.FORM_FIELD)
                .props("rows=3")
                .mark("mqtt-ca")
            )
            ui.label(t("mqtt.help.ca_pem")).classes(design.MUTED)
            inputs["tls_insecure"] = ui.switch(t("mqtt.field.tls_insecure"), value=s.tls_insecure).mark(
                "mqtt-tls-insecure"
            )
            ui.label(t("mqtt.help.tls_insecure")).classes(design.MUTED)
        external.bind_visibility_from(broker, "value", backward=lambda v: v == "external")
        with ui.expansion(t("mqtt.advanced")).classes("w-full"), ui.column().classes("w-full gap-2"):
            inputs["client_id"] = ui.input(t("mqtt.field.client_id"), value=s.client_id,
                                           placeholder=default_client_id(service.data_dir)).classes(
                design.FORM_FIELD).mark("mqtt-client-id")  # fmt: skip
            ui.label(t("mqtt.help.client_id")).classes(design.MUTED)
            inputs["base_topic"] = (
                ui.input(t("mqtt.field.base_topic"), value=s.base_topic)
                .classes(design.FORM_FIELD)
                .mark("mqtt-base-topic")
            )
            ui.label(t("mqtt.help.base_topic")).classes(design.MUTED)

        async def save() -> None:
            who = await acting(Permission.MANAGE_SYSTEM)
            if who is None:
                return
            values = {name: inputs[name].value for name in FIELDS}
            values["password"] = values["password"] or ""  # empty: keep the stored one
            try:
                new = await service.save_settings(values, who, client_ip())
            except MqttSettingsInvalid as exc:
                errors = exc.field_messages("")
                for name in FIELDS:
                    if hasattr(inputs[name], "error"):
                        inputs[name].error = errors.get(name)
                ui.notify(t("mqtt.not_saved"), type="warning")
                return
            for name in FIELDS:
                if hasattr(inputs[name], "error"):
                    inputs[name].error = None
            inputs["password"].value = ""  # never kept in the page
            inputs["password"].props(f'placeholder="{password_hint(bool(new.password.get_secret_value()))}"')
            ui.notify(t("mqtt.saved"), type="positive")

        ui.button(t("action.save"), icon="save", on_click=save).mark("mqtt-save")


def password_hint(stored: bool) -> str:
    """Return what the empty password field says."""
    return t("mqtt.password_stored") if stored else ""


def password_input(stored: bool) -> ui.input:
    """Return the write-only password field: always empty, saying whether a password is stored."""
    return (
        ui.input(t("mqtt.field.password"), password=True, password_toggle_button=True,
                 placeholder=password_hint(stored))
        .props("autocomplete=new-password")
        .classes("grow")
        .mark("mqtt-password")
    )  # fmt: skip


def mqtt_section() -> None:
    """Show the MQTT section: the connection's state and the broker settings."""
    service = context.appliance().mqtt
    ui.label(t("mqtt.title")).classes(design.H2)
    state_card(service)
    settings_form(service)
