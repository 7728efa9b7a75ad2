"""/api/sites: the street points cameras are filed under; everyone who watches live reads, admins change.

/api/sites/map holds where the sites map gets its tiles (none by default: the appliance may have no internet).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from appliance import cameras
from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.cameras import MapSettings, SiteInput, SitePatch
from appliance.db.models.cameras import Site
from web import context
from web.access import declare, require


def service() -> cameras.Cameras:
    """Return the sites and cameras service of the served appliance."""
    return context.appliance().cameras


router = APIRouter(prefix="/api/sites", tags=["sites"])


class SiteOut(BaseModel):
    id: int
    name: str
    address: str
    latitude: float | None
    longitude: float | None
    notes: str
    created_at: datetime

    @classmethod
    def of(cls, site: Site) -> SiteOut:
        return cls(
            id=site.id,
            name=site.name,
            address=site.address,
            latitude=site.latitude,
            longitude=site.longitude,
            notes=site.notes,
            created_at=site.created_at,
        )


@router.get("")
async def list_sites(who: Principal = require(Permission.VIEW_LIVE)) -> list[SiteOut]:
    """List the sites the caller may see (police: the sites granted to them)."""
    return [SiteOut.of(s) for s in await cameras.sites_for(who)]


@router.post("", status_code=201)
async def create_site(
    body: SiteInput, request: Request, who: Principal = require(Permission.MANAGE_CAMERAS)
) -> SiteOut:
    """Create a site."""
    return SiteOut.of(await service().create_site(body, who=who, ip=context.client_ip(request)))


@router.get("/map")
async def get_map_settings(who: Principal = require(Permission.VIEW_LIVE)) -> MapSettings:
    """Return where the sites map gets its background tiles (an empty tile_url: no tiles)."""
    return await cameras.map_settings()


@router.put("/map")
async def put_map_settings(
    body: MapSettings, request: Request, who: Principal = require(Permission.MANAGE_CAMERAS)
) -> MapSettings:
    """Set the map's tile URL template (http(s) with {z}, {x} and {y}) and its attribution, or clear them."""
    return await service().save_map_settings(body.model_dump(), who=who, ip=context.client_ip(request))


@router.get("/{site_id}")
async def get_site(site_id: int, who: Principal = require(Permission.VIEW_LIVE)) -> SiteOut:
    """Return one site."""
    return SiteOut.of(await cameras.site_for(who, site_id))


@router.patch("/{site_id}")
async def update_site(
    site_id: int, body: SitePatch, request: Request, who: Principal = require(Permission.MANAGE_CAMERAS)
) -> SiteOut:
    """Change the fields given; null clears latitude or longitude."""
    return SiteOut.of(await service().update_site(site_id, body, who=who, ip=context.client_ip(request)))


@router.delete("/{site_id}", status_code=204)
async def delete_site(site_id: int, request: Request, who: Principal = require(Permission.MANAGE_CAMERAS)) -> None:
    """Delete a site; its cameras stay, without a site."""
    await service().delete_site(site_id, who=who, ip=context.client_ip(request))


# Declared for readers; writes also need MANAGE_CAMERAS, which require() checks per endpoint (403).
declare("/api/sites", Permission.VIEW_LIVE)
declare("/api/sites/map", Permission.VIEW_LIVE)
declare("/api/sites/{site_id}", Permission.VIEW_LIVE)
