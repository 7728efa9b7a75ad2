"""GET and PUT /api/mqtt: the MQTT connection's settings (never the password) and state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.i18n import current_language
from appliance.mqtt import MqttService
from web import context
from web.access import declare, require

router = APIRouter(prefix="/api", tags=["mqtt"])


class MqttStatusOut(BaseModel):
    state: str  # disconnected, connecting, connected or error
    text: str  # the state in plain words, in the caller's language
    reason: str | None  # the reason's translation key, if any
    since: datetime
    broker: str  # mqtt://host:port or mqtts://host:port, without credentials
    client_id: str
    messages_received: int
    messages_published: int
    handler_failures: int
    malformed_payloads: int
    messages_dropped: int


class MqttOut(BaseModel):
    settings: dict[str, Any]  # every setting but the password; has_password says whether one is stored
    status: MqttStatusOut


def mqtt_out(service: MqttService, lang: str) -> MqttOut:
    """Return the settings and the state as the API shows them."""
    s = service.status
    return MqttOut(
        settings=service.settings.public(),
        status=MqttStatusOut(state=s.state.value, text=s.text(lang), reason=s.reason.key if s.reason else None,
                             since=s.since, broker=s.broker, client_id=s.client_id, messages_received=s.received,
                             messages_published=s.published, handler_failures=s.handler_failures,
                             malformed_payloads=s.malformed, messages_dropped=s.dropped),
    )  # fmt: skip


@router.get("/mqtt")
async def get_mqtt(who: Principal = require(Permission.MANAGE_SYSTEM)) -> MqttOut:
    """Return the MQTT settings (without the password) and the connection's state."""
    return mqtt_out(context.appliance().mqtt, who.language or current_language())


@router.put("/mqtt")
async def put_mqtt(
    body: dict[str, Any], request: Request, who: Principal = require(Permission.MANAGE_SYSTEM)
) -> MqttOut:
    """Validate, store and apply MQTT settings; an empty or missing password keeps the stored one."""
    service = context.appliance().mqtt
    await service.save_settings(body, who, context.client_ip(request))
    return mqtt_out(service, who.language or current_language())


declare("/api/mqtt", Permission.MANAGE_SYSTEM)
