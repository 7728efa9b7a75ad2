"""/api/notifications: targets (never their URL), rules, system notifications, maintenance mutes, the delivery log.

Everything here needs MANAGE_NOTIFICATIONS (admins). Bad input gets 422 with a translated message per field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.db.models.notify import NotificationDelivery
from appliance.i18n import current_language, t
from appliance.notify import Notifications
from appliance.notify.errors import field_error
from appliance.notify.log import error_text
from appliance.notify.rulebook import RuleView
from web import context
from web.access import declare, require

router = APIRouter(prefix="/api/notifications", tags=["notifications"])
P = Permission.MANAGE_NOTIFICATIONS


def service() -> Notifications:
    """Return the notification system of the served appliance."""
    return context.appliance().notify


class TargetOut(BaseModel):
    id: int
    name: str
    service: str
    summary: str  # the service and where it goes, never a token or password
    enabled: bool


class RuleOut(BaseModel):
    id: int
    name: str
    enabled: bool
    config: dict[str, Any]

    @classmethod
    def of(cls, view: RuleView) -> RuleOut:
        return cls(id=view.id, name=view.name, enabled=view.enabled, config=view.config.model_dump(mode="json"))


class TestOut(BaseModel):
    ok: bool
    message: str  # the result in plain words, in the caller's language
    error: str | None  # the reason's translation key


class MuteOut(BaseModel):
    id: int
    camera_id: int | None
    site_id: int | None
    until: datetime
    reason: str
    created_by: str


class DeliveryOut(BaseModel):
    id: int
    time: datetime
    kind: str
    rule: str
    target: str
    result: str  # pending, sent or failed
    attempts: int
    error: str  # in plain words ("" when sent)
    error_key: str
    title: str
    finished_at: datetime | None


def _lang(who: Principal) -> str:
    return who.language or current_language()


def _target_out(view: Any) -> TargetOut:
    return TargetOut(id=view.id, name=view.name, service=view.service, summary=view.summary, enabled=view.enabled)


@router.get("/targets")
async def list_targets(who: Principal = require(P)) -> list[TargetOut]:
    """List the targets, without their addresses."""
    return [_target_out(v) for v in await service().targets.list()]


@router.post("/targets", status_code=201)
async def create_target(body: dict[str, Any], request: Request, who: Principal = require(P)) -> TargetOut:
    """Create a target: {name, service, values: {...the service's fields}}; service "raw" takes {apprise_url}."""
    values = body.get("values")
    if not isinstance(values, dict):
        raise field_error("values", "notify.error.values_missing")
    view = await service().targets.create(body.get("name"), str(body.get("service", "")), values, who,
                                          context.client_ip(request))  # fmt: skip
    return _target_out(view)


@router.put("/targets/{target_id}")
async def update_target(
    target_id: int, body: dict[str, Any], request: Request, who: Principal = require(P)
) -> TargetOut:
    """Rename, switch on or off, or give a new address (service and values, filled again in full)."""
    values = body.get("values") if isinstance(body.get("values"), dict) else None
    enabled = body.get("enabled") if isinstance(body.get("enabled"), bool) else None
    view = await service().targets.update(target_id, who, context.client_ip(request), name=body.get("name"),
                                          enabled=enabled, service=body.get("service"), values=values)  # fmt: skip
    return _target_out(view)


@router.delete("/targets/{target_id}", status_code=204)
async def delete_target(target_id: int, request: Request, who: Principal = require(P)) -> None:
    """Delete a target (it leaves every rule; its log lines keep its name)."""
    await service().targets.delete(target_id, who, context.client_ip(request))


@router.post("/targets/{target_id}/test")
async def test_target(target_id: int, who: Principal = require(P)) -> TestOut:
    """Send a test message now and say how it went."""
    lang = _lang(who)
    outcome = await service().targets.test(target_id, t("notify.test.title", lang), t("notify.test.body", lang))
    return TestOut(ok=outcome.ok, message=outcome.text(lang), error=outcome.error_key or None)


@router.get("/rules")
async def list_rules(who: Principal = require(P)) -> list[RuleOut]:
    """List the rules."""
    return [RuleOut.of(v) for v in await service().rules.list()]


@router.post("/rules", status_code=201)
async def create_rule(body: dict[str, Any], request: Request, who: Principal = require(P)) -> RuleOut:
    """Create a rule: {name, enabled, config: {camera_ids, site_ids, labels, min_score, zones, windows, days,
    cooldown_s, attach_snapshot, target_ids, language, template_vi, template_en}}."""
    config = body.get("config") if isinstance(body.get("config"), dict) else {}
    enabled = body.get("enabled") if isinstance(body.get("enabled"), bool) else True
    view = await service().rules.create(body.get("name"), config, who, context.client_ip(request), enabled=enabled)
    return RuleOut.of(view)


@router.put("/rules/{rule_id}")
async def update_rule(rule_id: int, body: dict[str, Any], request: Request, who: Principal = require(P)) -> RuleOut:
    """Change a rule; the config given replaces those settings."""
    config = body.get("config") if isinstance(body.get("config"), dict) else {}
    enabled = body.get("enabled") if isinstance(body.get("enabled"), bool) else None
    view = await service().rules.update(rule_id, config, who, context.client_ip(request), name=body.get("name"),
                                        enabled=enabled)  # fmt: skip
    return RuleOut.of(view)


@router.delete("/rules/{rule_id}", status_code=204)
async def delete_rule(rule_id: int, request: Request, who: Principal = require(P)) -> None:
    """Delete a rule."""
    await service().rules.delete(rule_id, who, context.client_ip(request))


@router.get("/system")
async def get_system(who: Principal = require(P)) -> dict[str, Any]:
    """Return the system notifications and the panel address used in links."""
    return service().settings.model_dump(mode="json")


@router.put("/system")
async def put_system(body: dict[str, Any], request: Request, who: Principal = require(P)) -> dict[str, Any]:
    """Change the system notifications (each with its targets) or the panel address; applied at once."""
    new = await service().save_settings(body, who, context.client_ip(request))
    return new.model_dump(mode="json")


@router.get("/mutes")
async def list_mutes(who: Principal = require(P)) -> list[MuteOut]:
    """List the maintenance mutes in force."""
    return [MuteOut(**vars(m)) for m in service().mutes.active()]


@router.post("/mutes", status_code=201)
async def create_mute(body: dict[str, Any], request: Request, who: Principal = require(P)) -> MuteOut:
    """Mute a camera ({camera_id}) or a site ({site_id}) until a time ({until}, ISO 8601), with a reason."""
    try:
        until = datetime.fromisoformat(str(body.get("until", "")))
    except ValueError:
        raise field_error("until", "notify.error.mute_until") from None
    camera_id, site_id = body.get("camera_id"), body.get("site_id")
    mute = await service().mutes.create(camera_id if isinstance(camera_id, int) else None,
                                        site_id if isinstance(site_id, int) else None, until,
                                        str(body.get("reason", "")), who, context.client_ip(request))  # fmt: skip
    return MuteOut(**vars(mute))


@router.delete("/mutes/{mute_id}", status_code=204)
async def delete_mute(mute_id: int, request: Request, who: Principal = require(P)) -> None:
    """End a mute now."""
    await service().mutes.delete(mute_id, who, context.client_ip(request))


@router.get("/log")
async def delivery_log(
    who: Principal = require(P),
    limit: int = Query(100, ge=1, le=1000),
    result: str | None = Query(None, pattern="^(pending|sent|failed)$"),
    target_id: int | None = None,
) -> list[DeliveryOut]:
    """Return the newest deliveries first: time, rule, target, result and error in plain words."""
    query = NotificationDelivery.all().order_by("-id").limit(limit)
    if result:
        query = query.filter(state=result)
    if target_id is not None:
        query = query.filter(target_id=target_id)
    lang = _lang(who)
    return [_delivery_out(row, lang) for row in await query]


def _delivery_out(row: NotificationDelivery, lang: str) -> DeliveryOut:
    return DeliveryOut(id=row.id, time=row.created_at, kind=row.kind, rule=row.rule_name, target=row.target_name,
                       result=row.state.value, attempts=row.attempts, error=error_text(row, lang),
                       error_key=row.error_key, title=row.title, finished_at=row.finished_at)  # fmt: skip


for _path in ("/targets", "/targets/{target_id}", "/targets/{target_id}/test", "/rules", "/rules/{rule_id}",
              "/system", "/mutes", "/mutes/{mute_id}", "/log"):  # fmt: skip
    declare(f"/api/notifications{_path}", P)
