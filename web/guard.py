"""Check the session again before a browser action changes anything."""

from __future__ import annotations

from nicegui import context as ng_context
from nicegui import ui

from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.auth.sessions import resolve_session
from appliance.i18n import t
from web import context


async def acting(permission: Permission) -> Principal | None:
    """Return the tab's user if their session still holds and allows this; otherwise say why."""
    client = ng_context.client
    token = context.session_token(client)
    who = await resolve_session(token, context.appliance().accounts.session_policy) if token else None
    if who is None:
        ui.notify(t("error.session_expired"), type="warning")
        ui.navigate.to("/login")
        return None
    context.remember(client, who)
    if not who.can(permission):
        ui.notify(t("error.forbidden"), type="negative")
        return None
    return who


def client_ip() -> str:
    """Return the address of the current browser tab."""
    return context.client_ip(ng_context.client.request)
