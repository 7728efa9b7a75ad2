"""Download links for evidence packages that expire, and that only the user they were made for can use.

A link carries the request id, the user id and the expiry time, signed with HMAC-SHA256 by a key kept
in the data folder's secrets (made at first use). Nothing is stored per link: a forged, altered or
expired link is refused by its signature and time alone. The lifetime is a setting (default 24 hours).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from appliance.db.models.settings import Setting
from appliance.errors import WardCamError

KEY_FILE = "download-links.key"
SETTING_KEY = "footage_links"


class LinkPolicy(BaseModel):
    """How long a download link of an evidence package works, stored as the Setting `footage_links`."""

    link_ttl_s: int = Field(default=24 * 3600, ge=300, le=30 * 24 * 3600,
                            title="How long a download link works (seconds)")  # fmt: skip


async def load_link_policy() -> LinkPolicy:
    """Return the stored policy, or the defaults."""
    row = await Setting.get_or_none(key=SETTING_KEY)
    return LinkPolicy.model_validate(row.value) if row is not None else LinkPolicy()


async def save_link_policy(policy: LinkPolicy) -> None:
    """Store the policy."""
    await Setting.update_or_create(defaults={"value": policy.model_dump()}, key=SETTING_KEY)


class LinkInvalid(WardCamError):
    """The link is not one this appliance made for this user (altered, forged, or someone else's)."""

    key = "requests_web.error.link_invalid"
    # 404, not 403: nothing is told about the request, and 403 means "your role may not" everywhere else
    status = 404


class LinkExpired(WardCamError):
    """The link's time is over: make a new one on the request's page."""

    key = "requests_web.error.link_expired"
    status = 410


@dataclass(frozen=True)
class Link:
    """A download link's token and when it stops working (seconds since 1970)."""

    token: str
    expires_at: int


class DownloadLinks:
    """Make and check download links with the appliance's own link key."""

    def __init__(self, secrets_dir: Path) -> None:
        self.path = secrets_dir / KEY_FILE
        self._key: bytes | None = None

    def _secret(self) -> bytes:
        if self._key is None:
            if not self.path.exists():
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(secrets.token_bytes(32))
            self._key = self.path.read_bytes()
        return self._key

    def _sign(self, body: str) -> str:
        return hmac.new(self._secret(), body.encode(), hashlib.sha256).hexdigest()

    def make(self, request_id: int, user_id: int, ttl_s: int, now: float | None = None) -> Link:
        """Return a link for this user to download this request's package, working for ttl_s seconds."""
        expires = int((time.time() if now is None else now) + ttl_s)
        body = f"{request_id}.{user_id}.{expires}"
        return Link(f"{body}.{self._sign(body)}", expires)

    def check(self, token: str, user_id: int | None, now: float | None = None) -> int:
        """Return the request id a link is for; LinkInvalid or LinkExpired when it must be refused."""
        parts = token.split(".")
        if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
            raise LinkInvalid()
        body = ".".join(parts[:3])
        if not hmac.compare_digest(self._sign(body), parts[3]) or user_id is None or int(parts[1]) != user_id:
            raise LinkInvalid()
        if int(parts[2]) < (time.time() if now is None else now):
            raise LinkExpired()
        return int(parts[0])
