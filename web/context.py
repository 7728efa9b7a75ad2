"""Where page code finds the appliance and the user of the current browser tab."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from nicegui import Client, context
from starlette.requests import HTTPConnection

from appliance.auth.principal import Principal

if TYPE_CHECKING:
    from appliance.app import Appliance

_appliance: Appliance | None = None
_principals: weakref.WeakKeyDictionary[Client, Principal] = weakref.WeakKeyDictionary()


def set_appliance(appliance: Appliance) -> None:
    """Remember the appliance the panel serves."""
    global _appliance
    _appliance = appliance


def appliance() -> Appliance:
    """Return the appliance the panel serves."""
    if _appliance is None:
        raise RuntimeError("the web panel is not mounted")
    return _appliance


def remember(client: Client, principal: Principal) -> None:
    """Tie a user to a browser tab."""
    _principals[client] = principal


def principal() -> Principal | None:
    """Return the user of the current browser tab, if logged in."""
    try:
        client = context.client
    except RuntimeError:
        return None
    return _principals.get(client)


def tab_language() -> str | None:
    """Return the language of the current browser tab (the i18n resolver)."""
    p = principal()
    if p is not None:
        return p.language
    try:
        lang = context.client.request.cookies.get("wardcam_lang") if context.client.request else None
    except RuntimeError:
        return None
    return lang


def client_ip(conn: HTTPConnection | None) -> str:
    """Return the address a request came from."""
    if conn is None or conn.client is None:
        return ""
    return conn.client.host


def session_token(client: Client) -> str | None:
    """Return the session cookie value of a browser tab."""
    request = client.request
    return request.cookies.get("wardcam_session") if request is not None else None
