"""Every page of the panel; importing this module registers them all."""

from web.pages import account, dashboard, errors, login, onboarding, placeholders, system, users

__all__ = ["account", "dashboard", "errors", "login", "onboarding", "placeholders", "system", "users"]
