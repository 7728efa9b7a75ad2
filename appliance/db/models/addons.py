"""The stored state of each add-on: enabled or not, and its options."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class AddonState(Model):
    """Whether an add-on is enabled, and the options staff gave it."""

    name = fields.CharField(max_length=64, primary_key=True)
    enabled = fields.BooleanField(default=False)
    options: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "addon_state"
