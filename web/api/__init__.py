"""The REST API under /api, plus /healthz and /metrics."""

from __future__ import annotations

from fastapi import APIRouter

from web.api import (
    addons,
    audit,
    auth,
    cameras,
    events,
    health,
    live,
    metrics,
    mqtt,
    notifications,
    recordings,
    requests,
    schema,
    sites,
    storage,
    users,
)

# Every router of the API; web.app.mount() includes them all. Add a new router here.
ROUTERS: list[APIRouter] = [
    health.router,
    auth.router,
    users.router,
    audit.router,
    metrics.router,
    addons.router,
    schema.router,
    sites.router,
    cameras.router,
    live.router,
    storage.router,
    recordings.router,
    mqtt.router,
    notifications.router,
    events.router,
    requests.router,
]
