"""GET /api/openapi.json: the API's OpenAPI schema, for admins (there is no CDN for a docs page)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.utils import get_openapi

from appliance import __version__
from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from web.access import declare, iter_routes, require

router = APIRouter()


@router.get("/api/openapi.json", include_in_schema=False)
async def openapi_schema(request: Request, _: Principal = require(Permission.MANAGE_SYSTEM)) -> dict[str, Any]:
    """Describe every API route (pages are left out)."""
    routes = [route for path, _, route in iter_routes(request.app) if path.startswith(("/api", "/healthz"))]
    return get_openapi(title="WardCam API", version=__version__, routes=routes)


declare("/api/openapi.json", Permission.MANAGE_SYSTEM)
