"""An admin updates WardCam from a signed package; a version that does not start is never used or is rolled back.

Each test plays both sides as on the box: the running appliance checks the upload and hands it over
(Updates.submit, in this process), and the updater (Runner, root's wardcam-update.service on the box)
installs it, tries it, switches and restarts the service, which here is a real `python -m appliance serve`
run from INSTALL_ROOT/current.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

from appliance.db.connection import close_database, open_database
from appliance.db.models.audit import AuditEntry
from appliance.update.package import write_package
from appliance.update.runner import Runner
from tests.appliance.update.conftest import (
    NEW,
    Installed,
    Packages,
    ServedAppliance,
    broken_wheel,
    load_key,
    never_answering,
)
from tests.web.conftest import eventually


def usernames(db: Path) -> list[str]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return sorted(row[0] for row in con.execute("SELECT username FROM user"))
    finally:
        con.close()


async def test_an_admin_updates_to_a_newer_version_and_can_roll_back(
    installed: Installed, packages: Packages, service: ServedAppliance, tmp_path: Path
) -> None:
    service.start()  # 0.1.0 serving, as wardcam.service would be
    upload = Path(shutil.copy(packages.good, tmp_path / "upload.wardcam-update"))
    manifest = await installed.updates().submit(installed.admin, upload, "127.0.0.1")
    assert manifest.version == NEW
    assert (installed.data_dir / "update" / "request.json").is_file()
    (installed.data_dir / "update" / "pre-update.wardcam").write_bytes(b"left by an earlier updater")

    outcome = Runner(installed.config, installed.settings, service).run()

    assert outcome is not None and outcome.outcome == "succeeded", outcome
    layout = installed.layout
    assert (layout.current_version(), layout.previous_version()) == (NEW, "0.1.0")
    assert sorted(p.name for p in layout.versions.iterdir()) == ["0.1.0", NEW]
    assert service.calls == ["start", "restart"] and service.answers(NEW)
    new_python = layout.version_dir(NEW) / "bin" / "python"
    said = await asyncio.to_thread(
        subprocess.run,
        [str(new_python), "-I", "-c", "import appliance; print(appliance.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert said.stdout.startswith(str(layout.version_dir(NEW)))  # the wheel's code, not this checkout
    assert outcome.install_s is not None and outcome.install_s < 60
    assert (installed.root / "backups" / "pre-update.wardcam").is_file()  # root's, not in the data folder
    assert not (installed.data_dir / "update" / "pre-update.wardcam").exists()
    assert not (installed.data_dir / "update" / "pending.json").exists()

    await installed.updates().record_outcomes()  # unless the new version, already serving, took it first

    async def audited() -> list[tuple[str, str, str, str]]:
        entries = await AuditEntry.filter(action__startswith="update.").order_by("id")
        return [(e.action, e.actor, e.detail["from"], e.detail["to"]) for e in entries]

    await eventually(
        audited, [("update.requested", "admin", "0.1.0", NEW), ("update.succeeded", "admin", "0.1.0", NEW)], 30
    )

    # later the admin rolls back from the System page
    previous = await installed.updates().request_rollback(installed.admin, "127.0.0.1")
    assert previous == "0.1.0"
    await close_database()  # the updater stops the service before it restores the database

    outcome = Runner(installed.config, installed.settings, service).run()

    assert outcome is not None and (outcome.outcome, outcome.to_version) == ("rolled_back", "0.1.0"), outcome
    assert (layout.current_version(), layout.previous_version()) == ("0.1.0", None)
    assert sorted(p.name for p in layout.versions.iterdir()) == ["0.1.0"]
    assert service.calls[-2:] == ["stop", "start"]
    assert await _wait(lambda: service.answers("0.1.0"))
    await open_database(installed.settings.db_url)  # the database as it was before the update, plus the outcome:

    async def rolled_back() -> list[tuple[str, str]]:  # audited by the restarted 0.1.0
        return [(e.actor, e.detail["to"]) for e in await AuditEntry.filter(action="update.rolled_back")]

    await eventually(rolled_back, [("admin", "0.1.0")], 60)


async def test_a_version_that_fails_its_trial_start_is_not_used(
    installed: Installed, packages: Packages, service: ServedAppliance, tmp_path: Path
) -> None:
    broken = broken_wheel(packages.wheel, tmp_path / "broken")
    upload = tmp_path / "upload.wardcam-update"
    write_package(upload, NEW, [broken], key=load_key(packages.release_key))  # properly signed, but it crashes
    await installed.updates().submit(installed.admin, upload)
    before = installed.snapshot()

    outcome = Runner(installed.config, installed.settings, service).run()

    assert outcome is not None and (outcome.outcome, outcome.reason) == ("failed", "update.error.smoke"), outcome
    assert installed.snapshot() == before  # current, versions, database and settings as they were
    assert service.calls == []  # never restarted
    assert not (installed.root / "staging").exists()
    await installed.updates().record_outcomes()
    entry = await AuditEntry.filter(action="update.failed").get()
    assert (entry.actor, entry.detail["from"], entry.detail["to"]) == ("admin", "0.1.0", NEW)


async def test_a_new_version_that_never_answers_is_rolled_back_with_the_database_as_before(
    installed: Installed, packages: Packages, tmp_path: Path
) -> None:
    def half_migrate() -> None:  # the new version's migration damages the database
        con = sqlite3.connect(installed.data_dir / "wardcam.db")
        with con:
            con.execute("DELETE FROM user")
            con.execute("CREATE TABLE half_migrated (id INTEGER)")
        con.close()

    service = never_answering(installed, half_migrate)
    db = installed.data_dir / "wardcam.db"
    users_before = usernames(db)
    upload = Path(shutil.copy(packages.good, tmp_path / "upload.wardcam-update"))
    await installed.updates().submit(installed.admin, upload)
    await close_database()  # the database is the service's; here the test only reads it with sqlite3

    try:
        outcome = Runner(installed.config, installed.settings, service, sleep=lambda s: None).run()

        assert outcome is not None, outcome
        assert (outcome.outcome, outcome.reason) == ("rolled_back", "update.error.unhealthy"), outcome
        assert (outcome.from_version, outcome.to_version) == (NEW, "0.1.0")
        assert service.calls == ["restart", "stop", "start"]
        layout = installed.layout
        assert os.readlink(layout.current) == "versions/0.1.0" and not layout.previous.exists()
        assert sorted(p.name for p in layout.versions.iterdir()) == ["0.1.0"]
        assert usernames(db) == users_before == ["admin"]
        con = sqlite3.connect(db)
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        con.close()
        assert "half_migrated" not in tables
        assert (installed.data_dir / "restore-previous" / "wardcam.db").is_file()  # the damaged one, kept aside
    finally:
        service.stop()  # the rollback started 0.1.0 again
        await open_database(installed.settings.db_url)


async def _wait(check: Callable[[], bool], within_s: float = 60) -> bool:
    deadline = asyncio.get_running_loop().time() + within_s
    while not await asyncio.to_thread(check):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True
