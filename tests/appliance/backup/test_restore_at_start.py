"""A restore staged from the System page is applied when WardCam starts again, with the old state kept aside."""

from __future__ import annotations

from pathlib import Path

import httpx

from appliance.backup.archive import make_backup
from appliance.backup.restore import PREVIOUS, STAGED, stage_restore
from tests.harness.appliance import PASSWORD, start_appliance


def can_log_in(url: str, name: str) -> bool:
    response = httpx.post(f"{url}/api/auth/login", json={"username": name, "password": PASSWORD}, timeout=20)
    return response.status_code == 200


def test_the_staged_backup_replaces_the_database_at_the_next_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    running = start_appliance(data_dir)
    try:
        running.add_user("chu-tich", "admin")
        backup, _ = make_backup(data_dir, data_dir / "wardcam.db", "phuong 7")  # what "Download a backup" gives
        running.add_user("nguoi-moi", "viewer")  # made after the backup
        stage_restore(data_dir, backup, "phuong 7")  # what an upload on the System page does
        assert can_log_in(running.url, "nguoi-moi"), "nothing changes before the restart"
    finally:
        running.stop()

    running = start_appliance(data_dir)
    try:
        assert can_log_in(running.url, "chu-tich")
        assert not can_log_in(running.url, "nguoi-moi"), "the database should be the one in the backup"
        assert not (data_dir / STAGED).exists()
        assert (data_dir / PREVIOUS / "wardcam.db").is_file(), "the state before the restore is kept for a rollback"
        verified = running.cli("audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        running.stop()
