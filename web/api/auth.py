"""Log in and out: JSON for scripts, and the cookie hand-over for the login page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from appliance.auth.sessions import COOKIE_NAME, end_session
from appliance.db.models.users import User
from web import context, tickets
from web.access import AUTHENTICATED, OPEN, declare, require
from web.api.schemas import LoginBody, UserOut

router = APIRouter()


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """Attach the session cookie: HttpOnly, SameSite=Lax, Secure behind HTTPS."""
    max_age = int(context.appliance().accounts.session_policy.absolute.total_seconds())
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


@router.post("/api/auth/login", tags=["auth"])
async def api_login(body: LoginBody, request: Request) -> JSONResponse:
    """Log in with a username and password; the answer sets the session cookie."""
    result = await context.appliance().accounts.login(
        body.username, body.password, context.client_ip(request), request.headers.get("user-agent", "")
    )
    user = await User.get(id=result.principal.user_id)
    response = JSONResponse({"user": UserOut.of(user).model_dump(mode="json")})
    set_session_cookie(response, request, result.token)
    return response


@router.post("/api/auth/logout", tags=["auth"])
async def api_logout(request: Request, _: object = require(AUTHENTICATED)) -> JSONResponse:
    """End the current session."""
    token = request.cookies.get(COOKIE_NAME)
    if token:
        await end_session(token)
    response = JSONResponse({"ok": True})
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


@router.get("/auth/complete", include_in_schema=False)
async def complete_login(request: Request, ticket: str = "", next: str = "/") -> Response:
    """Swap a one-time ticket from the login page for the session cookie."""
    token = tickets.claim(ticket)
    if token is None:
        return RedirectResponse("/login", status_code=303)
    response = RedirectResponse(tickets.safe_next(next), status_code=303)
    set_session_cookie(response, request, token)
    return response


declare("/api/auth/login", OPEN)
declare("/auth/complete", OPEN)
declare("/api/auth/logout", AUTHENTICATED)
