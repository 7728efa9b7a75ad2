"""Backups from the System page and on a schedule, and restores staged for the next start."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.backup.archive import Manifest, make_backup
from appliance.backup.errors import BackupRefused
from appliance.backup.restore import stage_restore, staged_manifest
from appliance.bus import BackupFailed, EventBus
from appliance.db.models.settings import Setting
from appliance.durable import write_durably
from appliance.settings import Settings

log = logging.getLogger(__name__)

SETTINGS_KEY = "backup"
LAST_KEY = "backup_last"
PASSPHRASE_FILE = "backup-passphrase"
PREFIX = "wardcam-backup-"
SUFFIX = ".wardcam"


class BackupSchedule(BaseModel):
    """Where and when scheduled backups are written, and how many are kept."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=False, title="backup.schedule.enabled")
    target: str = Field(default="", max_length=1024, title="backup.schedule.target",
                        description="backup.schedule.target_help")  # fmt: skip
    at: str = Field(default="02:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", title="backup.schedule.at")
    keep: int = Field(default=7, ge=1, le=365, title="backup.schedule.keep")


class LastRun(BaseModel):
    """The outcome of the latest scheduled backup."""

    at: datetime
    ok: bool
    file: str = ""
    error: str = ""  # a translation key


class BackupSettingsInvalid(Exception):
    """A schedule setting is not valid; `errors` maps each field to a translation key."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def backup_name(at: datetime) -> str:
    """Return the file name of a backup made at that time."""
    return f"{PREFIX}{at.astimezone(UTC):%Y%m%d-%H%M%S}{SUFFIX}"


def check_target(target: str, data_dir: Path) -> str | None:
    """Return why a folder cannot take backups (a translation key), or None when it can."""
    if not target.strip():
        return "backup.schedule.target_missing"
    path = Path(target)
    if not path.is_absolute() or not path.is_dir():
        return "backup.schedule.target_missing"
    if path.resolve().is_relative_to(data_dir.resolve()):
        return "backup.schedule.target_inside"
    if not os.access(path, os.W_OK | os.X_OK):
        return "backup.schedule.target_readonly"
    return None


def next_run(schedule: BackupSchedule, now: datetime) -> datetime:
    """Return the next local time HH:MM after now."""
    hour, minute = (int(x) for x in schedule.at.split(":"))
    local = now.astimezone()
    at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return at if at > local else at + timedelta(days=1)


class Backups:
    """Make backups, stage restores, and run the scheduled backups."""

    def __init__(
        self, settings: Settings, audit: AuditLog, bus: EventBus, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.audit = audit
        self.bus = bus
        self.schedule = BackupSchedule()
        self.last: LastRun | None = None

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def db_path(self) -> Path | None:
        """Return the SQLite file, or None on PostgreSQL (backed up on the database server)."""
        if self.settings.db_backend != "sqlite":
            return None
        return Path(self.settings.db_url.removeprefix("sqlite://"))

    # passphrase of scheduled backups: kept in the secrets folder, never shown -----------------

    @property
    def _passphrase_path(self) -> Path:
        return self.data_dir / "secrets" / PASSPHRASE_FILE

    def passphrase_set(self) -> bool:
        """Tell whether scheduled backups are encrypted (the passphrase itself is never shown)."""
        return self._passphrase_path.is_file()

    def set_passphrase(self, passphrase: str) -> None:
        """Store (or, when empty, remove) the passphrase of scheduled backups."""
        path = self._passphrase_path
        if not passphrase:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(passphrase)

    # by hand ------------------------------------------------------------------------------------

    async def create(self, who: Principal | None, passphrase: str = "", ip: str = "") -> tuple[bytes, str]:
        """Make a backup for download; return its bytes and file name."""
        blob, manifest = await asyncio.to_thread(make_backup, self.data_dir, self.db_path, passphrase)
        name = backup_name(datetime.fromisoformat(manifest.created_at))
        await self.audit.record("backup.created", who=who, object_type="backup", object_id=name, ip=ip,
                                detail={"encrypted": bool(passphrase), "bytes": len(blob)})  # fmt: skip
        log.info("backup made for download: %s (%d bytes)", name, len(blob))
        return blob, name

    async def restore(self, who: Principal | None, blob: bytes, passphrase: str = "", ip: str = "") -> Manifest:
        """Check an uploaded backup and stage it for the next start; a bad file raises BackupRefused."""
        try:
            manifest = await asyncio.to_thread(stage_restore, self.data_dir, blob, passphrase)
        except BackupRefused as exc:
            await self.audit.record("backup.restore_refused", who=who, object_type="backup", ip=ip,
                                    detail={"reason": exc.message_key, "detail": exc.detail})  # fmt: skip
            log.warning("restore refused: %s (%s)", exc.message_key, exc.detail)
            raise
        await self.audit.record("backup.restore_staged", who=who, object_type="backup", object_id=manifest.created_at,
                                ip=ip, detail={"wardcam_version": manifest.wardcam_version})  # fmt: skip
        return manifest

    def staged(self) -> Manifest | None:
        """Return the restore waiting for the next start, if any."""
        return staged_manifest(self.data_dir)

    # scheduled ----------------------------------------------------------------------------------

    async def load(self) -> BackupSchedule:
        """Read the stored schedule and the latest result."""
        row = await Setting.get_or_none(key=SETTINGS_KEY)
        try:
            self.schedule = BackupSchedule.model_validate(row.value if row else {})
        except ValidationError:
            log.warning("stored backup schedule is not valid; scheduled backups are off")
            self.schedule = BackupSchedule()
        last = await Setting.get_or_none(key=LAST_KEY)
        self.last = LastRun.model_validate(last.value) if last and last.value else None
        return self.schedule

    async def save(self, values: dict[str, Any], who: Principal | None = None, ip: str = "") -> BackupSchedule:
        """Validate and store the schedule; raise BackupSettingsInvalid with one key a field."""
        try:
            new = BackupSchedule.model_validate({**self.schedule.model_dump(), **values})
        except ValidationError as exc:
            raise BackupSettingsInvalid(
                {str(e["loc"][0]): f"backup.schedule.invalid_{e['loc'][0]}" for e in exc.errors()}
            ) from exc
        if new.enabled or new.target:
            problem = check_target(new.target, self.data_dir)
            if problem:
                raise BackupSettingsInvalid({"target": problem})
        await Setting.update_or_create(key=SETTINGS_KEY, defaults={"value": new.model_dump(mode="json")})
        self.schedule = new
        await self.audit.record("backup.schedule_changed", who=who, object_type="setting", object_id=SETTINGS_KEY,
                                ip=ip, detail=new.model_dump(mode="json"))  # fmt: skip
        return new

    async def run_scheduled(self) -> LastRun:
        """Write one backup to the target folder, prune the oldest, and remember the result."""
        now = self.clock()
        schedule = self.schedule
        problem = check_target(schedule.target, self.data_dir)
        result: LastRun
        if problem:
            result = LastRun(at=now, ok=False, error=problem)
        else:
            passphrase = self._passphrase_path.read_text(encoding="utf-8") if self.passphrase_set() else ""
            try:
                blob, _ = await asyncio.to_thread(make_backup, self.data_dir, self.db_path, passphrase)
                target = Path(schedule.target)
                name = backup_name(now)
                await asyncio.to_thread(write_durably, target / name, blob, ".part")
                await asyncio.to_thread(prune, target, schedule.keep)
                result = LastRun(at=now, ok=True, file=name)
            except OSError as exc:
                log.error("scheduled backup to %s failed: %s", schedule.target, exc)
                result = LastRun(at=now, ok=False, error="backup.schedule.write_failed")
        self.last = result
        await Setting.update_or_create(key=LAST_KEY, defaults={"value": result.model_dump(mode="json")})
        await self.audit.record("backup.scheduled", actor="system", object_type="backup", object_id=result.file,
                                detail=result.model_dump(mode="json"))  # fmt: skip
        if not result.ok:
            self.bus.publish(BackupFailed(target=schedule.target, reason=result.error))
        return result

    async def run(self) -> None:
        """Run the scheduled backups until cancelled."""
        await self.load()
        while True:
            if not self.schedule.enabled:
                await asyncio.sleep(60)
                continue
            due = next_run(self.schedule, datetime.now(UTC))
            wait = (due - datetime.now(UTC)).total_seconds()
            if wait > 60:  # look again each minute: the schedule may change
                await asyncio.sleep(60)
                continue
            await asyncio.sleep(max(wait, 0))
            try:
                await self.run_scheduled()
            except Exception:
                log.exception("scheduled backup failed")
            await asyncio.sleep(61)


def prune(target: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups in a folder (only WardCam's own files); return those deleted."""
    ours = sorted(p for p in target.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())
    old = ours[:-keep] if keep > 0 else ours
    for path in old:
        path.unlink()
    return old
