"""Sites (street points) and the cameras at them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class AudioPolicy(StrEnum):
    """What the recorder does with a camera's audio."""

    COPY = "copy"  # copy when MP4 can hold it, otherwise transcode to AAC
    AAC = "aac"  # always transcode to AAC
    DROP = "drop"  # record video only


class Site(Model):
    """A street point (alley, intersection) with one or more cameras."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=128, unique=True)
    address = fields.CharField(max_length=255, default="")
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    notes = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    cameras: fields.ReverseRelation[Camera]

    class Meta:
        table = "site"
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Camera(Model):
    """One camera; its password is write-only and never leaves the server."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=128, unique=True)
    site: fields.ForeignKeyNullableRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="cameras", null=True, on_delete=fields.SET_NULL
    )
    main_url = fields.CharField(max_length=1024)
    sub_url = fields.CharField(max_length=1024, default="")
    username = fields.CharField(max_length=128, default="")
    password = fields.CharField(max_length=256, default="")
    enabled = fields.BooleanField(default=True)
    retention_days = fields.IntField(default=30)
    audio_policy = fields.CharEnumField(AudioPolicy, max_length=8, default=AudioPolicy.COPY)
    # what the camera was last seen to send (the recorder learns it; "" = not known yet)
    stream_video_codec = fields.CharField(max_length=16, default="")
    stream_audio_codec = fields.CharField(max_length=16, default="")
    stream_width = fields.IntField(default=0)
    stream_height = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "camera"
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name
