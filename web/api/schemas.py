"""Request and response bodies of the API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from appliance.db.models.users import Role, User


class Strict(BaseModel):
    """A request body that refuses unknown fields."""

    model_config = ConfigDict(extra="forbid")


class LoginBody(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserCreate(Strict):
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(max_length=256)
    role: Role
    display_name: str = Field("", max_length=128)
    language: str = Field("vi", pattern="^(vi|en)$")


class UserUpdate(Strict):
    display_name: str | None = Field(None, max_length=128)
    role: Role | None = None
    language: str | None = Field(None, pattern="^(vi|en)$")
    is_active: bool | None = None
    site_ids: list[int] | None = None


class PasswordReset(Strict):
    password: str = Field(max_length=256)


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    language: str
    is_active: bool
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            language=user.language,
            is_active=user.is_active,
            last_login_at=user.last_login_at,
        )
