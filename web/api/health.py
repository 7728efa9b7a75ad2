"""GET /healthz: status and version, nothing more."""

from __future__ import annotations

from fastapi import APIRouter

from appliance import __version__
from web.access import OPEN, declare

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    """Report that the appliance answers."""
    return {"status": "ok", "version": __version__}


declare("/healthz", OPEN)
