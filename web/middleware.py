"""Authentication for every request: who is it, and may anyone unknown see this at all?"""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.auth.sessions import COOKIE_NAME, resolve_session
from appliance.auth.tokens import resolve_token
from appliance.errors import Forbidden, InvalidToken, NotAuthenticated, WardCamError
from web import context
from web.access import ROUTES, forbidden_page, match_route
from web.api.errors import JSON_PREFIXES, error_response

log = logging.getLogger(__name__)

# NiceGUI's own scripts, styles and fonts: the same for everyone, no data in them.
FRAMEWORK_PREFIXES = ("/_nicegui/", "/_nicegui_ws/")
OPEN_PATHS = frozenset({"/healthz", "/login", "/auth/complete", "/api/auth/login", "/favicon.ico"})


def wants_json(path: str) -> bool:
    """Return whether a path answers in JSON rather than with a page."""
    return path.startswith(JSON_PREFIXES)


class AuthMiddleware(BaseHTTPMiddleware):
    """Attach the Principal to the request, and turn away anonymous requests for closed routes."""

    _onboarded = False  # once a user exists, onboarding stays closed for good

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if path.startswith(FRAMEWORK_PREFIXES):
            return await call_next(request)
        try:
            principal = await self._principal(request)
        except WardCamError as exc:
            return error_response(request, exc)
        request.state.principal = principal

        if path in OPEN_PATHS:
            return await call_next(request)
        if not await self._is_onboarded():
            if path == "/onboarding":
                return await call_next(request)
            if wants_json(path):
                return error_response(request, NotAuthenticated("error.onboarding_required"))
            return RedirectResponse("/onboarding", status_code=303)
        if path == "/onboarding":
            return RedirectResponse("/" if principal else "/login", status_code=303)
        if principal is None:
            if wants_json(path):
                return error_response(request, NotAuthenticated())
            return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
        template = match_route(request.app, request.scope)
        if template is not None:
            access = ROUTES.get(template)
            if access is None:  # deny by default: a route nobody declared access for
                log.warning("refused %s: route %s has no declared access", path, template)
                return self._forbidden(request, principal)
            if isinstance(access, Permission) and not principal.can(access):
                return self._forbidden(request, principal)
        return await call_next(request)

    @staticmethod
    def _forbidden(request: Request, principal: Principal) -> Response:
        if wants_json(request.url.path):
            return error_response(request, Forbidden())
        return forbidden_page(principal)

    async def _principal(self, request: Request) -> Principal | None:
        header = request.headers.get("authorization")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise InvalidToken()
            principal = await resolve_token(token.strip())
            if principal is None:
                raise InvalidToken()
            return principal
        cookie = request.cookies.get(COOKIE_NAME)
        if cookie and len(cookie) < 200:
            return await resolve_session(cookie, context.appliance().accounts.session_policy)
        return None

    async def _is_onboarded(self) -> bool:
        if not AuthMiddleware._onboarded:
            AuthMiddleware._onboarded = not await context.appliance().accounts.needs_onboarding()
        return AuthMiddleware._onboarded
