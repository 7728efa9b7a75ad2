"""Accounts against a real database: onboarding, login, sessions, tokens, throttling."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appliance.auth.accounts import Accounts
from appliance.auth.sessions import SessionPolicy, now, resolve_session
from appliance.auth.tokens import create_token, resolve_token, revoke_token
from appliance.db.models.users import ApiToken, Role, Session, User
from appliance.errors import (
    DuplicateUsername,
    InvalidCredentials,
    InvalidUsername,
    LastAdmin,
    OnboardingClosed,
    TooManyAttempts,
)

PW = "mat-khau-du-dai-1"


async def test_onboarding_creates_one_admin_and_then_closes(accounts: Accounts) -> None:
    assert await accounts.needs_onboarding()
    owner = await accounts.onboard("Chu-Tich", PW, "Chủ tịch", "vi", "127.0.0.1")
    assert owner.username == "chu-tich" and owner.role == Role.ADMIN
    assert not await accounts.needs_onboarding()
    with pytest.raises(OnboardingClosed):
        await accounts.onboard("another", PW, "", "vi", "127.0.0.1")
    assert await User.all().count() == 1


async def test_login_opens_a_session_whose_token_is_stored_only_as_a_hash(accounts: Accounts) -> None:
    await accounts.create_user(None, "admin", PW, Role.ADMIN)
    result = await accounts.login("ADMIN", PW, "127.0.0.1", "pytest")
    assert result.principal.username == "admin"
    stored = await Session.get()
    assert stored.token_hash != result.token and result.token not in stored.token_hash
    assert (await resolve_session(result.token, accounts.session_policy)) == result.principal


async def test_an_idle_session_expires(accounts: Accounts) -> None:
    await accounts.create_user(None, "admin", PW, Role.ADMIN)
    result = await accounts.login("admin", PW, "127.0.0.1")
    await Session.all().update(last_seen_at=now() - timedelta(hours=13))
    assert await resolve_session(result.token, SessionPolicy()) is None
    assert await Session.all().count() == 0


async def test_a_session_expires_after_its_absolute_lifetime(accounts: Accounts) -> None:
    await accounts.create_user(None, "admin", PW, Role.ADMIN)
    result = await accounts.login("admin", PW, "127.0.0.1")
    await Session.all().update(expires_at=now() - timedelta(seconds=1))
    assert await resolve_session(result.token, SessionPolicy()) is None


async def test_duplicate_and_invalid_usernames_are_refused(accounts: Accounts) -> None:
    await accounts.create_user(None, "admin", PW, Role.ADMIN)
    with pytest.raises(DuplicateUsername):
        await accounts.create_user(None, "Admin", PW, Role.VIEWER)
    with pytest.raises(InvalidUsername):
        await accounts.create_user(None, "ông già", PW, Role.VIEWER)
    assert await User.all().count() == 1


async def test_five_failures_lock_the_username_even_with_the_right_password(accounts: Accounts) -> None:
    await accounts.create_user(None, "admin", PW, Role.ADMIN)
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await accounts.login("admin", "wrong-password", "10.0.0.9")
    with pytest.raises(TooManyAttempts) as caught:
        await accounts.login("admin", PW, "10.0.0.9")
    assert caught.value.params["minutes"] == 5


async def test_the_last_active_admin_cannot_be_demoted_or_disabled(accounts: Accounts) -> None:
    owner = await accounts.create_user(None, "admin", PW, Role.ADMIN)
    me = (await accounts.login("admin", PW, "127.0.0.1")).principal
    with pytest.raises(LastAdmin):
        await accounts.update_user(me, owner.id, role=Role.VIEWER)
    with pytest.raises(LastAdmin):
        await accounts.update_user(me, owner.id, is_active=False)
    second = await accounts.create_user(me, "admin2", PW, Role.ADMIN)
    await accounts.update_user(me, second.id, role=Role.OPERATOR)
    assert (await User.get(id=second.id)).role == Role.OPERATOR


async def test_a_role_change_ends_the_users_sessions(accounts: Accounts) -> None:
    await accounts.create_user(None, "admin", PW, Role.ADMIN)
    operator = await accounts.create_user(None, "op", PW, Role.OPERATOR)
    me = (await accounts.login("admin", PW, "127.0.0.1")).principal
    token = (await accounts.login("op", PW, "127.0.0.1")).token
    await accounts.update_user(me, operator.id, role=Role.VIEWER)
    assert await resolve_session(token, SessionPolicy()) is None


async def test_api_tokens_resolve_until_revoked(accounts: Accounts) -> None:
    admin = await accounts.create_user(None, "admin", PW, Role.ADMIN)
    row, token = await create_token(admin, "home assistant")
    assert token.startswith("wct_") and len(token) > 40
    assert (await ApiToken.get(id=row.id)).token_hash != token
    principal = await resolve_token(token)
    assert principal is not None and principal.via == "token"
    assert await resolve_token(token + "x") is None
    assert await resolve_token("not-a-token") is None
    assert await revoke_token(row.id)
    assert await resolve_token(token) is None
