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

from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from appliance.auth.principal import Principal
from appliance.db.models.audit import AuditEntry

log = logging.getLogger(__name__)

WRITE_ATTEMPTS = 6
ADVISORY_LOCK_KEY = 0x57A2DCA0  # any constant shared by every WardCam process

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


def audit_log_for(data_dir: Path) -> AuditLog:
    """Return the audit log of the appliance with this data folder (its chain head lives in secrets/)."""
    return AuditLog(data_dir / "secrets" / "audit-head.json")


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
        """Append one entry to the chain; safe against other processes writing at the same time."""
        detail = detail or {}
        actor_name = who.username if who else actor
        actor_id = who.user_id if who else None
        for attempt in range(WRITE_ATTEMPTS):
            try:
                async with self._lock:
                    entry = await self._append(action, actor_name, actor_id, object_type, str(object_id), detail, ip)
                    self._write_head(entry.id, entry.hash)  # only once the entry is committed
                log.debug("audit: %s by %s on %s %s", action, actor_name or "-", object_type, object_id)
                return entry
            except OperationalError as exc:  # SQLite: another process holds the write lock
                if attempt == WRITE_ATTEMPTS - 1 or "locked" not in str(exc).lower():
                    raise
                await asyncio.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    async def _append(
        self, action: str, actor: str, actor_id: int | None, object_type: str, object_id: str,
        detail: dict[str, Any], ip: str,
    ) -> AuditEntry:  # fmt: skip
        async with in_transaction() as conn:
            if conn.capabilities.dialect == "postgres":
                # one writer at a time across every process that shares the database
                await conn.execute_query(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
            last = await AuditEntry.all().using_db(conn).order_by("-id").first()
            prev = last.hash if last else GENESIS
            at = datetime.now(UTC)
            digest = entry_hash(prev, at, actor, actor_id, action, object_type, object_id, detail, ip)
            return await AuditEntry.create(
                at=at, actor=actor[:64], actor_id=actor_id, action=action, object_type=object_type,
                object_id=object_id[:64], detail=detail, ip=ip[:64], prev_hash=prev, hash=digest, using_db=conn,
            )  # fmt: skip

    def _write_head(self, last_id: int, digest: str) -> None:
        tmp = self._head_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"last_id": last_id, "hash": digest}))
        os.replace(tmp, self._head_file)

    async def verify(self) -> VerifyResult:
        """Walk the whole chain and report the first entry that does not fit."""
        head = self._read_head()
        head_hash = head.get("hash") if head else None
        head_seen = False
        prev = GENESIS
        count = 0
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
            head_seen = head_seen or entry.hash == head_hash
        if head is None:
            return VerifyResult(count == 0, count, None, "" if count == 0 else "head_missing")
        if not head_seen:
            # The newest entry this appliance wrote is gone. (Entries after it are fine: another
            # process sharing the database may have written them, chained to it.)
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
