"""/notifications: where notifications go, which detections they announce, system notifications, mutes, the log."""

from __future__ import annotations

from nicegui import ui

from appliance.auth.roles import Permission
from appliance.i18n import t
from web import context
from web.access import page
from web.components.notify_rules import rules_section
from web.components.notify_system import log_section, mutes_section, system_section
from web.components.notify_targets import targets_section
from web.theme import frame

TABS = ("targets", "rules", "system", "mutes", "log")


@page("/notifications", Permission.MANAGE_NOTIFICATIONS)
async def notifications_page(tab: str = "targets") -> None:
    """Show the five parts of the notification settings as tabs."""
    notify = context.appliance().notify
    with frame("nav.notifications"):
        with ui.tabs().classes("w-full").props("align=left") as tabs:
            for name in TABS:
                ui.tab(name, t(f"notify.tab.{name}")).mark(f"tab-{name}")
        with ui.tab_panels(tabs, value=tab if tab in TABS else "targets").classes("w-full"):
            with ui.tab_panel("rules"):
                refresh_rules = await rules_section(notify)
            with ui.tab_panel("targets"):
                await targets_section(notify, refresh_rules)
            with ui.tab_panel("system"):
                await system_section(notify)
            with ui.tab_panel("mutes"):
                await mutes_section(notify)
            with ui.tab_panel("log"):
                await log_section()
