"""Users, their browser sessions and their API tokens."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from appliance.db.models.cameras import Site


class Role(StrEnum):
    """What a user may do; see appliance.auth.roles for the permissions of each."""

    ADMIN = "admin"
    OPERATOR = "operator"
    POLICE = "police"
    VIEWER = "viewer"


class User(Model):
    """A person who logs in to the panel."""

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    display_name = fields.CharField(max_length=128, default="")
    password_hash = fields.CharField(max_length=255)
    role = fields.CharEnumField(Role, max_length=16, default=Role.VIEWER)
    language = fields.CharField(max_length=8, default="vi")
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    last_login_at = fields.DatetimeField(null=True)
    sites: fields.ManyToManyRelation[Site] = fields.ManyToManyField(
        "models.Site", related_name="granted_users", through="user_site_grant"
    )

    class Meta:
        table = "user"
        ordering = ("username",)

    def __str__(self) -> str:
        return self.username


class Session(Model):
    """A logged-in browser; the cookie holds the token, the database only its hash."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    ip = fields.CharField(max_length=64, default="")
    user_agent = fields.CharField(max_length=255, default="")

    class Meta:
        table = "session"


class ApiToken(Model):
    """A long-lived token for scripts and integrations; only its hash is stored."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="api_tokens", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=128)
    token_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"
