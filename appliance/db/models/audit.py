"""The append-only, hash-chained audit log."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class AuditEntry(Model):
    """Who did what to which object, when and from where; chained by hash to the entry before."""

    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField()
    actor = fields.CharField(max_length=64, default="")
    actor_id = fields.IntField(null=True)
    action = fields.CharField(max_length=64, db_index=True)
    object_type = fields.CharField(max_length=32, default="")
    object_id = fields.CharField(max_length=64, default="")
    detail: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    ip = fields.CharField(max_length=64, default="")
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64, unique=True)

    class Meta:
        table = "audit_entry"
        ordering = ("id",)
