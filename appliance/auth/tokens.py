"""Long-lived API tokens for scripts and integrations."""

from __future__ import annotations

from appliance.auth.principal import Principal
from appliance.auth.secrets import new_token, token_hash
from appliance.auth.sessions import now, principal_for
from appliance.db.models.users import ApiToken, User

TOKEN_PREFIX = "wct"


async def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for a user; return its row and the token, which is shown only once."""
    token = new_token(TOKEN_PREFIX)
    row = await ApiToken.create(user=user, name=name[:128], token_hash=token_hash(token), prefix=token[:10])
    return row, token


async def resolve_token(token: str) -> Principal | None:
    """Return the Principal of a valid token, or None."""
    if not token.startswith(f"{TOKEN_PREFIX}_") or len(token) > 200:
        return None
    row = await ApiToken.get_or_none(token_hash=token_hash(token), revoked_at=None).prefetch_related("user")
    if row is None or not row.user.is_active:
        return None
    t = now()
    if row.last_used_at is None or (t - row.last_used_at).total_seconds() > 60:
        row.last_used_at = t
        await row.save(update_fields=["last_used_at"])
    return await principal_for(row.user, via="token")


async def revoke_token(token_id: int, user_id: int | None = None) -> bool:
    """Revoke a token (only one of user_id's own when given); return whether one was revoked."""
    query = ApiToken.filter(id=token_id, revoked_at=None)
    if user_id is not None:
        query = query.filter(user_id=user_id)
    return bool(await query.update(revoked_at=now()))
