"""The rules as stored: create, change, delete, and the enabled ones kept in memory for each detection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from tortoise.exceptions import IntegrityError

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.db.models.notify import NotificationRule, NotificationTarget
from appliance.errors import NotFound
from appliance.notify.errors import NotifyInputInvalid, field_error
from appliance.notify.rules import RuleConfig

NAME_MAX = 128


@dataclass(frozen=True)
class RuleView:
    """A rule as the panel, the API and the evaluator see it."""

    id: int
    name: str
    enabled: bool
    config: RuleConfig


def _config(values: dict[str, Any]) -> RuleConfig:
    try:
        return RuleConfig.model_validate(values)
    except ValidationError as exc:
        raise NotifyInputInvalid(exc) from exc


def _name(name: Any) -> str:
    text = str(name or "").strip()
    if not text:
        raise field_error("name", "notify.error.name_missing")
    if len(text) > NAME_MAX:
        raise field_error("name", "notify.error.name_long")
    return text


async def _check_targets(config: RuleConfig) -> None:
    if not config.target_ids:
        raise field_error("target_ids", "notify.error.no_target")
    known = set(await NotificationTarget.filter(id__in=config.target_ids).values_list("id", flat=True))
    if set(config.target_ids) - known:
        raise field_error("target_ids", "notify.error.target_unknown")


class Rulebook:
    """Rules, stored and cached."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit
        self.enabled: list[RuleView] = []

    async def load(self) -> None:
        """Read the enabled rules (again)."""
        views = []
        for row in await NotificationRule.filter(enabled=True).order_by("id"):
            try:
                views.append(RuleView(row.id, row.name, row.enabled, RuleConfig.model_validate(row.config)))
            except ValidationError:  # a rule whose every target was deleted, say: it waits for an edit
                continue
        self.enabled = views

    async def list(self) -> list[RuleView]:
        """Return every rule, enabled or not, by name."""
        views = []
        for row in await NotificationRule.all().order_by("name"):
            try:
                config = RuleConfig.model_validate(row.config)
            except ValidationError:  # stored before a check changed: shown with the defaults, fixed by an edit
                config = RuleConfig()
            views.append(RuleView(row.id, row.name, row.enabled, config))
        return views

    async def get(self, rule_id: int) -> NotificationRule:
        """Return one stored rule, or raise NotFound."""
        row = await NotificationRule.get_or_none(id=rule_id)
        if row is None:
            raise NotFound()
        return row

    async def create(self, name: Any, values: dict[str, Any], who: Principal | None, ip: str = "",
                     enabled: bool = True) -> RuleView:  # fmt: skip
        """Create a rule."""
        clean, config = _name(name), _config(values)
        await _check_targets(config)
        try:
            row = await NotificationRule.create(name=clean, enabled=enabled, config=config.model_dump(mode="json"))
        except IntegrityError:
            raise field_error("name", "notify.error.name_taken") from None
        await self.audit.record("notify.rule_created", who=who, object_type="notification_rule", object_id=row.id,
                                ip=ip, detail={"name": clean})  # fmt: skip
        await self.load()
        return RuleView(row.id, row.name, row.enabled, config)

    async def update(self, rule_id: int, values: dict[str, Any], who: Principal | None, ip: str = "",
                     name: Any = None, enabled: bool | None = None) -> RuleView:  # fmt: skip
        """Change a rule; the values replace its settings."""
        row = await self.get(rule_id)
        config = _config({**row.config, **values})
        await _check_targets(config)
        if name is not None:
            row.name = _name(name)
        if enabled is not None:
            row.enabled = enabled
        row.config = config.model_dump(mode="json")
        try:
            await row.save()
        except IntegrityError:
            raise field_error("name", "notify.error.name_taken") from None
        await self.audit.record("notify.rule_changed", who=who, object_type="notification_rule", object_id=row.id,
                                ip=ip, detail={"name": row.name})  # fmt: skip
        await self.load()
        return RuleView(row.id, row.name, row.enabled, config)

    async def delete(self, rule_id: int, who: Principal | None, ip: str = "") -> None:
        """Delete a rule (its log lines keep its name)."""
        row = await self.get(rule_id)
        await row.delete()
        await self.audit.record("notify.rule_deleted", who=who, object_type="notification_rule", object_id=rule_id,
                                ip=ip, detail={"name": row.name})  # fmt: skip
        await self.load()
