"""/system: version, uptime, disk, CPU, memory, database, storage, and recent log lines."""

from __future__ import annotations

import asyncio

from nicegui import ui

from appliance.auth.roles import Permission
from appliance.i18n import t, t_or_text
from appliance.logs import recent
from appliance.system import read_status
from web import context, design
from web.access import page
from web.components.backup import backup_section, loaded_backups
from web.components.mqtt import mqtt_section
from web.components.signing_key import signing_key_section
from web.components.stat import stat_card
from web.components.storage import storage_section
from web.components.update import update_section
from web.format import duration, size
from web.theme import frame


@page("/system", Permission.MANAGE_SYSTEM)
async def system_page() -> None:
    """Show the appliance's health, refreshed every few seconds."""
    settings = context.appliance().settings
    with frame("nav.system"):
        status_cards = ui.element("div").classes(design.GRID)
        await health_checks()
        await storage_section()
        # every await comes before the first ui.timer that runs at once: NiceGUI answers the request at
        # the first await after such a timer is made, and what is built later goes over the websocket only
        backups = await loaded_backups()
        mqtt_section()
        signing_key_section()
        update_section()
        backup_section(backups)
        ui.label(t("system.logs")).classes(design.H2)
        logs = ui.element("pre").classes(design.LOG_BOX).props("data-test=log-lines")

        def refresh() -> None:
            s = read_status(settings.data_dir, settings.db_backend)
            status_cards.clear()
            with status_cards:
                stat_card("info", s.version, t("system.version"))
                stat_card("schedule", duration(s.uptime_s), t("system.uptime"))
                stat_card(
                    "storage",
                    f"{s.disk_used_pct:.0f}%",
                    t("system.disk", used=size(s.disk_used), total=size(s.disk_total)),
                )
                stat_card("memory", f"{s.cpu_pct:.0f}%", t("system.cpu"))
                stat_card("developer_board", size(s.memory_used), t("system.memory", total=size(s.memory_total)))
                stat_card("apps", size(s.process_rss), t("system.process_memory"))
                stat_card("dns", "PostgreSQL" if s.db_backend == "postgresql" else "SQLite", t("system.database"))
            lines = list(recent.lines)[-200:]
            logs.clear()
            with logs:
                ui.label(
                    "\n".join(f"{at:%Y-%m-%d %H:%M:%S} {level:<7} {text}" for at, level, text in lines)
                    or t("system.no_logs")
                ).classes("whitespace-pre-wrap")

        refresh()
        ui.timer(5.0, refresh)


async def health_checks() -> None:
    """Run the add-ons' health checks (5 s each at most) and show the results."""
    checks = await context.appliance().addons.health_checks()
    if not checks:
        return
    ui.label(t("system.health")).classes(design.H2)
    with ui.card().classes(design.CARD), ui.column().classes("gap-1"):
        for addon, check in checks:
            try:
                result = await asyncio.wait_for(check.run(), timeout=5)
                ok, message = result.ok, t_or_text(result.message_key, None, **result.params)
            except Exception as exc:  # a broken check is a failed check, never a broken page
                ok, message = False, t("system.health_check_failed", error=type(exc).__name__)
            with ui.row().classes("items-center gap-2").mark(f"health-{addon.name}"):
                ui.icon("check_circle" if ok else "error").classes("text-positive" if ok else "text-negative")
                ui.label(f"{t_or_text(check.name_key)}: {message}")
