"""/audit: admins read the audit log, filter it, check its hash chain and export it as CSV."""

from __future__ import annotations

import json
import math

from nicegui import ui

from appliance import audit_export
from appliance.audit import VerifyResult
from appliance.audit_export import AuditFilter, InvalidTimeBound
from appliance.auth.roles import Permission
from appliance.db.models.audit import AuditEntry
from appliance.i18n import catalog, current_language, t
from web import context, design
from web.access import page
from web.guard import acting, client_ip
from web.theme import frame

PAGE_SIZE = 100


def action_label(action: str) -> str:
    """Return an action's translated name, or the action itself when it has none."""
    key = f"audit.action.{action}"
    return t(key) if key in catalog(current_language()) else action


def verdict(result: VerifyResult) -> str:
    """Say in plain words what the chain check found."""
    if result.ok:
        return t("audit.verify.ok", entries=result.entries)
    return t(f"audit.verify.{result.problem}", entry=result.first_bad_id or "?", entries=result.entries)


def columns() -> list[dict[str, str]]:
    """Return the table's columns with translated headings."""
    names = ("id", "time", "actor", "action", "object", "detail", "address")
    return [{"name": n, "label": t(f"audit.column.{n}"), "field": n, "align": "left"} for n in names]


def table_row(entry: AuditEntry) -> dict[str, object]:
    """Return one entry as a row of the table, in the appliance's local time."""
    target = f"{entry.object_type} {entry.object_id}".strip()
    return {
        "id": entry.id,
        "time": entry.at.astimezone(audit_export.local_timezone()).strftime("%Y-%m-%d %H:%M:%S"),
        "actor": entry.actor or "—",
        "action": action_label(entry.action),
        "object": target or "—",
        "detail": json.dumps(entry.detail, ensure_ascii=False, sort_keys=True) if entry.detail else "",
        "address": entry.ip,
    }


class AuditView:
    """The filters, the chain check, the export and the paged table of one open audit page."""

    def __init__(self) -> None:
        with ui.row().classes("w-full items-end gap-3"):
            self.actor = (
                ui.select({}, label=t("audit.filter.actor"), clearable=True, on_change=self.filter_changed)
                .classes("min-w-40")
                .mark("actor")
            )
            self.action = (
                ui.select({}, label=t("audit.filter.action"), clearable=True, on_change=self.filter_changed)
                .classes("min-w-56")
                .mark("action")
            )
            self.since = ui.date_input(t("audit.filter.since"), on_change=self.filter_changed).mark("since")
            self.until = ui.date_input(t("audit.filter.until"), on_change=self.filter_changed).mark("until")
            ui.space()
            ui.button(t("audit.verify"), icon="verified", on_click=self.verify).mark("verify")
            ui.button(t("audit.export"), icon="download", on_click=self.export).props("outline").mark("export")
        self.verdict = ui.label().classes("font-semibold").mark("verdict")
        self.verdict.set_visibility(False)
        self.count = ui.label().classes(design.MUTED).mark("count")
        self.table = (
            ui.table(columns=columns(), rows=[], row_key="id", pagination={"rowsPerPage": 0})
            .classes("w-full")
            .props("flat bordered dense wrap-cells hide-pagination")
            .mark("entries")
        )
        self.pager = ui.pagination(1, 1, direction_links=True, on_change=self.load).mark("pager")

    def current_filter(self) -> AuditFilter | None:
        """Return the filter the fields describe, or None (and say why) when a date is wrong."""
        try:
            return audit_export.make_filter(self.actor.value, self.action.value, self.since.value, self.until.value)
        except InvalidTimeBound as exc:
            ui.notify(t(exc.key, **exc.params), type="warning")
            return None

    async def filter_changed(self) -> None:
        """Show the first page of what the new filter lets through."""
        if self.pager.value != 1:
            self.pager.value = 1  # its change handler loads the page
        else:
            await self.load()

    async def load(self) -> None:
        """Fill the table with the current page, and the filters with the choices there are."""
        f = self.current_filter()
        if f is None:
            return
        self.actor.set_options(await audit_export.actors())
        self.action.set_options({a: action_label(a) for a in await audit_export.actions()})
        number = self.pager.value or 1
        found = await audit_export.page(f, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
        self.pager.max = pages = max(1, math.ceil(found.total / PAGE_SIZE))
        if number > pages:
            self.pager.value = pages  # its change handler loads that page
            return
        self.table.rows = [table_row(entry) for entry in found.entries]
        first = (number - 1) * PAGE_SIZE + 1
        self.count.text = (
            t("audit.count", first=first, last=first + len(found.entries) - 1, total=found.total)
            if found.entries
            else t("audit.none")
        )

    async def verify(self) -> None:
        """Walk the hash chain and say whether it is whole."""
        if await acting(Permission.VIEW_AUDIT) is None:
            return
        result = await context.appliance().audit.verify()
        self.verdict.text = verdict(result)
        self.verdict.classes(
            replace="font-semibold " + ("text-positive" if result.ok else "text-negative")
        ).set_visibility(True)

    async def export(self) -> None:
        """Download what the filter lets through as CSV; the export is itself audited."""
        who = await acting(Permission.VIEW_AUDIT)
        f = self.current_filter()
        if who is None or f is None:
            return
        export = await audit_export.export_csv(context.appliance().audit, f, who, ip=client_ip())
        ui.download.content(export.content, export.filename, "text/csv")
        ui.notify(t("audit.exported", rows=export.rows), type="positive")
        await self.load()


@page("/audit", Permission.VIEW_AUDIT)
async def audit_page() -> None:
    """Show the audit entries, newest first."""
    with frame("nav.audit"):
        ui.label(t("audit.intro")).classes(design.MUTED)
        view = AuditView()
        await view.load()
