"""The appliance's user (wardcam) controls DATA_DIR; the updater runs as root. What that user plants there
must not make root write, read or delete anything outside it.

This suite runs as root and can create no users, so the data directory here belongs to root and the
updater's as-owner child (appliance/update/owner.py) runs without switching users; it is the same child
process, arguments and pipes as on the box, where it runs as wardcam.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

from appliance.update.owner import backup_as_owner
from appliance.update.runner import Runner
from tests.appliance.update.conftest import Installed, Packages, ServedAppliance


def outside_folder(tmp_path: Path) -> tuple[Path, Path]:
    """A folder of root's with one file in it, which no planted link may change."""
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim"
    victim.write_text("root's file\n")
    return outside, victim


def contents(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


async def test_links_planted_in_the_update_folder_do_not_make_the_updater_write_or_read_outside_it(
    installed: Installed, packages: Packages, service: ServedAppliance, tmp_path: Path
) -> None:
    outside, victim = outside_folder(tmp_path)
    before = contents(outside)
    update = installed.data_dir / "update"
    installed.updates().files.prepare()
    (update / "request.json").write_text('{"action": "apply", "who": "admin"}')
    (update / ".status.json.tmp").symlink_to(victim)  # root's temporary file would land on the victim
    (update / ".pending.json.tmp").symlink_to(victim)
    shutil.rmtree(update / "outcomes")
    (update / "outcomes").symlink_to(outside)  # root's outcome would land in the outside folder
    (update / "incoming.wardcam-update").symlink_to(packages.good)  # a package root may read, wardcam not

    outcome = Runner(installed.config, installed.settings, service).run()

    assert outcome is not None
    assert (outcome.outcome, outcome.reason) == ("refused", "update.error.not_package")  # the link is not followed
    assert contents(outside) == before
    assert not (update / "outcomes").is_symlink() and len(list((update / "outcomes").glob("*.json"))) == 1
    assert (update / "status.json").is_file() and not (update / "status.json").is_symlink()
    assert not (update / "incoming.wardcam-update").exists() and not (update / "incoming.wardcam-update").is_symlink()
    assert packages.good.is_file()
    assert service.calls == []


async def test_an_update_folder_replaced_by_a_link_is_made_again_and_nothing_lands_where_it_pointed(
    installed: Installed, service: ServedAppliance, tmp_path: Path
) -> None:
    outside, _victim = outside_folder(tmp_path)
    (outside / "request.json").write_text('{"action": "rollback", "who": "admin"}')
    before = contents(outside)
    shutil.rmtree(installed.data_dir / "update", ignore_errors=True)
    (installed.data_dir / "update").symlink_to(outside)

    outcome = Runner(installed.config, installed.settings, service).run()

    assert outcome is None  # the request behind the link is not read: the folder was made again, empty
    assert contents(outside) == before
    update = installed.data_dir / "update"
    assert update.is_dir() and not update.is_symlink()
    assert sorted(p.name for p in update.iterdir()) == ["outcomes"]


async def test_a_linked_folder_in_the_settings_is_not_copied_into_the_updaters_backup(
    installed: Installed, tmp_path: Path
) -> None:
    """addons/ replaced by a link to a folder of root's, and links in secrets/: the backup (restored later into
    wardcam's folder, where wardcam could read it) follows none of them."""
    root_only = tmp_path / "root-only"
    root_only.mkdir(mode=0o700)
    (root_only / "shadow").write_text("root:$6$secret\n")
    addons = installed.data_dir / "addons"
    shutil.rmtree(addons, ignore_errors=True)
    addons.symlink_to(root_only)
    secrets = installed.data_dir / "secrets"
    (secrets / "leak").symlink_to(root_only)
    (secrets / "leaked-file").symlink_to(root_only / "shadow")

    blob = backup_as_owner(installed.data_dir, installed.data_dir / "wardcam.db")

    with zipfile.ZipFile(io.BytesIO(blob)) as backup:
        names = backup.namelist()
        assert "database/wardcam.db" in names and "secrets/audit-head.json" in names
        assert not [n for n in names if "leak" in n or n.startswith("addons/")]
        assert not any(b"$6$secret" in backup.read(n) for n in names)


async def test_a_link_planted_as_the_restore_folder_does_not_make_the_rollback_write_outside(
    installed: Installed, packages: Packages, tmp_path: Path
) -> None:
    """While the new version runs, wardcam plants restore-staged.tmp and restore-staged as links; then it rolls back."""
    outside, victim = outside_folder(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    class PlantsLinksAfterRestart(ServedAppliance):
        def restart(self) -> None:  # the new version never answers; meanwhile its process plants the links
            self.calls.append("restart")
            (installed.data_dir / "restore-staged.tmp").symlink_to(outside)
            (installed.data_dir / "restore-staged").symlink_to(elsewhere)
            (installed.data_dir / "restore-previous").symlink_to(elsewhere)

    service = PlantsLinksAfterRestart(installed)
    installed.config.health_url = service.health_url
    installed.config.health_timeout_s = 3
    before = contents(outside)
    upload = Path(shutil.copy(packages.good, tmp_path / "upload.wardcam-update"))
    await installed.updates().submit(installed.admin, upload)

    outcome = Runner(installed.config, installed.settings, service, sleep=lambda s: None).run()

    assert outcome is not None and (outcome.outcome, outcome.detail) == ("rolled_back", "database restored"), outcome
    assert contents(outside) == before and victim.read_text() == "root's file\n"
    assert list(elsewhere.iterdir()) == []
    for name in ("restore-staged.tmp", "restore-staged"):
        assert not (installed.data_dir / name).is_symlink() and not (installed.data_dir / name).exists()
    assert (installed.data_dir / "restore-previous").is_dir() and not (
        installed.data_dir / "restore-previous"
    ).is_symlink()
    assert service.calls == ["restart", "stop", "start"]


async def test_a_hard_link_left_as_the_incoming_package_is_not_installed(
    installed: Installed, packages: Packages, service: ServedAppliance, tmp_path: Path
) -> None:
    """A second name of a file wardcam did not write (where the kernel allows such a link) is not read."""
    roots = Path(shutil.copy(packages.good, tmp_path / "roots.wardcam-update"))
    update = installed.data_dir / "update"
    installed.updates().files.prepare()
    (update / "incoming.wardcam-update").hardlink_to(roots)
    (update / "request.json").write_text('{"action": "apply", "who": "admin"}')
    before = installed.snapshot()

    outcome = Runner(installed.config, installed.settings, service).run()

    assert outcome is not None
    assert (outcome.outcome, outcome.reason) == ("refused", "update.error.not_package")
    assert installed.snapshot() == before
    assert service.calls == []


async def test_version_names_planted_in_the_updaters_files_never_become_paths_for_root(
    installed: Installed, service: ServedAppliance, tmp_path: Path
) -> None:
    """pending.json and status.json are wardcam's files: a "version" that is a path is not obeyed."""
    outside, victim = outside_folder(tmp_path)
    planted = installed.data_dir / "venv"  # wardcam's own "version", which root would then run
    (planted / "bin").mkdir(parents=True)
    (planted / "bin" / "python").write_text("#!/bin/sh\ntouch /tmp/owned\n")
    update = installed.data_dir / "update"
    installed.updates().files.prepare()
    (update / "pending.json").write_text(f'{{"from_version": "{planted}", "to_version": "{planted}", "who": "admin"}}')

    outcome = Runner(installed.config, installed.settings, service).run()  # the path unit starts it at once

    assert outcome is not None and (outcome.outcome, outcome.reason) == ("failed", "update.error.install"), outcome
    assert installed.layout.current_version() == "0.1.0" and installed.layout.previous_version() is None
    assert not (update / "pending.json").exists()
    assert service.calls == []

    for action in ("apply", "rollback"):  # an attempt "stopped half-way" whose versions name root's folder
        (update / "status.json").write_text(
            f'{{"action": "{action}", "state": "running", "step": "install", "from_version": "{outside}",'
            f' "to_version": "{outside}", "who": "admin"}}'
        )
        outcome = Runner(installed.config, installed.settings, service).run()  # wardcam-update.service at boot
        assert outcome is not None and outcome.reason == "update.error.interrupted", outcome
        assert victim.read_text() == "root's file\n"
    assert installed.layout.current_version() == "0.1.0"
    assert sorted(p.name for p in installed.layout.versions.iterdir()) == ["0.1.0"]
