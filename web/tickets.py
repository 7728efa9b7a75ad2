"""One-time login tickets: the bridge from a login form (over the websocket) to a session cookie.

A login handler cannot set a cookie, so it parks the new session token under a random ticket
and sends the browser to /auth/complete, which swaps the ticket for the cookie once.
"""

from __future__ import annotations

import secrets
import time

TTL_S = 30.0
_tickets: dict[str, tuple[float, str]] = {}


def issue(session_token: str) -> str:
    """Park a session token and return the ticket that claims it."""
    _expire()
    ticket = secrets.token_urlsafe(24)
    _tickets[ticket] = (time.monotonic() + TTL_S, session_token)
    return ticket


def claim(ticket: str) -> str | None:
    """Return the session token for a ticket, once."""
    _expire()
    entry = _tickets.pop(ticket, None)
    return entry[1] if entry else None


def _expire() -> None:
    now = time.monotonic()
    for key in [k for k, (until, _) in _tickets.items() if until < now]:
        _tickets.pop(key, None)


def safe_next(target: str | None) -> str:
    """Return a local path to go to after login, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
