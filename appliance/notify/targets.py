"""Notification targets: create, change, delete and test them; the URL never leaves the server.

A target is made from a service's friendly form (appliance.notify.urls) or a raw Apprise URL, checked by
Apprise itself (with the add-ons' plugins loaded), and stored. What the panel and the API see is the
name, the service and a summary without secrets (`TargetView`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from tortoise.exceptions import IntegrityError

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.db.models.notify import NotificationRule, NotificationTarget
from appliance.errors import NotFound
from appliance.notify.errors import NotifyInputInvalid, UnknownService, field_error
from appliance.notify.sender import Outcome, Sender, check_url
from appliance.notify.urls import FORMS, ServiceForm

NAME_MAX = 128


@dataclass(frozen=True)
class TargetView:
    """A target as a browser or the API may see it: no URL, no secret."""

    id: int
    name: str
    service: str
    summary: str
    enabled: bool

    @classmethod
    def of(cls, row: NotificationTarget) -> TargetView:
        """Return the view of a stored target."""
        return cls(row.id, row.name, row.service, row.summary, row.enabled)


def _name(name: Any) -> str:
    text = str(name or "").strip()
    if not text:
        raise field_error("name", "notify.error.name_missing")
    if len(text) > NAME_MAX:
        raise field_error("name", "notify.error.name_long")
    return text


class Targets:
    """Where notifications go."""

    def __init__(self, audit: AuditLog, sender: Sender, plugin_paths: Callable[[], list[str]],
                 schemes: Callable[[], set[str]]) -> None:  # fmt: skip
        self.audit = audit
        self.sender = sender
        self.plugin_paths = plugin_paths
        self.schemes = schemes  # the add-ons' schemes that are running now (zalobot, ...)

    def build(self, service: str, values: dict[str, Any]) -> tuple[str, str]:
        """Validate a service's form and return (Apprise URL, summary), or raise the errors per field."""
        form_type = FORMS.get(service)
        if form_type is None:
            raise UnknownService()
        if service == "zalo" and "zalobot" not in self.schemes():
            raise UnknownService("notify.error.zalo_addon")
        try:
            form: ServiceForm = form_type.model_validate(values)
        except ValidationError as exc:
            raise NotifyInputInvalid(exc) from exc
        url, summary = form.build()
        found = check_url(url, self.plugin_paths())
        if found is None:
            name = next(iter(form_type.model_fields))
            raise field_error(name, "notify.error.apprise_refused")
        if service == "raw":
            summary = found
        return url, summary

    async def list(self) -> list[TargetView]:
        """Return every target, by name."""
        return [TargetView.of(row) for row in await NotificationTarget.all().order_by("name")]

    async def get(self, target_id: int) -> NotificationTarget:
        """Return one stored target, or raise NotFound."""
        row = await NotificationTarget.get_or_none(id=target_id)
        if row is None:
            raise NotFound()
        return row

    async def create(self, name: Any, service: str, values: dict[str, Any], who: Principal | None,
                     ip: str = "") -> TargetView:  # fmt: skip
        """Create a target from a service's form."""
        clean = _name(name)
        url, summary = self.build(service, values)
        try:
            row = await NotificationTarget.create(name=clean, service=service, url=url, summary=summary)
        except IntegrityError:
            raise field_error("name", "notify.error.name_taken") from None
        await self.audit.record("notify.target_created", who=who, object_type="notification_target",
                                object_id=row.id, ip=ip, detail={"name": clean, "service": service})  # fmt: skip
        return TargetView.of(row)

    async def update(self, target_id: int, who: Principal | None, ip: str = "", name: Any = None,
                     enabled: bool | None = None, service: str | None = None,
                     values: dict[str, Any] | None = None) -> TargetView:  # fmt: skip
        """Rename, switch on or off, or give a target a new address (only when the form is filled again)."""
        row = await self.get(target_id)
        changed: list[str] = []
        if name is not None and _name(name) != row.name:
            row.name = _name(name)
            changed.append("name")
        if enabled is not None and enabled != row.enabled:
            row.enabled = enabled
            changed.append("enabled")
        if service is not None and values:
            row.url, row.summary = self.build(service, values)
            row.service = service
            changed.append("address")
        try:
            await row.save()
        except IntegrityError:
            raise field_error("name", "notify.error.name_taken") from None
        if "address" in changed:
            self.sender.forget(row.id)
        await self.audit.record("notify.target_changed", who=who, object_type="notification_target",
                                object_id=row.id, ip=ip, detail={"name": row.name, "changed": changed})  # fmt: skip
        return TargetView.of(row)

    async def delete(self, target_id: int, who: Principal | None, ip: str = "") -> None:
        """Delete a target and take it out of every rule (its log lines keep its name)."""
        row = await self.get(target_id)
        for rule in await NotificationRule.all():
            ids = list(rule.config.get("target_ids", []))
            if target_id in ids:
                rule.config = {**rule.config, "target_ids": [i for i in ids if i != target_id]}
                await rule.save(update_fields=["config", "updated_at"])
        await row.delete()
        self.sender.forget(target_id)
        await self.audit.record("notify.target_deleted", who=who, object_type="notification_target",
                                object_id=target_id, ip=ip, detail={"name": row.name})  # fmt: skip

    async def test(self, target_id: int, title: str, body: str) -> Outcome:
        """Send a test message to a stored target now, without the queue."""
        row = await self.get(target_id)
        return await self.sender.send(row.id, row.url, title, body)

    async def test_form(self, service: str, values: dict[str, Any], title: str, body: str) -> Outcome:
        """Send a test message to a target that is not saved yet (validation errors raise per field)."""
        url, _ = self.build(service, values)
        return await self.sender.send(f"test-{service}", url, title, body)
