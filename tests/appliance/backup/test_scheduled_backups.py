"""An admin points scheduled backups at a second disk: they are written, pruned, and a failure is told."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.audit import AuditLog
from appliance.auth.accounts import Accounts
from appliance.backup.archive import read_backup
from appliance.backup.errors import WrongPassphrase
from appliance.backup.service import Backups, BackupSettingsInvalid
from appliance.bus import BackupFailed, EventBus
from appliance.db.models.audit import AuditEntry
from appliance.db.models.users import Role
from appliance.settings import Settings


@pytest.fixture
async def backups(db: Path) -> Backups:
    settings = Settings(data_dir=db, database_url=f"sqlite://{db / 'wardcam.db'}")
    service = Backups(settings, AuditLog(db / "audit-head.json"), EventBus())
    await service.load()
    return service


async def test_a_folder_inside_the_data_directory_or_missing_is_refused(backups: Backups, db: Path) -> None:
    (db / "inside").mkdir()
    for target, key in [(str(db / "inside"), "backup.schedule.target_inside"),
                        ("/no/such/disk", "backup.schedule.target_missing"),
                        ("relative/folder", "backup.schedule.target_missing")]:  # fmt: skip
        with pytest.raises(BackupSettingsInvalid) as refused:
            await backups.save({"enabled": True, "target": target})
        assert refused.value.errors == {"target": key}
    with pytest.raises(BackupSettingsInvalid) as refused:
        await backups.save({"at": "25:00"})
    assert refused.value.errors == {"at": "backup.schedule.invalid_at"}
    assert not backups.schedule.enabled


async def test_scheduled_backups_are_encrypted_pruned_and_a_failure_is_published(
    backups: Backups, accounts: Accounts, tmp_path_factory: pytest.TempPathFactory
) -> None:
    await accounts.create_user(None, "chu-tich", "mat-khau-dai-du-12", Role.ADMIN)
    second_disk = tmp_path_factory.mktemp("second-disk")
    (second_disk / "holiday-photos.jpg").write_bytes(b"not ours")
    await backups.save({"enabled": True, "target": str(second_disk), "at": "03:15", "keep": 2})
    backups.set_passphrase("ward seven")
    assert backups.passphrase_set()

    names = []
    for night in (1, 2, 3):
        backups.clock = lambda night=night: datetime(2026, 11, night, 3, 15, tzinfo=UTC)
        result = await backups.run_scheduled()
        assert result.ok, result
        names.append(result.file)
    assert names[0] == "wardcam-backup-20261101-031500.wardcam"
    kept = sorted(p.name for p in second_disk.iterdir())
    assert kept == sorted([*names[1:], "holiday-photos.jpg"])  # the oldest went; others' files stay
    newest = (second_disk / names[-1]).read_bytes()
    with pytest.raises(WrongPassphrase):
        read_backup(newest)
    assert "database/wardcam.db" in read_backup(newest, "ward seven").members

    failures: list[BackupFailed] = []
    backups.bus.subscribe(BackupFailed, failures.append)
    second_disk.rename(second_disk.with_name(second_disk.name + "-unplugged"))
    result = await backups.run_scheduled()
    await backups.bus.drain()
    assert not result.ok and result.error == "backup.schedule.target_missing"
    assert [f.reason for f in failures] == ["backup.schedule.target_missing"]
    await backups.load()
    assert backups.last == result
    assert await AuditEntry.filter(action="backup.scheduled").count() == 4
