"""The entries of the navigation drawer, each with the permission it needs."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.auth.roles import Permission


@dataclass(frozen=True)
class NavEntry:
    """One link in the drawer."""

    path: str
    icon: str
    label_key: str
    permission: Permission


NAV: list[NavEntry] = [
    NavEntry("/", "dashboard", "nav.dashboard", Permission.VIEW_LIVE),
    NavEntry("/cameras", "videocam", "nav.cameras", Permission.MANAGE_CAMERAS),
    NavEntry("/sites", "place", "nav.sites", Permission.MANAGE_CAMERAS),
    NavEntry("/recordings", "video_library", "nav.recordings", Permission.VIEW_PLAYBACK),
    NavEntry("/events", "notifications_active", "nav.events", Permission.VIEW_EVENTS),
    NavEntry("/requests", "gavel", "nav.requests", Permission.REQUEST_FOOTAGE),
    NavEntry("/notifications", "campaign", "nav.notifications", Permission.MANAGE_NOTIFICATIONS),
    NavEntry("/addons", "extension", "nav.addons", Permission.MANAGE_ADDONS),
    NavEntry("/system", "monitor_heart", "nav.system", Permission.MANAGE_SYSTEM),
    NavEntry("/users", "group", "nav.users", Permission.MANAGE_USERS),
    NavEntry("/audit", "fact_check", "nav.audit", Permission.VIEW_AUDIT),
]
