"""Where add-ons meet the panel: their pages under /addon/NAME/..., their API under /api/addon/NAME/...,
and their entries in the navigation. Everything here follows the add-ons' running state at runtime."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI
from nicegui import ui

from appliance.addons.manager import Addon, AddonManager
from appliance.addons.types import AddonPage
from appliance.auth.roles import Permission
from appliance.errors import NotFound
from appliance.i18n import t
from web import context
from web.access import AUTHENTICATED, declare, forbidden_page, page
from web.navigation import NavEntry
from web.theme import addon_nav, frame

log = logging.getLogger(__name__)

PAGE_PREFIX = "/addon"
API_PREFIX = "/api/addon"


async def refresh_navigation(manager: AddonManager) -> None:
    """Rebuild the navigation entries from the running add-ons."""
    addon_nav[:] = [
        NavEntry(f"{PAGE_PREFIX}/{addon.name}/{p.path}", p.icon, p.title_key, p.access)
        for addon, p in await manager.pages()
        if p.in_navigation
    ]


async def find_page(manager: AddonManager, name: str, subpath: str) -> AddonPage | None:
    """Return the page of a running add-on at a path, if any."""
    for addon, addon_page in await manager.pages():
        if addon.name == name and addon_page.path.strip("/") == subpath.strip("/"):
            return addon_page
    return None


@page(f"{PAGE_PREFIX}/{{name}}/{{subpath:path}}", AUTHENTICATED)
async def addon_page(name: str, subpath: str) -> Any:
    """Draw a page of a running add-on, inside the shared frame, if the user may see it."""
    found = await find_page(context.appliance().addons, name, subpath)
    who = context.principal()
    if found is None:
        with frame("addons.page_missing_title"):
            ui.label(t("addons.page_missing")).classes("text-grey-7")
        return None
    if who is None or not who.can(found.access):
        return forbidden_page(who) if who else None
    with frame(found.title_key):
        result = found.build()
        if asyncio.iscoroutine(result):
            await result
    return None


def _running_check(addon: Addon) -> Callable[[], None]:
    def check() -> None:
        if not addon.running:
            raise NotFound()

    return check


async def include_routes(app: FastAPI, manager: AddonManager, addon: Addon) -> None:
    """Add a running add-on's API routes (once per process; they answer 404 while it is stopped)."""
    if addon.included_routes:
        return
    for routes in await manager.routes(addon):
        prefix = f"{API_PREFIX}/{addon.name}"
        paths = {getattr(r, "path", "") for r in routes.router.routes}
        undeclared = sorted(p for p in paths if p not in routes.access)
        if undeclared:
            log.error("add-on %s: routes %s declare no permission; they stay closed", addon.name, undeclared)
        for path, access in routes.access.items():
            declare(prefix + path, access if isinstance(access, Permission) else AUTHENTICATED)
        app.include_router(routes.router, prefix=prefix, dependencies=[Depends(_running_check(addon))])
    addon.included_routes = True


def attach(app: FastAPI, manager: AddonManager) -> None:
    """Follow the add-ons: include their routes and refresh the navigation when one starts or stops."""

    def changed(addon: Addon) -> None:
        async def update() -> None:
            if addon.running:
                await include_routes(app, manager, addon)
            await refresh_navigation(manager)

        asyncio.get_running_loop().create_task(update())

    manager.listeners.append(changed)
