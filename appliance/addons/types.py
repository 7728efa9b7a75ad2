"""What add-ons hand to the appliance through their hooks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from fastapi import APIRouter

from appliance.auth.roles import Permission

PageBuilder = Callable[[], Awaitable[None] | None]


@dataclass(frozen=True)
class AddonPage:
    """A page in the panel; drawn inside the shared frame under the title t(title_key)."""

    path: str
    title_key: str
    build: PageBuilder
    access: Permission = Permission.MANAGE_ADDONS
    icon: str = "extension"
    in_navigation: bool = True


@dataclass(frozen=True)
class AddonRoutes:
    """API routes, with the permission each path needs (every path of the router must be listed)."""

    router: APIRouter
    access: dict[str, Permission | Literal["authenticated"]] = field(default_factory=dict)


@dataclass(frozen=True)
class NotificationService:
    """An Apprise notification scheme that an add-on brings (e.g. zalobot://)."""

    scheme: str
    title_key: str
    plugin_path: str  # a file or folder Apprise loads with AppriseAsset(plugin_paths=[...])


@dataclass(frozen=True)
class DiscoveredCamera:
    """A camera found on the network."""

    name: str
    host: str
    manufacturer: str = ""
    model: str = ""
    main_url: str = ""
    sub_url: str = ""
    source: str = ""


@dataclass(frozen=True)
class HealthResult:
    """The outcome of one health check, for the System page."""

    ok: bool
    message_key: str
    params: dict[str, str | int | float] = field(default_factory=dict)


@dataclass(frozen=True)
class HealthCheck:
    """A named check the System page runs."""

    name_key: str
    run: Callable[[], Awaitable[HealthResult]]


Progress = Callable[[float], None]
