"""Errors in JSON, in the caller's language, never with a traceback."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from appliance.errors import WardCamError
from appliance.i18n import best_language, t
from appliance.validation import field_errors

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/api", "/metrics", "/openapi.json", "/docs", "/redoc", "/healthz")
Handler = Callable[[Request, Exception], Awaitable[Any] | Any]


def request_language(request: Request) -> str:
    """Return the caller's language: their own setting, else the browser's."""
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        return str(principal.language)
    return best_language(request.headers.get("accept-language"))


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    """Return the JSON shape every error has."""
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def error_response(request: Request, exc: WardCamError) -> JSONResponse:
    """Turn a WardCamError into a translated JSON answer."""
    lang = request_language(request)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    message = t(exc.key, lang, **exc.params)
    fields = exc.field_messages(message, lang)
    return JSONResponse(error_body(exc.key, message, fields), status_code=exc.status, headers=headers)


async def _wardcam_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WardCamError)
    return error_response(request, exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    lang = request_language(request)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse(error_body("error.malformed_json", t("error.malformed_json", lang)), status_code=400)
    fields = field_errors(errors, lang)
    return JSONResponse(error_body("error.invalid_request", t("error.invalid_request", lang), fields), status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    lang = request_language(request)
    key = {404: "error.not_found", 405: "error.method_not_allowed"}.get(exc.status_code, "error.request_failed")
    return JSONResponse(error_body(key, t(key, lang)), status_code=exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    lang = request_language(request)
    return JSONResponse(error_body("error.internal", t("error.internal", lang)), status_code=500)


def _json_only(handler: Handler, fallback: Handler | None) -> Handler:
    """Use `handler` for JSON routes and leave pages to the panel's own error page."""

    fallback = getattr(fallback, "__wardcam_fallback__", fallback)

    async def dispatch(request: Request, exc: Exception) -> Any:
        if fallback is None or request.url.path.startswith(JSON_PREFIXES):
            return await handler(request, exc)
        result = fallback(request, exc)
        return await result if inspect.isawaitable(result) else result

    dispatch.__wardcam_fallback__ = fallback  # type: ignore[attr-defined]
    return dispatch


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers on the app; pages keep the panel's error pages."""
    app.add_exception_handler(WardCamError, _wardcam_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for key, handler in (
        (StarletteHTTPException, _http_error),
        (404, _http_error),
        (Exception, _unexpected),
        (500, _unexpected),
    ):
        app.add_exception_handler(key, _json_only(handler, app.exception_handlers.get(key)))
