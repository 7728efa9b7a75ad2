"""Pages with a required permission, checked on the server before anything is drawn.

Every route of the panel and the API is declared with who may use it. `ROUTES` is the table
that the route-permission test and the start-up check read: a route missing from it is refused.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from html import escape
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from nicegui import ui
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Match

from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.errors import Forbidden, NotAuthenticated
from appliance.i18n import t, use_language
from web import context

OPEN = "open"  # no login needed
AUTHENTICATED = "authenticated"  # any logged-in user
ONBOARDING = "onboarding"  # open only while no user exists

Access = Permission | str

# path template -> who may use it
ROUTES: dict[str, Access] = {}
# pages waiting to be registered with NiceGUI by register_pages()
PAGES: dict[str, Callable[..., Any]] = {}


def declare(path: str, access: Access) -> None:
    """Record who may use a route."""
    ROUTES[path] = access


FORBIDDEN_STYLE = (
    "body{margin:0;font-family:Roboto,system-ui,sans-serif;background:#f5f5f5;color:#333}"
    "header{background:#1F4E79;color:#fff;padding:14px 20px;font-size:20px;font-weight:600}"
    "main{max-width:480px;margin:40px auto;background:#fff;border-radius:6px;padding:24px;"
    "box-shadow:0 1px 4px rgba(0,0,0,.15)}h1{font-size:22px;margin:0 0 12px}a{color:#1F4E79}"
)


def forbidden_page(principal: Principal) -> Response:
    """Return a small translated 403 page in the panel's colours."""
    with use_language(principal.language):
        title, text, home = t("error.forbidden_title"), t("error.forbidden"), t("nav.dashboard")
    body = (
        f"<!doctype html><html lang='{principal.language}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)} · WardCam</title><style>{FORBIDDEN_STYLE}</style></head>"
        f"<body><header>WardCam</header><main><h1>{escape(title)}</h1><p>{escape(text)}</p>"
        f"<p><a href='/'>{escape(home)}</a></p></main></body></html>"
    )
    return HTMLResponse(body, status_code=403)


def page(path: str, access: Access) -> Callable[[Callable[..., Any]], Any]:
    """Register a NiceGUI page that only users with `access` may open."""

    def decorator(func: Callable[..., Any]) -> Any:
        declare(path, access)
        params = list(inspect.signature(func).parameters.values())
        wants_request = any(p.name == "request" for p in params)

        @functools.wraps(func)
        async def wrapper(request: Request, **kwargs: Any) -> Any:
            who: Principal | None = getattr(request.state, "principal", None)
            if access not in (OPEN, ONBOARDING):
                if who is None:
                    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
                if isinstance(access, Permission) and not who.can(access):
                    return forbidden_page(who)
            if who is not None:
                context.remember(ui.context.client, who)
            if wants_request:
                kwargs["request"] = request
            with use_language(who.language if who else context.tab_language()):
                result = func(**kwargs)
                if inspect.isawaitable(result):
                    result = await result
            return result

        sig_params = [p for p in params if p.name != "request"]
        sig_params.insert(0, inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request))
        wrapper.__signature__ = inspect.Signature(sig_params)  # type: ignore[attr-defined]
        PAGES[path] = wrapper
        return func

    return decorator


def register_pages() -> None:
    """Register every declared page with NiceGUI (again after a reset of its routes)."""
    for path, wrapper in PAGES.items():
        ui.page(path, title="WardCam")(wrapper)


def require(access: Access) -> Any:
    """Return a FastAPI dependency that yields the Principal allowed to call an endpoint."""

    async def dependency(request: Request) -> Principal | None:
        who: Principal | None = getattr(request.state, "principal", None)
        if access == OPEN:
            return who
        if who is None:
            raise NotAuthenticated()
        if isinstance(access, Permission) and not who.can(access):
            raise Forbidden()
        return who

    dependency.__wardcam_access__ = access  # type: ignore[attr-defined]
    return Depends(dependency)


FRAMEWORK_PREFIX = "/_nicegui"


def iter_routes(app: Any) -> Iterator[tuple[str, frozenset[str], Any]]:
    """Yield (path template, methods, route) for every route, routers included."""
    for route in app.routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            for sub in original.routes:
                yield sub.path, frozenset(getattr(sub, "methods", None) or ()), sub
        elif hasattr(route, "path"):
            yield route.path, frozenset(getattr(route, "methods", None) or ()), route


def undeclared_routes(app: Any) -> list[str]:
    """Return the application routes that nobody declared access for."""
    return sorted(
        {path for path, _, _ in iter_routes(app) if not path.startswith(FRAMEWORK_PREFIX) and path not in ROUTES}
    )


def match_route(app: Any, scope: dict[str, Any]) -> str | None:
    """Return the path template of the route a request goes to, or None."""
    for path, _, route in iter_routes(app):
        if path.startswith(FRAMEWORK_PREFIX):
            continue
        match, _ = route.matches(scope)
        if match != Match.NONE:
            return path
    return None
