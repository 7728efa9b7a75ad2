"""Browser sessions: created at login, checked on every request, expiring when idle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from appliance.auth.principal import Principal
from appliance.auth.secrets import new_token, token_hash
from appliance.db.models.users import Session, User

COOKIE_NAME = "wardcam_session"


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions live."""

    idle: timedelta = timedelta(hours=12)
    absolute: timedelta = timedelta(days=7)
    touch_every: timedelta = timedelta(minutes=1)


def now() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


async def principal_for(user: User, via: str) -> Principal:
    """Build the Principal of a user, with the sites granted to them."""
    site_ids = frozenset(int(site.id) for site in await user.sites.all())
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        language=user.language,
        via=via,
        site_ids=site_ids,
    )


async def create_session(user: User, ip: str, user_agent: str, policy: SessionPolicy) -> str:
    """Create a session for a user who just proved who they are; return the cookie value."""
    token = new_token("wcs")
    t = now()
    await Session.create(
        user=user,
        token_hash=token_hash(token),
        last_seen_at=t,
        expires_at=t + policy.absolute,
        ip=ip[:64],
        user_agent=user_agent[:255],
    )
    user.last_login_at = t
    await user.save(update_fields=["last_login_at"])
    return token


async def resolve_session(token: str, policy: SessionPolicy) -> Principal | None:
    """Return the Principal of a live session, or None when it is unknown, expired or disabled."""
    session = await Session.get_or_none(token_hash=token_hash(token)).prefetch_related("user")
    if session is None:
        return None
    t = now()
    if t >= session.expires_at or t - session.last_seen_at > policy.idle or not session.user.is_active:
        await session.delete()
        return None
    if t - session.last_seen_at > policy.touch_every:
        session.last_seen_at = t
        await session.save(update_fields=["last_seen_at"])
    return await principal_for(session.user, via="session")


async def end_session(token: str) -> None:
    """Delete the session behind a cookie value."""
    await Session.filter(token_hash=token_hash(token)).delete()


async def end_user_sessions(user_id: int) -> None:
    """Log a user out everywhere (after a password reset, a role change or disabling)."""
    await Session.filter(user_id=user_id).delete()


async def purge_expired(policy: SessionPolicy) -> int:
    """Delete sessions that can no longer be used; return how many."""
    t = now()
    expired = await Session.filter(expires_at__lte=t).delete()
    idle = await Session.filter(last_seen_at__lte=t - policy.idle).delete()
    return int(expired) + int(idle)
