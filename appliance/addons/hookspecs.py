# mypy: disable-error-code="empty-body"
"""The add-on contract: every hook an add-on may implement, built-in or third-party alike.

An add-on is a Python module (or package) with a module-level ``MANIFEST`` (an AddonManifest)
and functions decorated with ``@hookimpl`` whose names are hook names below. Every hook receives
the add-on's own AddonContext as ``ctx``. A hook may be a plain function or a coroutine
function. docs/addon-hooks.md documents each hook with an example.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

import pluggy
from pydantic import BaseModel

from appliance.addons.types import (
    AddonPage,
    AddonRoutes,
    DiscoveredCamera,
    HealthCheck,
    NotificationService,
    Progress,
)
from appliance.bus import Event

if TYPE_CHECKING:
    from appliance.addons.context import AddonContext

PROJECT = "wardcam"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class AddonSpec:
    """The hooks; each add-on implements the ones it needs."""

    @hookspec
    def wardcam_setup(self, ctx: AddonContext, options: BaseModel) -> Awaitable[None] | None:
        """Start the add-on with its validated options; register cleanups on ctx.stack."""

    @hookspec
    def wardcam_teardown(self, ctx: AddonContext) -> Awaitable[None] | None:
        """Stop the add-on; ctx.stack closes right after."""

    @hookspec
    def wardcam_pages(self, ctx: AddonContext) -> list[AddonPage]:
        """Contribute pages and navigation entries to the panel."""

    @hookspec
    def wardcam_api_routes(self, ctx: AddonContext) -> list[AddonRoutes]:
        """Contribute API routes, each path with the permission it needs."""

    @hookspec
    def wardcam_event(self, ctx: AddonContext, event: Event) -> Awaitable[None] | None:
        """React to an internal event (detection, camera online or offline, segment closed, ...)."""

    @hookspec
    def wardcam_notification_services(self, ctx: AddonContext) -> list[NotificationService]:
        """Contribute notification services (Apprise schemes)."""

    @hookspec
    def wardcam_discover_cameras(self, ctx: AddonContext, progress: Progress) -> Awaitable[list[DiscoveredCamera]]:
        """Find cameras on the network, reporting progress from 0.0 to 1.0."""

    @hookspec
    def wardcam_health_checks(self, ctx: AddonContext) -> list[HealthCheck]:
        """Contribute health checks to the System page."""


HOOK_NAMES: tuple[str, ...] = tuple(name for name in vars(AddonSpec) if name.startswith("wardcam_"))
