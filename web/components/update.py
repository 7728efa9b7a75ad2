"""Software update on the System page: the installed version, an admin's upload, progress, and rollback."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nicegui import ui

from appliance.auth.roles import Permission
from appliance.i18n import t
from appliance.update.errors import UpdateRefused
from appliance.update.service import Updates
from appliance.update.state import STEPS, UpdateStatus
from web import context, design
from web.guard import acting, client_ip

MAX_UPLOAD_BYTES = 1024**3  # the updater's own limit (UpdateConfig.max_package_bytes)


def updates() -> Updates:
    """Return the appliance's update service (one made here when the appliance does not carry one)."""
    app = context.appliance()
    existing = getattr(app, "updates", None)
    return existing if isinstance(existing, Updates) else Updates(app.settings, app.audit)


def update_section() -> None:
    """Draw the Software update section."""
    service = updates()
    ui.label(t("update.title")).classes(design.H2).mark("update-section")
    with ui.card().classes(design.CARD), ui.column().classes("w-full gap-2"):
        ui.label(t("update.help")).classes(design.MUTED)
        versions = ui.column().classes("gap-1")
        if not service.layout.on_image():
            ui.label(t("update.not_on_image")).classes(design.MUTED).mark("update-not-on-image")
        outcome = ui.column().classes("w-full gap-1").mark("update-outcome")
        progress = ui.column().classes("w-full gap-1").mark("update-progress")
        rollback = ui.button(icon="history").props("flat").mark("update-rollback")
        ask = _rollback_dialog(service, outcome)
        shown: list[object] = []  # what the page shows now, so the timer redraws only what changed

        def refresh() -> None:
            info = service.info()
            if shown == [info]:
                return
            shown[:] = [info]
            versions.clear()
            with versions:
                _version_row(t("update.installed"), info.installed, "update-installed")
                _version_row(t("update.previous"), info.previous or t("update.previous_none"), "update-previous")
            _show_status(progress, info.status)
            rollback.text = t("update.rollback", version=info.previous or "")
            rollback.set_visibility(bool(info.previous and info.on_image and not info.busy))

        rollback.on_click(lambda: ask(service.info().previous or ""))

        async def uploaded(e: Any) -> None:
            who = await acting(Permission.MANAGE_SYSTEM)
            if who is None:
                return
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "upload.wardcam-update"
                await e.file.save(path)
                try:
                    manifest = await service.submit(who, path, client_ip())
                except UpdateRefused as exc:
                    _say(outcome, t(exc.message_key), error=True)
                    return
            _say(outcome, t("update.accepted", version=manifest.version))
            refresh()

        ui.upload(
            label=t("update.choose_file"),
            on_upload=uploaded,
            auto_upload=True,
            max_file_size=MAX_UPLOAD_BYTES,
            on_rejected=lambda: _say(outcome, t("update.error.too_big_upload"), error=True),
        ).props('accept=".wardcam-update"').classes("w-full").mark("update-file")
        refresh()
        ui.timer(3.0, refresh, immediate=False)


def _version_row(label: str, value: str, marker: str) -> None:
    with ui.row().classes("items-center gap-2"):
        ui.label(label).classes("font-medium")
        ui.label(value).classes("font-mono").mark(marker)


def _say(box: ui.column, text: str, error: bool = False) -> None:
    box.clear()
    with box:
        ui.label(text).classes("text-negative" if error else "text-positive").mark(
            "update-error" if error else "update-accepted"
        )


def _show_status(box: ui.column, status: UpdateStatus | None) -> None:
    box.clear()
    if status is None:
        return
    versions = {"from_version": status.from_version or "?", "to_version": status.to_version or "?"}
    error = t(status.error) if status.error else ""
    with box:
        if status.state == "running":
            key = "update.state.rolling_back" if status.action == "rollback" else "update.state.running"
            ui.label(t(key, **versions)).classes("font-medium").mark("update-state")
            steps = ("rollback",) if status.action == "rollback" else STEPS
            reached = steps.index(status.step) if status.step in steps else 0
            for i, step in enumerate(steps):
                icon = "check_circle" if i < reached else "autorenew" if i == reached else "radio_button_unchecked"
                with ui.row().classes("items-center gap-2"):
                    ui.icon(icon).classes("text-positive" if i < reached else design.MUTED)
                    ui.label(t(f"update.step.{step}"))
        else:
            good = status.state == "succeeded"
            not_done = status.action == "rollback" and status.state == "failed"  # the newer version still runs
            key = "update.state.rollback_not_done" if not_done else f"update.state.{status.state}"
            if status.state == "interrupted" and status.action == "rollback":
                key = "update.state.interrupted_rollback"
            ui.label(t(key, error=error, **versions)).classes("text-positive" if good else "text-negative").mark(
                "update-state"
            )


def _rollback_dialog(service: Updates, outcome: ui.column) -> Callable[[str], None]:
    """Make the rollback confirmation once; return the function that opens it for a version."""
    with ui.dialog() as dialog, ui.card().classes("max-w-lg"):
        title = ui.label().classes(design.H2)
        ui.label(t("update.rollback_warning"))

        async def go() -> None:
            who = await acting(Permission.MANAGE_SYSTEM)
            if who is None:
                return
            dialog.close()
            try:
                version = await service.request_rollback(who, client_ip())
            except UpdateRefused as exc:
                _say(outcome, t(exc.message_key), error=True)
                return
            _say(outcome, t("update.rollback_requested", version=version))

        with ui.row().classes("justify-end w-full gap-2"):
            ui.button(t("update.cancel"), on_click=dialog.close).props("flat")
            ui.button(t("update.rollback_do"), icon="history", on_click=go).props("color=negative").mark(
                "update-rollback-confirm"
            )

    def ask(version: str) -> None:
        title.text = t("update.rollback_title", version=version)
        dialog.open()

    return ask
