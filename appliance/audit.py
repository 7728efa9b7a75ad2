"""The audit log: append-only and hash-chained, so that an edit, insertion or deletion shows.

Each entry stores the hash of the entry before it and its own hash over its content. The hash
of the newest entry and the number of entries are also written to a head file outside the
database, so that deleting entries from the end is caught too.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tortoise.transactions import in_transaction

from appliance.auth.principal import Principal
from appliance.db.models.audit import AuditEntry

log = logging.getLogger(__name__)

GENESIS = "0" * 64


def entry_hash(
    prev_hash: str,
    at: datetime,
    actor: str,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    detail: dict[str, Any],
    ip: str,
) -> str:
    """Return the SHA-256 over an entry's content and the hash before it."""
    body = json.dumps(
        [
            prev_hash,
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            actor,
            actor_id,
            action,
            object_type,
            object_id,
            detail,
            ip,
        ],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of walking the chain."""

    ok: bool
    entries: int
    first_bad_id: int | None = None
    problem: str = ""  # "edited", "inserted_or_deleted", "deleted_at_end", "head_missing"


class AuditLog:
    """Write and verify the audit chain."""

    def __init__(self, head_file: Path) -> None:
        self._head_file = head_file
        self._lock = asyncio.Lock()

    async def record(
        self,
        action: str,
        *,
        who: Principal | None = None,
        actor: str = "",
        object_type: str = "",
        object_id: str | int = "",
        detail: dict[str, Any] | None = None,
        ip: str = "",
    ) -> AuditEntry:
        """Append one entry to the chain."""
        detail = detail or {}
        at = datetime.now(UTC)
        actor_name = who.username if who else actor
        actor_id = who.user_id if who else None
        async with self._lock, in_transaction():
            last = await AuditEntry.all().order_by("-id").first()
            prev = last.hash if last else GENESIS
            digest = entry_hash(prev, at, actor_name, actor_id, action, object_type, str(object_id), detail, ip)
            entry = await AuditEntry.create(
                at=at,
                actor=actor_name[:64],
                actor_id=actor_id,
                action=action,
                object_type=object_type,
                object_id=str(object_id)[:64],
                detail=detail,
                ip=ip[:64],
                prev_hash=prev,
                hash=digest,
            )
            count = (last.id if last else 0) + 1
            self._write_head(entry.id, digest, count)
        log.debug("audit: %s by %s on %s %s", action, actor_name or "-", object_type, object_id)
        return entry

    def _write_head(self, last_id: int, digest: str, count: int) -> None:
        tmp = self._head_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"last_id": last_id, "hash": digest, "count": count}))
        os.replace(tmp, self._head_file)

    async def verify(self) -> VerifyResult:
        """Walk the whole chain and report the first entry that does not fit."""
        prev = GENESIS
        count = 0
        last: AuditEntry | None = None
        async for entry in _iterate():
            count += 1
            if entry.prev_hash != prev:
                return VerifyResult(False, count, entry.id, "inserted_or_deleted")
            expected = entry_hash(
                entry.prev_hash,
                entry.at,
                entry.actor,
                entry.actor_id,
                entry.action,
                entry.object_type,
                entry.object_id,
                entry.detail,
                entry.ip,
            )
            if expected != entry.hash:
                return VerifyResult(False, count, entry.id, "edited")
            prev = entry.hash
            last = entry
        head = self._read_head()
        if head is None:
            return VerifyResult(count == 0, count, None, "" if count == 0 else "head_missing")
        if last is None or head.get("hash") != last.hash:
            return VerifyResult(False, count, int(head.get("last_id", 0)) or None, "deleted_at_end")
        return VerifyResult(True, count)

    def _read_head(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self._head_file.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None


async def _iterate(batch: int = 500) -> Any:
    """Yield every entry in id order, a batch at a time."""
    after = 0
    while True:
        rows = await AuditEntry.filter(id__gt=after).order_by("id").limit(batch)
        if not rows:
            return
        for row in rows:
            yield row
        after = rows[-1].id
