"""/api/users: the caller's own profile, and user management for admins."""

from __future__ import annotations

from fastapi import APIRouter, Request

from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.db.models.users import User
from appliance.errors import NotFound
from web import context
from web.access import AUTHENTICATED, declare, require
from web.api.schemas import PasswordReset, UserCreate, UserOut, UserUpdate

router = APIRouter(prefix="/api/users", tags=["users"])


@router.get("/me")
async def me(who: Principal = require(AUTHENTICATED)) -> UserOut:
    """Return the caller's own account."""
    return UserOut.of(await User.get(id=who.user_id))


@router.get("")
async def list_users(_: Principal = require(Permission.MANAGE_USERS)) -> list[UserOut]:
    """List every user."""
    return [UserOut.of(u) for u in await User.all()]


@router.post("", status_code=201)
async def create_user(body: UserCreate, request: Request, who: Principal = require(Permission.MANAGE_USERS)) -> UserOut:
    """Create a user."""
    user = await context.appliance().accounts.create_user(
        who, body.username, body.password, body.role, body.display_name, body.language, ip=context.client_ip(request)
    )
    return UserOut.of(user)


@router.get("/{user_id}")
async def get_user(user_id: int, _: Principal = require(Permission.MANAGE_USERS)) -> UserOut:
    """Return one user."""
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound()
    return UserOut.of(user)


@router.patch("/{user_id}")
async def update_user(
    user_id: int, body: UserUpdate, request: Request, who: Principal = require(Permission.MANAGE_USERS)
) -> UserOut:
    """Change a user's profile, role, language, active flag or granted sites."""
    user = await context.appliance().accounts.update_user(
        who, user_id, **body.model_dump(exclude_none=True), ip=context.client_ip(request)
    )
    return UserOut.of(user)


@router.post("/{user_id}/password", status_code=204)
async def reset_password(
    user_id: int, body: PasswordReset, request: Request, who: Principal = require(Permission.MANAGE_USERS)
) -> None:
    """Set a new password for a user; their sessions end."""
    await context.appliance().accounts.set_password(who, user_id, body.password, ip=context.client_ip(request))


declare("/api/users/me", AUTHENTICATED)
declare("/api/users", Permission.MANAGE_USERS)
declare("/api/users/{user_id}", Permission.MANAGE_USERS)
declare("/api/users/{user_id}/password", Permission.MANAGE_USERS)
