"""A rollback restores only the backup of the update it undoes, never leaves WardCam stopped, and an
unexpected error during an update is an outcome like any other.

`ServedAppliance` (conftest) stands for systemd's wardcam.service, which this sandbox lacks: it runs the
real `python -m appliance serve` from INSTALL_ROOT/current, or records the calls where a test says so.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from appliance.audit import AuditLog
from appliance.auth.accounts import Accounts
from appliance.db.connection import close_database, open_database
from appliance.db.models.users import Role
from appliance.i18n import t
from appliance.update.package import write_package
from appliance.update.runner import Runner
from appliance.update.state import Outcome
from tests.appliance.update.conftest import (
    NEW,
    PASSWORD,
    Installed,
    Packages,
    ServedAppliance,
    broken_wheel,
    load_key,
    never_answering,
)
from tests.appliance.update.test_apply import _wait, usernames


def backups_of(installed: Installed) -> list[str]:
    return sorted(p.name for p in (installed.root / "backups").iterdir())


async def run_updater(installed: Installed, service: ServedAppliance) -> Outcome | None:
    """Run the root updater as systemd would, with WardCam's database closed meanwhile (it stops WardCam)."""
    await close_database()
    try:
        return Runner(installed.config, installed.settings, service, sleep=lambda s: None).run()
    finally:
        await open_database(installed.settings.db_url)


async def test_a_rollback_after_a_failed_later_update_restores_the_backup_of_the_update_it_undoes(
    installed: Installed, packages: Packages, service: ServedAppliance, tmp_path: Path
) -> None:
    service.start()
    # 0.1.0 -> 0.1.1 succeeds
    await installed.updates().submit(installed.admin, Path(shutil.copy(packages.good, tmp_path / "a.wardcam-update")))
    first = Runner(installed.config, installed.settings, service).run()
    assert first is not None and first.outcome == "succeeded", first
    # the admin adds a user on 0.1.1
    await Accounts(AuditLog(installed.data_dir / "secrets" / "audit-head.json")).create_user(
        None, "added-on-011", PASSWORD, Role.VIEWER
    )
    # 0.1.1 -> 0.1.2 fails (a release that does not start); its backup, with the new user, was taken
    wheel = broken_wheel(packages.wheel, tmp_path / "broken")
    later = wheel.rename(wheel.with_name("wardcam-0.1.2-py3-none-any.whl"))
    upload = tmp_path / "b.wardcam-update"
    write_package(upload, "0.1.2", [later], key=load_key(packages.release_key))
    await installed.updates().submit(installed.admin, upload)
    second = Runner(installed.config, installed.settings, service).run()
    assert second is not None and second.outcome == "failed", second
    assert backups_of(installed) == ["pre-update.json", "pre-update.wardcam"]  # the failed attempt's is gone
    assert sorted(p.name for p in installed.layout.versions.iterdir()) == ["0.1.0", NEW]

    # the admin rolls back to 0.1.0
    await installed.updates().request_rollback(installed.admin)
    await close_database()
    outcome = Runner(installed.config, installed.settings, service).run()

    assert outcome is not None, outcome
    assert (outcome.outcome, outcome.from_version, outcome.to_version) == ("rolled_back", NEW, "0.1.0")
    assert outcome.detail == "database restored"
    assert usernames(installed.data_dir / "wardcam.db") == ["admin"]  # as before 0.1.0 -> 0.1.1, not 0.1.1's
    assert await _wait(lambda: service.answers("0.1.0"))
    await open_database(installed.settings.db_url)


async def test_a_rollback_with_a_backup_of_another_update_brings_back_the_code_only_and_says_so(
    installed: Installed, packages: Packages, tmp_path: Path
) -> None:
    """The backup on disk belongs to another update (here: the note says 0.0.9 -> 0.1.0): it is not restored."""

    def backup_of_another_update_and_a_new_user() -> None:
        note = installed.root / "backups" / "pre-update.json"
        note.write_text(note.read_text().replace('"from_version":"0.1.0"', '"from_version":"0.0.9"'))
        add_user(installed.data_dir / "wardcam.db", "added-after-the-switch")

    service = never_answering(installed, backup_of_another_update_and_a_new_user)
    await installed.updates().submit(installed.admin, Path(shutil.copy(packages.good, tmp_path / "u.wardcam-update")))
    outcome = await run_updater(installed, service)

    assert outcome is not None and outcome.outcome == "rolled_back", outcome
    assert outcome.detail.startswith("code only: the pre-update backup belongs to the update from 0.0.9 to")
    assert usernames(installed.data_dir / "wardcam.db") == ["added-after-the-switch", "admin"]  # kept
    assert installed.layout.current_version() == "0.1.0"
    assert service.calls == ["restart", "stop", "start"]
    status = installed.updates().files.read_status()
    assert status is not None and status.state == "rolled_back_code_only"
    shown = t(f"update.state.{status.state}", from_version=NEW, to_version="0.1.0", error="")
    assert "Cơ sở dữ liệu được giữ nguyên" in shown


async def test_a_rollback_whose_restore_fails_still_starts_the_service_and_says_why(
    installed: Installed, packages: Packages, tmp_path: Path
) -> None:
    def damage_the_backup() -> None:
        backup = installed.root / "backups" / "pre-update.wardcam"
        data = bytearray(backup.read_bytes())
        data[len(data) // 2] ^= 0xFF
        backup.write_bytes(bytes(data))

    service = never_answering(installed, damage_the_backup)  # and the pre-update backup is damaged meanwhile
    await installed.updates().submit(installed.admin, Path(shutil.copy(packages.good, tmp_path / "u.wardcam-update")))
    outcome = await run_updater(installed, service)

    assert outcome is not None, outcome
    assert (outcome.action, outcome.outcome, outcome.reason) == ("rollback", "failed", "update.error.restore")
    assert service.calls == ["restart", "stop", "start"]  # started again although the restore failed
    assert installed.layout.current_version() == "0.1.0"
    status = installed.updates().files.read_status()
    assert status is not None and (status.state, status.error) == ("rollback_failed", "update.error.restore")
    assert "không khôi phục được cơ sở dữ liệu" in t(status.error)
    assert "could not be restored" in t(status.error, "en")
    assert not installed.updates().busy()
    assert await installed.updates().record_outcomes() == 1


async def test_a_rollback_that_cannot_switch_the_versions_back_starts_the_service_says_so_and_retries(
    installed: Installed, packages: Packages, tmp_path: Path
) -> None:
    blocker = installed.layout.current.with_name(f".{installed.layout.current.name}.tmp")

    def put_something_in_the_way() -> None:  # a folder where the updater makes its new link
        blocker.mkdir()
        (blocker / "left-over").write_text("in the way")

    service = never_answering(installed, put_something_in_the_way, starts_wardcam=False)
    await installed.updates().submit(installed.admin, Path(shutil.copy(packages.good, tmp_path / "u.wardcam-update")))
    outcome = await run_updater(installed, service)

    assert outcome is not None, outcome
    assert (outcome.action, outcome.outcome, outcome.reason) == ("rollback", "failed", "update.error.switch_back")
    assert service.calls == ["restart", "stop", "start"]  # never left stopped
    assert installed.layout.current_version() == NEW  # the newer version still runs, and is still there
    assert installed.layout.version_dir(NEW).is_dir()
    status = installed.updates().files.read_status()
    assert status is not None and (status.state, status.error) == ("failed", "update.error.switch_back")
    shown = t("update.state.rollback_not_done", error="", from_version=NEW, to_version="0.1.0")
    assert "Chưa quay lại được phiên bản 0.1.0" in shown
    assert installed.updates().files.pending.exists()  # still undecided: no new upload until it is

    # the updater's next start (at boot), with the way clear: the rollback happens
    shutil.rmtree(blocker)
    again = await run_updater(installed, service)
    assert again is not None and (again.action, again.outcome) == ("rollback", "rolled_back"), again
    assert installed.layout.current_version() == "0.1.0"
    assert not installed.updates().busy()
    assert await installed.updates().record_outcomes() == 2


async def test_an_unexpected_error_during_an_update_is_recorded_as_failed_and_leaves_no_new_version(
    installed: Installed, packages: Packages, service: ServedAppliance, tmp_path: Path
) -> None:
    """The running version's pyvenv.cfg lost its interpreter lines (a damaged disk): cloning it raises KeyError."""
    cfg = installed.layout.version_dir("0.1.0") / "pyvenv.cfg"
    cfg.write_text("".join(line for line in cfg.read_text().splitlines(True) if not line.startswith(("home", "exec"))))
    await installed.updates().submit(installed.admin, Path(shutil.copy(packages.good, tmp_path / "u.wardcam-update")))
    before = installed.snapshot()

    outcome = Runner(installed.config, installed.settings, service).run()

    assert outcome is not None
    assert (outcome.outcome, outcome.reason) == ("failed", "update.error.failed"), outcome
    assert "KeyError" in outcome.detail
    assert installed.snapshot() == before
    assert not installed.layout.version_dir(NEW).exists()
    assert backups_of(installed) == []  # the attempt's backup is gone with it
    assert not (installed.root / "staging").exists()
    assert not installed.updates().busy()  # the System page no longer says "updating"
    assert service.calls == []
    assert await installed.updates().record_outcomes() == 1


def add_user(db: Path, name: str) -> None:
    """Add a row as any later change would (the new version writing its database)."""
    con = sqlite3.connect(db)
    with con:
        columns = [r[1] for r in con.execute("PRAGMA table_info(user)")]
        values = con.execute(f"SELECT {', '.join(columns)} FROM user LIMIT 1").fetchone()
        copied = dict(zip(columns, values, strict=True))
        copied.update(id=None, username=name)
        con.execute(
            f"INSERT INTO user ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
            list(copied.values()),
        )
    con.close()
