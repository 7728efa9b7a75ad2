"""Recorded segments and the evidence locks that keep them from retention."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from appliance.db.models.cameras import Camera


class Segment(Model):
    """One recorded file of one camera (about 10 s), indexed with its real start and duration."""

    id = fields.BigIntField(primary_key=True)
    camera: fields.ForeignKeyNullableRelation[Camera] = fields.ForeignKeyField(
        "models.Camera", related_name="segments", null=True, on_delete=fields.SET_NULL
    )
    camera_id: int | None
    start = fields.DatetimeField()
    end = fields.DatetimeField()
    duration_s = fields.FloatField()
    size = fields.BigIntField()
    path = fields.CharField(max_length=512, unique=True)
    video_codec = fields.CharField(max_length=16, default="")
    audio_codec = fields.CharField(max_length=16, default="")
    width = fields.IntField(default=0)
    height = fields.IntField(default=0)
    keyframes: fields.Field[list[float]] = fields.JSONField(default=list)
    recovered = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "segment"
        indexes = (("camera_id", "start"), ("start",))


class EvidenceLock(Model):
    """Footage that retention must not delete: a camera's time range, for a reason, until a date."""

    id = fields.IntField(primary_key=True)
    camera: fields.ForeignKeyRelation[Camera] = fields.ForeignKeyField(
        "models.Camera", related_name="evidence_locks", on_delete=fields.RESTRICT
    )
    start = fields.DatetimeField()
    end = fields.DatetimeField()
    reason = fields.CharField(max_length=255)
    until = fields.DatetimeField(null=True)  # None: until someone releases it
    request_id = fields.IntField(null=True)  # the footage request that placed it, if any
    created_by = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "evidence_lock"
        indexes = (("camera_id", "start", "end"),)


class DiskSample(Model):
    """The recordings volume's use at one moment (one sample every few minutes, for the System page chart)."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    total_bytes = fields.BigIntField()
    free_bytes = fields.BigIntField()
    recordings_bytes = fields.BigIntField()

    class Meta:
        table = "disk_sample"
