"""The Notifications page's system notifications (each with its targets), maintenance mutes and delivery log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nicegui import ui

from appliance.auth.roles import Permission
from appliance.db.models.cameras import Camera, Site
from appliance.db.models.notify import NotificationDelivery
from appliance.i18n import t
from appliance.notify import Notifications, NotifyInputInvalid
from appliance.notify.log import error_text
from appliance.notify.system import SYSTEM_KINDS
from web import design
from web.guard import acting, client_ip

EXTRA_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "camera_offline": (("minutes", "number"), ("back_online", "bool")),
    "recorder_failing": (("restarts", "number"), ("minutes", "number")),
}


async def system_section(notify: Notifications) -> None:
    """Draw each kind of system notification with its targets, and the panel address for links."""
    targets = {v.id: v.name for v in await notify.targets.list()}
    s = notify.settings
    widgets: dict[str, dict[str, Any]] = {}
    for kind in SYSTEM_KINDS:
        notice = s.notice(kind)
        with ui.card().classes(design.CARD).props(f"data-system={kind}"), ui.column().classes("w-full gap-1"):
            w: dict[str, Any] = {}
            with ui.row().classes("w-full items-center gap-3 no-wrap"):
                w["enabled"] = ui.switch(value=notice.enabled).mark(f"system-{kind}-enabled")
                with ui.column().classes("gap-0 grow"):
                    ui.label(t(f"notify.system.{kind}")).classes("font-medium")
                    ui.label(t(f"notify.system.{kind}_help")).classes(design.MUTED)
            w["target_ids"] = ui.select(targets, multiple=True, value=list(notice.target_ids),
                                        label=t("notify.field.targets")).classes(design.FORM_FIELD).props(
                "use-chips").mark(f"system-{kind}-targets")  # fmt: skip
            with ui.row().classes("gap-4"):
                for name, kind_of in EXTRA_FIELDS.get(kind, ()):
                    label = t(f"notify.field.{kind}_{name}")
                    value = getattr(notice, name)
                    if kind_of == "bool":
                        w[name] = ui.switch(label, value=value)
                    else:
                        w[name] = ui.number(label, value=value, precision=0, min=1)
                    w[name].mark(f"system-{kind}-{name}")
            widgets[kind] = w
    with ui.card().classes(design.CARD), ui.column().classes("w-full gap-2"):
        panel = ui.input(t("notify.field.panel_url"), value=s.panel_url, placeholder=notify.default_panel_url)
        panel.classes(design.FORM_FIELD).mark("system-panel-url")
        ui.label(t("notify.help.panel_url")).classes(design.MUTED)
        language = ui.select({"vi": "Tiếng Việt", "en": "English"}, value=s.language,
                             label=t("notify.field.system_language")).classes(design.FORM_FIELD)  # fmt: skip

    async def save() -> None:
        who = await acting(Permission.MANAGE_NOTIFICATIONS)
        if who is None:
            return
        values: dict[str, Any] = {"panel_url": panel.value or "", "language": language.value}
        for kind, w in widgets.items():
            values[kind] = {name: (int(widget.value) if isinstance(widget.value, float) else widget.value)
                            for name, widget in w.items()}  # fmt: skip
        try:
            await notify.save_settings(values, who, client_ip())
        except NotifyInputInvalid as exc:
            errors = exc.field_messages(t(exc.key))
            panel.error = errors.get("panel_url")
            for message in errors.values():
                ui.notify(message, type="warning")
            return
        panel.error = None
        ui.notify(t("notify.system.saved"), type="positive")

    ui.button(t("action.save"), icon="save", on_click=save).mark("system-save")


async def mutes_section(notify: Notifications) -> None:
    """Draw the mutes in force and a form to mute a camera or a site for some hours."""
    cameras = {c.id: c.name for c in await Camera.all()}
    sites = {s.id: s.name for s in await Site.all()}
    choices = {f"camera:{i}": t("notify.mutes.camera", name=n) for i, n in cameras.items()}
    choices.update({f"site:{i}": t("notify.mutes.site", name=n) for i, n in sites.items()})
    listing = ui.column().classes("w-full gap-2").mark("mutes")

    def refresh() -> None:
        listing.clear()
        with listing:
            mutes = notify.mutes.active()
            if not mutes:
                ui.label(t("notify.mutes.none")).classes(design.MUTED)
            for mute in mutes:
                what = (t("notify.mutes.camera", name=cameras.get(mute.camera_id, "?")) if mute.camera_id
                        else t("notify.mutes.site", name=sites.get(mute.site_id or 0, "?")))  # fmt: skip
                with ui.card().classes(design.CARD), ui.row().classes("w-full items-center gap-3 no-wrap"):
                    ui.icon("notifications_paused").classes("text-2xl text-grey-7")
                    with ui.column().classes("gap-0 grow"):
                        ui.label(what).classes("font-medium")
                        until = mute.until.astimezone().strftime("%H:%M %d/%m/%Y")
                        by = mute.created_by or "-"
                        text = t("notify.mutes.until", until=until, reason=mute.reason or "-", by=by)
                        ui.label(text).classes(design.MUTED)
                    ui.button(t("notify.mutes.end"), on_click=lambda m=mute: end(m.id)).props("flat dense")

    async def end(mute_id: int) -> None:
        who = await acting(Permission.MANAGE_NOTIFICATIONS)
        if who is not None:
            await notify.mutes.delete(mute_id, who, client_ip())
            refresh()

    refresh()
    with ui.card().classes(design.CARD), ui.column().classes("w-full gap-2"):
        ui.label(t("notify.mutes.add")).classes("font-semibold")
        what = ui.select(choices, label=t("notify.field.mute_what")).classes(design.FORM_FIELD).mark("mute-what")
        hours = ui.number(t("notify.field.mute_hours"), value=4, min=1, max=24 * 30, precision=0).mark("mute-hours")
        reason = ui.input(t("notify.field.mute_reason")).classes(design.FORM_FIELD).mark("mute-reason")

        async def add() -> None:
            who = await acting(Permission.MANAGE_NOTIFICATIONS)
            if who is None:
                return
            if not what.value:
                what.error = t("notify.error.mute_what")
                return
            kind, _, ident = str(what.value).partition(":")
            until = datetime.now(UTC) + timedelta(hours=float(hours.value or 1))
            try:
                await notify.mutes.create(int(ident) if kind == "camera" else None,
                                          int(ident) if kind == "site" else None, until, reason.value or "", who,
                                          client_ip())  # fmt: skip
            except NotifyInputInvalid as exc:
                what.error = next(iter(exc.field_messages(t(exc.key)).values()), None)
                return
            what.error = None
            ui.notify(t("notify.mutes.saved"), type="positive")
            refresh()

        ui.button(t("notify.mutes.button"), icon="notifications_paused", on_click=add).mark("mute-save")


RESULT_STYLE = {"sent": "text-positive", "failed": "text-negative", "pending": "text-warning"}


async def log_section() -> None:
    """Show the newest deliveries (time, rule, target, result, error), refreshed every few seconds."""
    columns = [
        {"name": "time", "label": t("notify.log.time"), "field": "time", "align": "left"},
        {"name": "rule", "label": t("notify.log.rule"), "field": "rule", "align": "left"},
        {"name": "target", "label": t("notify.log.target"), "field": "target", "align": "left"},
        {"name": "result", "label": t("notify.log.result"), "field": "result", "align": "left"},
        {"name": "attempts", "label": t("notify.log.attempts"), "field": "attempts"},
        {"name": "error", "label": t("notify.log.error"), "field": "error", "align": "left"},
    ]
    table = ui.table(columns=columns, rows=[], row_key="id").classes("w-full").props("dense flat").mark("log")

    async def refresh() -> None:
        rows = await NotificationDelivery.all().order_by("-id").limit(100)
        table.rows = [
            {"id": r.id, "time": r.created_at.astimezone().strftime("%H:%M:%S %d/%m"),
             "rule": r.rule_name if r.kind == "detection" else t(f"notify.kind.{r.kind}"), "target": r.target_name,
             "result": t(f"notify.result.{r.state.value}"), "attempts": r.attempts, "error": error_text(r)}
            for r in rows
        ]  # fmt: skip

    await refresh()
    ui.timer(5.0, refresh)
