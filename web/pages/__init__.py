"""Every page of the panel; importing this module registers them all."""

from web.pages import account, addons, audit, dashboard, errors, login, onboarding, placeholders, system, users

__all__ = [
    "account",
    "addons",
    "audit",
    "dashboard",
    "errors",
    "login",
    "onboarding",
    "placeholders",
    "system",
    "users",
]
