"""/api/addons: list the add-ons, enable and disable them, and set their options."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from appliance.addons.manager import Addon
from appliance.addons.options import redacted
from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from web import context
from web.access import declare, require

router = APIRouter(prefix="/api/addons", tags=["addons"])


class AddonOut(BaseModel):
    name: str
    title: str
    version: str
    description: str
    icon: str
    origin: str
    status: str
    error: str
    dependencies: list[str]
    options: dict[str, Any]

    @classmethod
    def of(cls, addon: Addon) -> AddonOut:
        m = addon.manifest
        return cls(
            name=addon.name,
            title=m.title if m else addon.name,
            version=m.version if m else "",
            description=m.description if m else "",
            icon=m.icon if m else "extension_off",
            origin=addon.origin,
            status=addon.status.value,
            error=addon.error,
            dependencies=list(m.dependencies) if m else [],
            options=redacted(addon.options) if addon.options is not None else {},
        )


@router.get("")
async def list_addons(_: Principal = require(Permission.MANAGE_ADDONS)) -> list[AddonOut]:
    """List every add-on with its state; secrets in options come back as null."""
    return [AddonOut.of(a) for a in sorted(context.appliance().addons.addons.values(), key=lambda a: a.name)]


@router.post("/{name}/enable")
async def enable(name: str, request: Request, who: Principal = require(Permission.MANAGE_ADDONS)) -> AddonOut:
    """Enable an add-on now."""
    addon = await context.appliance().addons.enable(name, who, context.client_ip(request))
    return AddonOut.of(addon)


@router.post("/{name}/disable")
async def disable(name: str, request: Request, who: Principal = require(Permission.MANAGE_ADDONS)) -> AddonOut:
    """Disable an add-on now."""
    addon = await context.appliance().addons.disable(name, who, context.client_ip(request))
    return AddonOut.of(addon)


@router.put("/{name}/options")
async def set_options(
    name: str, body: dict[str, Any], request: Request, who: Principal = require(Permission.MANAGE_ADDONS)
) -> AddonOut:
    """Validate and store an add-on's options; errors come back per field."""
    manager = context.appliance().addons
    await manager.configure(name, body, who, context.client_ip(request))
    return AddonOut.of(manager.get(name))


declare("/api/addons", Permission.MANAGE_ADDONS)
declare("/api/addons/{name}/enable", Permission.MANAGE_ADDONS)
declare("/api/addons/{name}/disable", Permission.MANAGE_ADDONS)
declare("/api/addons/{name}/options", Permission.MANAGE_ADDONS)
