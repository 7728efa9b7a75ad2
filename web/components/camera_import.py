"""The camera CSV import dialog: upload a file, preview it row by row, then save its valid rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from appliance import camera_csv
from appliance.auth.roles import Permission
from appliance.i18n import t
from web import context, design
from web.components.dialogs import open_once
from web.guard import acting, client_ip

COLUMN_LABEL = {"name": "field.camera_name", "site": "field.camera_site", "site_id": "field.camera_site",
                "main_url": "field.camera_main_url", "sub_url": "field.camera_sub_url",
                "username": "field.camera_username", "password": "field.camera_password",
                "enabled": "field.camera_enabled", "retention_days": "field.camera_retention_days",
                "audio_policy": "field.camera_audio_policy"}  # fmt: skip


def column_label(column: str) -> str:
    """Return a CSV column's name as the form calls it."""
    return t(COLUMN_LABEL[column]) if column in COLUMN_LABEL else column


def row_outcome(row: camera_csv.ImportRow) -> tuple[str, str]:
    """Return what importing a row does, in words, and the colour class to show it in."""
    if row.action == "add":
        return t("cameras.csv.will_add"), "text-positive"
    if row.action == "update":
        text = t("cameras.csv.will_update", fields=", ".join(column_label(c) for c in row.changes))
        if row.password_dropped:
            return f"{text}. {t('cameras.csv.password_dropped')}", "text-warning"
        return text, "text-primary"
    if row.action == "unchanged":
        return t("cameras.csv.unchanged"), "text-grey-7"
    problems = "; ".join(f"{column_label(p.column)}: {p.text()}" if p.column else p.text() for p in row.problems)
    return problems, "text-negative"


def import_dialog(done: Callable[[], Any]) -> None:
    """Upload a CSV file, preview it row by row, then save its valid rows."""
    content: list[bytes] = []
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-4xl"):
        ui.label(t("cameras.csv.import_title")).classes(design.H2)
        ui.label(t("cameras.csv.columns", columns=", ".join(camera_csv.COLUMNS))).classes(design.MUTED)
        ui.label(t("cameras.csv.rules")).classes(design.MUTED)
        ui.label(t("cameras.csv.policy")).classes("text-sm font-semibold")

        async def uploaded(e: Any) -> None:
            content[:] = [await e.file.read()]
            await preview()

        ui.upload(label=t("cameras.csv.choose_file"), on_upload=uploaded, auto_upload=True,
                  max_file_size=camera_csv.MAX_BYTES).props('accept=".csv,text/csv,text/plain"').classes(
            "w-full").mark("csv-file")  # fmt: skip
        table = ui.column().classes("w-full gap-1")

        async def preview() -> None:
            table.clear()
            commit_button.disable()
            try:
                plan = await camera_csv.plan_import(content[0])
            except camera_csv.CsvUnreadable as exc:
                with table:
                    ui.label(t(exc.key, **exc.params)).classes("text-negative")
                return
            with table:
                draw_preview(plan)
            count = len(plan.to_save)
            commit_button.set_text(t("cameras.csv.import_n", count=count))
            commit_button.set_enabled(count > 0)

        async def commit() -> None:
            who = await acting(Permission.MANAGE_CAMERAS)
            if who is None or not content:
                return
            try:
                plan = await camera_csv.plan_import(content[0])
            except camera_csv.CsvUnreadable as exc:
                ui.notify(t(exc.key, **exc.params), type="negative")
                return
            saved = await camera_csv.apply_import(plan, context.appliance().cameras, who=who, ip=client_ip())
            ui.notify(t("cameras.csv.done", added=saved.added, updated=saved.updated, sites=saved.sites_added),
                      type="positive", multi_line=True)  # fmt: skip
            await done()
            if saved.failed:
                table.clear()
                with table:
                    draw_preview(camera_csv.ImportPlan(rows=saved.failed))
                commit_button.disable()
            else:
                dialog.close()

        with ui.row().classes("w-full justify-end"):
            ui.button(t("action.close"), on_click=dialog.close).props("flat")
            commit_button = ui.button(t("cameras.csv.import_n", count=0), icon="playlist_add", on_click=commit).mark(
                "commit-import"
            )
            commit_button.disable()
    open_once(dialog)


def draw_preview(plan: camera_csv.ImportPlan) -> None:
    """Show every row of an import with what it will do or what is wrong with it."""
    ui.label(t("cameras.csv.summary", to_save=len(plan.to_save), errors=len(plan.with_errors))).classes("font-semibold")
    if plan.ignored_columns:
        ui.label(t("cameras.csv.ignored_columns", columns=", ".join(plan.ignored_columns))).classes(design.MUTED)
    with ui.grid(columns="auto minmax(8rem,1fr) minmax(8rem,1fr) 2fr").classes("w-full gap-x-4 gap-y-1 text-sm"):
        for key in ("cameras.csv.line", "field.camera_name", "field.camera_site", "cameras.csv.outcome"):
            ui.label(t(key)).classes("font-semibold text-grey-8")
        for row in plan.rows:
            ui.label(str(row.line))
            ui.label(row.name or "—")
            ui.label(f"{row.site} ({t('cameras.csv.new_site')})" if row.new_site else row.site or "—")
            text, colour = row_outcome(row)
            ui.label(text).classes(colour).props(f"data-line={row.line}")
