"""Backup and restore on the System page: download a backup, upload one to restore, and the schedule."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from appliance.auth.roles import Permission
from appliance.backup.errors import BackupRefused
from appliance.backup.service import Backups, BackupSettingsInvalid
from appliance.i18n import t
from web import context, design
from web.guard import acting, client_ip

MAX_UPLOAD_BYTES = 512 * 1024**2  # a backup holds no recordings; anything bigger is not ours


def backups() -> Backups:
    """Return the appliance's backup service (one made here when the appliance does not carry one)."""
    app = context.appliance()
    existing = getattr(app, "backups", None)
    return existing if isinstance(existing, Backups) else Backups(app.settings, app.audit, app.bus)


async def loaded_backups() -> Backups:
    """Return the backup service with its schedule and latest result read."""
    service = backups()
    await service.load()
    return service


def backup_section(service: Backups) -> None:
    """Draw the Backup and restore section (of a service from loaded_backups())."""
    ui.label(t("backup.title")).classes(design.H2).mark("backup-section")
    with ui.card().classes(design.CARD), ui.column().classes("w-full gap-2"):
        ui.label(t("backup.help")).classes(design.MUTED)
        if service.db_path is None:
            ui.label(t("backup.postgres_note")).classes(design.MUTED).mark("backup-postgres")
        _download(service)
    with ui.card().classes(design.CARD), ui.column().classes("w-full gap-2"):
        _restore(service)
    with ui.card().classes(design.CARD), ui.column().classes("w-full gap-2"):
        _schedule(service)


def _download(service: Backups) -> None:
    passphrase = ui.input(t("backup.passphrase"), password=True, password_toggle_button=True).classes(
        "w-full max-w-sm").mark("backup-passphrase")  # fmt: skip
    ui.label(t("backup.passphrase_help")).classes(design.MUTED)

    async def download() -> None:
        who = await acting(Permission.MANAGE_SYSTEM)
        if who is None:
            return
        blob, name = await service.create(who, passphrase.value or "", client_ip())
        passphrase.value = ""
        ui.download.content(blob, name, "application/octet-stream")

    ui.button(t("backup.download"), icon="download", on_click=download).mark("backup-download")


def _restore(service: Backups) -> None:
    ui.label(t("backup.restore_title")).classes("font-semibold")
    ui.label(t("backup.restore_help")).classes(design.MUTED)
    passphrase = ui.input(t("backup.restore_passphrase"), password=True, password_toggle_button=True).classes(
        "w-full max-w-sm").mark("restore-passphrase")  # fmt: skip
    outcome = ui.column().classes("w-full gap-1").mark("restore-outcome")

    def show_staged() -> None:
        staged = service.staged()
        outcome.clear()
        if staged is not None:
            with outcome:
                ui.label(t("backup.staged", created=staged.created_at)).classes("text-positive")
                ui.label(t("backup.staged_restart")).classes(design.MUTED)

    async def uploaded(e: Any) -> None:
        who = await acting(Permission.MANAGE_SYSTEM)
        if who is None:
            return
        blob = await e.file.read()
        try:
            await service.restore(who, blob, passphrase.value or "", client_ip())
        except BackupRefused as exc:
            outcome.clear()
            with outcome:
                ui.label(t(exc.message_key)).classes("text-negative").mark("restore-error")
            return
        finally:
            passphrase.value = ""
        show_staged()

    def too_big() -> None:
        outcome.clear()
        with outcome:
            ui.label(t("backup.error.too_big")).classes("text-negative").mark("restore-error")

    ui.upload(label=t("backup.choose_file"), on_upload=uploaded, on_rejected=too_big, auto_upload=True,
              max_file_size=MAX_UPLOAD_BYTES).classes("w-full").mark("restore-file")  # fmt: skip
    show_staged()


def _schedule(service: Backups) -> None:
    s = service.schedule
    ui.label(t("backup.schedule.title")).classes("font-semibold")
    enabled = ui.switch(t("backup.schedule.enabled"), value=s.enabled).mark("backup-enabled")
    target = ui.input(t("backup.schedule.target"), value=s.target).classes("w-full max-w-lg").mark("backup-target")
    ui.label(t("backup.schedule.target_help")).classes(design.MUTED)
    at = ui.input(t("backup.schedule.at"), value=s.at).classes("w-32").mark("backup-at")
    keep = ui.number(t("backup.schedule.keep"), value=s.keep, min=1, max=365).classes("w-32").mark("backup-keep")
    status = ui.label().classes(design.MUTED).mark("backup-passphrase-status")
    secret = ui.input(t("backup.schedule.passphrase"), password=True, password_toggle_button=True).classes(
        "w-full max-w-sm").mark("backup-schedule-passphrase")  # fmt: skip
    last = ui.label().classes(design.MUTED).mark("backup-last")

    def show() -> None:
        word = "backup.schedule.passphrase_set" if service.passphrase_set() else "backup.schedule.passphrase_not_set"
        status.text = t("backup.schedule.passphrase_status", status=t(word))
        r = service.last
        if r is None:
            last.text = t("backup.schedule.never")
        elif r.ok:
            last.text = t("backup.schedule.last_ok", at=f"{r.at.astimezone():%Y-%m-%d %H:%M}", file=r.file)
        else:
            last.text = t("backup.schedule.last_failed", at=f"{r.at.astimezone():%Y-%m-%d %H:%M}", error=t(r.error))
        last.classes(replace=design.MUTED if r is None or r.ok else "text-negative")

    async def save() -> None:
        who = await acting(Permission.MANAGE_SYSTEM)
        if who is None:
            return
        fields = {"enabled": enabled, "target": target, "at": at, "keep": keep}
        values = {"enabled": bool(enabled.value), "target": (target.value or "").strip(), "at": at.value or "",
                  "keep": int(keep.value) if keep.value is not None else 0}  # fmt: skip
        try:
            await service.save(values, who, client_ip())
        except BackupSettingsInvalid as exc:
            for name, field in fields.items():
                if isinstance(field, ui.input | ui.number):
                    field.error = t(exc.errors[name]) if name in exc.errors else None
            return
        for field in (target, at, keep):
            field.error = None
        if secret.value:
            service.set_passphrase(secret.value)
            secret.value = ""
        show()
        ui.notify(t("backup.schedule.saved"), type="positive")

    async def run_now() -> None:
        if await acting(Permission.MANAGE_SYSTEM) is None:
            return
        await service.run_scheduled()
        show()

    with ui.row().classes("gap-2"):
        ui.button(t("backup.schedule.save"), icon="save", on_click=save).mark("backup-save")
        ui.button(t("backup.schedule.run_now"), icon="backup", on_click=run_now).props("flat").mark("backup-run-now")
    show()
