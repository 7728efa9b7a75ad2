"""Notifications: targets (Apprise URLs), rules, maintenance mutes and the delivery log (which is also the queue)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from appliance.db.models.cameras import Camera, Site


class NotificationTarget(Model):
    """Where notifications go: a name and an Apprise URL.

    The URL holds the service's secrets (bot token, password, webhook key); like a camera's password it is
    write-only: it is kept for sending and never returned to a browser, the API, a log line or the audit log.
    """

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=128, unique=True)
    service = fields.CharField(max_length=32)  # telegram, email, ntfy, discord, webhook, zalo, raw
    url = fields.TextField()
    summary = fields.CharField(max_length=255, default="")  # what the panel shows: the service and no secret
    enabled = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notification_target"
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class NotificationRule(Model):
    """Which detections to announce, when, and to whom; `config` is appliance.notify.rules.RuleConfig."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=128, unique=True)
    enabled = fields.BooleanField(default=True)
    config: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notification_rule"
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class NotificationMute(Model):
    """Maintenance: no notification about a camera, or about every camera of a site, until a time."""

    id = fields.IntField(primary_key=True)
    camera: fields.ForeignKeyNullableRelation[Camera] = fields.ForeignKeyField(
        "models.Camera", related_name="notification_mutes", null=True, on_delete=fields.CASCADE
    )
    camera_id: int | None
    site: fields.ForeignKeyNullableRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="notification_mutes", null=True, on_delete=fields.CASCADE
    )
    site_id: int | None
    until = fields.DatetimeField()
    reason = fields.CharField(max_length=255, default="")
    created_by = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "notification_mute"
        ordering = ("until",)


class DeliveryState(StrEnum):
    """Where one delivery to one target stands."""

    PENDING = "pending"  # waiting for its (next) try
    SENT = "sent"
    FAILED = "failed"  # every try failed


class NotificationDelivery(Model):
    """One message to one target: queued until sent or given up, then kept as a line of the delivery log."""

    id = fields.BigIntField(primary_key=True)
    target: fields.ForeignKeyNullableRelation[NotificationTarget] = fields.ForeignKeyField(
        "models.NotificationTarget", related_name="deliveries", null=True, on_delete=fields.SET_NULL
    )
    target_id: int | None
    target_name = fields.CharField(max_length=128, default="")
    rule: fields.ForeignKeyNullableRelation[NotificationRule] = fields.ForeignKeyField(
        "models.NotificationRule", related_name="deliveries", null=True, on_delete=fields.SET_NULL
    )
    rule_id: int | None
    rule_name = fields.CharField(max_length=128, default="")  # the rule, or the system notification's kind
    kind = fields.CharField(max_length=32, default="detection")  # detection, camera_offline, ..., test
    camera_id = fields.IntField(null=True)
    detection_id = fields.BigIntField(null=True)
    title = fields.CharField(max_length=255, default="")
    body = fields.TextField(default="")
    attachment = fields.CharField(max_length=512, default="")  # a file under the data directory ("" = none)
    state = fields.CharEnumField(DeliveryState, max_length=16, default=DeliveryState.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    error_key = fields.CharField(max_length=64, default="")
    error_detail = fields.CharField(max_length=512, default="")
    event_at = fields.DatetimeField()  # when what is announced happened
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification_delivery"
        ordering = ("-id",)
        indexes = (("state", "next_attempt_at"), ("created_at",))
