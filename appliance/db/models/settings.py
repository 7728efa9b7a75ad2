"""Appliance-wide settings edited in the browser, one JSON value a key."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Setting(Model):
    """One settings section, stored as JSON and validated by its pydantic model."""

    key = fields.CharField(max_length=64, primary_key=True)
    value: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "setting"
