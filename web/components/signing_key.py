"""The evidence signing key on the System page: its fingerprint, to read out to the police, and its public key."""

from __future__ import annotations

from nicegui import ui

from appliance.i18n import t
from appliance.requests.identity import appliance_id
from web import context, design


def signing_key_section() -> None:
    """Show the appliance id, the key's fingerprint and its public key (PEM), with a download of the key."""
    app = context.appliance()
    info = app.requests.public_key()
    ui.label(t("system.signing_key")).classes(design.H2)
    with ui.card().classes(design.CARD), ui.column().classes("gap-2 w-full"):
        ui.label(t("system.signing_key_help")).classes(design.MUTED)
        with ui.row().classes("items-center gap-2"):
            ui.label(t("system.appliance_id")).classes("font-medium")
            ui.label(appliance_id(app.settings.data_dir / "secrets")).classes("font-mono").mark("appliance-id")
        with ui.row().classes("items-center gap-2"):
            ui.label(t("system.fingerprint")).classes("font-medium")
            ui.label(info.fingerprint).classes("font-mono break-all").mark("key-fingerprint")
        with ui.expansion(t("system.public_key")).classes("w-full"):
            ui.label(info.pem).classes("font-mono whitespace-pre-wrap text-xs").mark("public-key")
        ui.button(t("system.public_key_download"), icon="download",
                  on_click=lambda: ui.download.content(info.pem, "wardcam-public-key.pem")).props("flat")  # fmt: skip
