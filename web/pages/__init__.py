"""Every page of the panel; importing this module registers them all."""

from web.pages import (
    account,
    addons,
    audit,
    cameras,
    dashboard,
    errors,
    events,
    live,
    login,
    notifications,
    onboarding,
    recordings,
    requests,
    sites,
    system,
    users,
)

__all__ = [
    "account",
    "addons",
    "audit",
    "cameras",
    "dashboard",
    "errors",
    "events",
    "live",
    "login",
    "notifications",
    "onboarding",
    "recordings",
    "requests",
    "sites",
    "system",
    "users",
]
