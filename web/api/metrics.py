"""GET /metrics: the appliance's figures for Prometheus, for admins and their tokens only."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.metrics import exposition, render
from appliance.notify.metrics import metric_families as notify_metrics
from web import context
from web.access import declare, require

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(_: Principal = require(Permission.MANAGE_SYSTEM)) -> Response:
    """Return the metrics in the Prometheus text format."""
    appliance = context.appliance()
    addons = [(a.name, a.status.value) for a in appliance.addons.addons.values()]
    statuses = [r.status for r in appliance.recorder.recorders.values()]
    body = await exposition(appliance.bus, appliance.accounts.session_policy, addons, recording=statuses,
                           mqtt=appliance.mqtt.status)  # fmt: skip
    body += render(await notify_metrics(appliance.notify.queue))  # per notification target
    return Response(body, media_type=CONTENT_TYPE_LATEST)


declare("/metrics", Permission.MANAGE_SYSTEM)
