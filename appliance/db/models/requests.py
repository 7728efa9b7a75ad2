"""Footage requests from the police: who asked for which footage, the decision, and the evidence package made."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class RequestStatus(StrEnum):
    """Where a footage request stands: pending → approved | rejected → exported → delivered → closed."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPORTED = "exported"
    DELIVERED = "delivered"
    CLOSED = "closed"


class Urgency(StrEnum):
    """How soon the police need the footage."""

    NORMAL = "normal"
    URGENT = "urgent"


class FootageRequest(Model):
    """One request for footage by an officer: the case, the cameras and time range, and what became of it."""

    id = fields.IntField(primary_key=True)
    officer_name = fields.CharField(max_length=128)
    officer_unit = fields.CharField(max_length=128)
    officer_badge = fields.CharField(max_length=64)  # badge or ID number
    case_number = fields.CharField(max_length=128)  # case or document number
    reason = fields.TextField()
    site_id = fields.IntField(null=True)  # asked for a whole site: camera_ids are its cameras at that moment
    camera_ids: fields.Field[list[int]] = fields.JSONField(default=list)
    start = fields.DatetimeField()
    end = fields.DatetimeField()
    urgency = fields.CharEnumField(Urgency, max_length=16, default=Urgency.NORMAL)
    status = fields.CharEnumField(RequestStatus, max_length=16, default=RequestStatus.PENDING, db_index=True)
    created_by_id = fields.IntField(null=True)  # the user who entered it (the officer, or staff on their behalf)
    officer_user_id = fields.IntField(null=True, db_index=True)  # the police user it belongs to, when there is one
    created_by = fields.CharField(max_length=64, default="")
    decided_by = fields.CharField(max_length=64, default="")
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.TextField(default="")
    export_variant = fields.CharField(max_length=16, default="original")  # "original" or "burned_in"
    export_queued_at = fields.DatetimeField(null=True)  # an export asked for and not yet made (survives restarts)
    exported_at = fields.DatetimeField(null=True)
    package_path = fields.CharField(max_length=512, default="")  # relative to the data folder
    package_sha256 = fields.CharField(max_length=64, default="")
    package_size = fields.BigIntField(default=0)
    export_error = fields.CharField(max_length=255, default="")
    delivered_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    hold_until = fields.DatetimeField(null=True)  # evidence locks end then (closed + the hold period)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "footage_request"
        ordering = ("-id",)
