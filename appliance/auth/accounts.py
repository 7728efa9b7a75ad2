"""User accounts: onboarding, login, and the changes an admin or the user makes."""

from __future__ import annotations

import logging
import re
from asyncio import to_thread
from dataclasses import dataclass, field

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from appliance.audit import AuditLog
from appliance.auth.passwords import hash_password, needs_rehash, verify_password
from appliance.auth.principal import Principal
from appliance.auth.sessions import SessionPolicy, create_session, end_user_sessions, principal_for
from appliance.auth.throttle import LoginThrottle
from appliance.db.models.cameras import Site
from appliance.db.models.users import Role, User
from appliance.errors import (
    DuplicateUsername,
    InvalidCredentials,
    InvalidUsername,
    LastAdmin,
    NotFound,
    OnboardingClosed,
)
from appliance.i18n import LANGUAGES

log = logging.getLogger(__name__)

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")


def check_username(username: str) -> str:
    """Return the normalised username, or raise InvalidUsername."""
    username = username.strip()
    if not USERNAME_RE.fullmatch(username):
        raise InvalidUsername()
    return username.lower()


def check_language(language: str) -> str:
    """Return a supported language code, or the default."""
    return language if language in LANGUAGES else "vi"


@dataclass(frozen=True)
class LoginResult:
    """A successful login: the session cookie value and who logged in."""

    token: str
    principal: Principal


@dataclass
class Accounts:
    """Everything that creates, changes or authenticates users."""

    audit: AuditLog
    session_policy: SessionPolicy = field(default_factory=SessionPolicy)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    async def needs_onboarding(self) -> bool:
        """Return whether no user exists yet."""
        return not await User.exists()

    async def onboard(self, username: str, password: str, display_name: str, language: str, ip: str) -> User:
        """Create the first admin; refuse once any user exists."""
        username = check_username(username)
        password_hash = await to_thread(hash_password, password)
        async with in_transaction():
            if await User.exists():
                raise OnboardingClosed()
            user = await User.create(
                username=username,
                display_name=display_name.strip()[:128],
                password_hash=password_hash,
                role=Role.ADMIN,
                language=check_language(language),
            )
        await self.audit.record(
            "onboarding.owner_created", actor=username, object_type="user", object_id=user.id, ip=ip
        )
        log.info("onboarding: owner account %s created", username)
        return user

    async def login(self, username: str, password: str, ip: str, user_agent: str = "") -> LoginResult:
        """Check a username and password, and open a session."""
        name = username.strip().lower()[:64]
        self.throttle.check(name, ip)
        user = await User.get_or_none(username=name)
        ok = await to_thread(verify_password, user.password_hash if user else None, password)
        if not ok or user is None or not user.is_active:
            self.throttle.failed(name, ip)
            await self.audit.record(
                "auth.login_failed",
                actor=name,
                object_type="user",
                ip=ip,
                detail={"reason": "disabled" if ok and user else "bad_credentials"},
            )
            log.info("login failed for %s from %s", name, ip)
            raise InvalidCredentials()
        self.throttle.succeeded(name, ip)
        if needs_rehash(user.password_hash):
            user.password_hash = await to_thread(hash_password, password)
            await user.save(update_fields=["password_hash"])
        token = await create_session(user, ip, user_agent, self.session_policy)
        principal = await principal_for(user, via="session")
        await self.audit.record("auth.login", who=principal, object_type="user", object_id=user.id, ip=ip)
        return LoginResult(token, principal)

    async def create_user(
        self,
        by: Principal | None,
        username: str,
        password: str,
        role: Role,
        display_name: str = "",
        language: str = "vi",
        ip: str = "",
    ) -> User:
        """Create a user (by an admin, or from the command line when `by` is None)."""
        username = check_username(username)
        password_hash = await to_thread(hash_password, password)
        try:
            user = await User.create(
                username=username,
                display_name=display_name.strip()[:128],
                password_hash=password_hash,
                role=role,
                language=check_language(language),
            )
        except IntegrityError as exc:
            raise DuplicateUsername(username=username) from exc
        await self.audit.record(
            "user.created",
            who=by,
            actor="cli" if by is None else "",
            object_type="user",
            object_id=user.id,
            ip=ip,
            detail={"username": username, "role": role.value},
        )
        return user

    async def update_user(
        self,
        by: Principal,
        user_id: int,
        *,
        display_name: str | None = None,
        role: Role | None = None,
        language: str | None = None,
        is_active: bool | None = None,
        site_ids: list[int] | None = None,
        ip: str = "",
    ) -> User:
        """Change a user's profile, role, language, active flag or granted sites."""
        user = await User.get_or_none(id=user_id)
        if user is None:
            raise NotFound()
        changes: dict[str, object] = {}
        demoting = (role is not None and role != Role.ADMIN) or is_active is False
        if demoting and user.role == Role.ADMIN and await self._active_admins(excluding=user.id) == 0:
            raise LastAdmin()
        if display_name is not None and display_name.strip() != user.display_name:
            user.display_name = changes["display_name"] = display_name.strip()[:128]
        if role is not None and role != user.role:
            changes["role"] = role.value
            user.role = role
        if language is not None and check_language(language) != user.language:
            user.language = changes["language"] = check_language(language)
        if is_active is not None and is_active != user.is_active:
            user.is_active = changes["is_active"] = is_active
        await user.save()
        if site_ids is not None:
            current = {int(site.id) for site in await user.sites.all()}
            wanted = set(site_ids)
            if wanted != current:
                await user.sites.clear()
                sites = await Site.filter(id__in=list(wanted))
                if sites:
                    await user.sites.add(*sites)
                changes["site_ids"] = sorted(wanted)
        if "role" in changes or changes.get("is_active") is False:
            await end_user_sessions(user.id)
        if changes:
            await self.audit.record(
                "user.updated", who=by, object_type="user", object_id=user.id, ip=ip, detail=changes
            )
        return user

    async def set_password(self, by: Principal, user_id: int, new_password: str, ip: str = "") -> None:
        """Reset a user's password (admin); their sessions end."""
        user = await User.get_or_none(id=user_id)
        if user is None:
            raise NotFound()
        user.password_hash = await to_thread(hash_password, new_password)
        await user.save(update_fields=["password_hash", "updated_at"])
        await end_user_sessions(user.id)
        await self.audit.record("user.password_reset", who=by, object_type="user", object_id=user.id, ip=ip)

    async def change_own_password(self, me: Principal, current: str, new_password: str, ip: str = "") -> None:
        """Change the caller's own password after checking the current one."""
        user = await User.get(id=me.user_id)
        if not await to_thread(verify_password, user.password_hash, current):
            raise InvalidCredentials("error.current_password_wrong")
        user.password_hash = await to_thread(hash_password, new_password)
        await user.save(update_fields=["password_hash", "updated_at"])
        await self.audit.record("user.password_changed", who=me, object_type="user", object_id=user.id, ip=ip)

    async def set_own_language(self, me: Principal, language: str, ip: str = "") -> None:
        """Change the caller's language."""
        language = check_language(language)
        await User.filter(id=me.user_id).update(language=language)
        await self.audit.record("user.language_changed", who=me, object_type="user", object_id=me.user_id, ip=ip,
                                detail={"language": language})  # fmt: skip

    async def _active_admins(self, excluding: int) -> int:
        return await User.filter(role=Role.ADMIN, is_active=True).exclude(id=excluding).count()
