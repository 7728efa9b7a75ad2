"""Mount the panel and the API on NiceGUI's app, and serve the appliance."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from nicegui import app, ui

from appliance import i18n
from appliance.app import Appliance
from web import context
from web.access import AUTHENTICATED, declare, register_pages, undeclared_routes
from web.api import ROUTERS
from web.api.errors import install_error_handlers
from web.middleware import AuthMiddleware

log = logging.getLogger(__name__)

FAVICON = "📹"
STATIC_DIR = Path(__file__).with_name("static")  # the panel's own scripts and styles (no CDN)


def mount(appliance: Appliance) -> None:
    """Register the pages, the API and the auth middleware, and tie the appliance to the app's lifespan."""
    from web import addon_host
    from web.pages import errors  # importing web.pages declares every page

    # NiceGUI's own lifespan as first seen: a later mount in the same process (tests) starts from it again
    pristine = getattr(app.router, "_wardcam_pristine_lifespan", app.router.lifespan_context)
    app.router._wardcam_pristine_lifespan = pristine  # type: ignore[attr-defined]
    app.router.lifespan_context = pristine
    context.set_appliance(appliance)
    AuthMiddleware._onboarded = False
    i18n.set_resolver(context.tab_language)
    register_pages()
    errors.install()
    for router in ROUTERS:
        app.include_router(router)
    if not any(getattr(route, "path", None) == "/static/{path:path}" for route in app.routes):
        app.add_static_files("/static", STATIC_DIR)
    declare("/static/{path:path}", AUTHENTICATED)
    install_error_handlers(app)
    app.add_middleware(AuthMiddleware)
    addon_host.attach(app, appliance.addons)
    for path in undeclared_routes(app):
        log.error("route %s declares no access; it will refuse every request", path)

    inner = app.router.lifespan_context  # NiceGUI's, with the routers' (empty) lifespans merged in

    @asynccontextmanager
    async def lifespan(fastapi_app: FastAPI) -> AsyncIterator[Any]:
        await appliance.start()
        try:
            async with inner(fastapi_app) as state:
                yield state
        finally:
            await appliance.stop()

    app.router.lifespan_context = lifespan


def ui_options(appliance: Appliance) -> dict[str, Any]:
    """Return the options that ui.run gets in production and in tests alike."""
    return {
        "title": "WardCam",
        "favicon": FAVICON,
        "language": "vi",
        "show_welcome_message": False,
        "reload": False,
        "show": False,
        "reconnect_timeout": 10.0,
        # gzip at level 1, as nginx does by default: NiceGUI's scripts and styles (1.2 MB) cost 168 ms of CPU
        # to compress at Starlette's level 9 for each browser that loads the panel the first time, 49 ms at
        # level 1 (measured), for 19 % more bytes (408 KB against 344 KB) on the local network
        "gzip_middleware_factory": partial(GZipMiddleware, compresslevel=1),
        # no per-message deflate on websockets: the live view sends JPEGs and H.264, which do not compress,
        # and deflating them cost 2.9 ms of CPU per 26 KB frame (measured), more than all else in the grid
        "ws_per_message_deflate": False,
    }


def run(appliance: Appliance) -> None:
    """Serve the panel until the process is stopped."""
    appliance.settings.prepare()
    mount(appliance)
    ui.run(
        host=appliance.settings.host,
        port=appliance.settings.port,
        uvicorn_logging_level="warning",
        **ui_options(appliance),
    )
