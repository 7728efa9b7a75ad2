"""Detections: what Frigate, motion detection and other sources saw on a camera, one row per detection."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from appliance.db.models.cameras import Camera
from appliance.db.models.users import User

# Known values of Detection.source; an add-on may use its own name.
SOURCE_FRIGATE = "frigate"
SOURCE_MOTION = "motion"


class Detection(Model):
    """One detection (a person, a motorbike, motion, ...) from start to end, stored once per source and id.

    `external_id` is the source's own id (Frigate's event id; a generated one for motion), so that a
    repeated or out-of-order message updates the same row. `end` is None while the detection goes on.
    `snapshot_path` is relative to the data directory ("" when there is none).
    """

    id = fields.BigIntField(primary_key=True)
    source = fields.CharField(max_length=32)
    external_id = fields.CharField(max_length=128)
    camera: fields.ForeignKeyNullableRelation[Camera] = fields.ForeignKeyField(
        "models.Camera", related_name="detections", null=True, on_delete=fields.SET_NULL
    )
    camera_id: int | None
    source_camera = fields.CharField(max_length=128, default="")  # the camera's name at the source
    label = fields.CharField(max_length=64)
    sub_label = fields.CharField(max_length=128, default="")
    top_score = fields.FloatField(default=0.0)
    zones: fields.Field[list[str]] = fields.JSONField(default=list)
    start = fields.DatetimeField()
    end = fields.DatetimeField(null=True)
    snapshot_path = fields.CharField(max_length=512, default="")
    has_clip = fields.BooleanField(default=False)
    acknowledged_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="acknowledged_detections", null=True, on_delete=fields.SET_NULL
    )
    acknowledged_by_id: int | None
    acknowledged_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "detection"
        unique_together = (("source", "external_id"),)
        indexes = (("camera_id", "start"), ("start",))

    @property
    def ongoing(self) -> bool:
        """Return whether the detection has not ended yet."""
        return self.end is None

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id} {self.label}"
