"""The updater: apply a checked package, confirm the new version, or roll back. Runs as root, outside the service.

On the image, wardcam-update.path starts wardcam-update.service (`python -m appliance.update run`, from the
version that is current at that moment) when the appliance leaves a request in DATA_DIR/update/, or when a
switched version still awaits confirmation after a power cut. Steps of an update, each shown on the System page:

1. check: the layout is the image's, a release key is installed, the signature and every file's hash hold
   (checked again here: the unprivileged appliance's own check is not trusted), the version is newer, the
   disk has room. Nothing has changed yet.
2. backup: the database and settings, with appliance.backup, to DATA_DIR/update/pre-update.wardcam.
3. install: a new venv in versions/<version>/ (see install.py), offline.
4. smoke: the new version's `--version`, then a trial start on a copy of the data until /healthz answers.
   Any failure so far deletes the new folder and leaves everything as it was.
5. switch: `previous` -> the running version, `current` -> the new one (atomic renames), pending.json written.
6. restart: `systemctl restart wardcam.service`.
7. confirm: the new version must answer /healthz with its version within health_timeout_s; then pending.json
   goes and versions older than the previous one are deleted. If it does not (crash loop, no answer, or the
   updater itself restarted more than max_boots times while waiting), the updater rolls back: the service
   stops, `current` goes back to the previous version, the pre-update backup is restored through the backup
   module's staged restore, and the service starts again.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from appliance.backup.archive import make_backup
from appliance.backup.restore import DB_NAME, DB_SIDE_FILES, apply_staged, stage_restore
from appliance.settings import Settings
from appliance.update.config import UpdateConfig
from appliance.update.errors import (
    InstallFailed,
    NoPrevious,
    NoSpace,
    NotAnUpdate,
    NotNewer,
    NotOnImage,
    SmokeCheckFailed,
    TooOld,
    UpdateBusy,
    UpdateRefused,
)
from appliance.update.install import answers, install_version, smoke_check
from appliance.update.layout import Layout, remove_tree
from appliance.update.package import CheckedPackage, check_package, trusted_keys
from appliance.update.state import Action, Outcome, Pending, Step, UpdateFiles, UpdateRequest, UpdateStatus
from appliance.update.version import newer, version_key

log = logging.getLogger(__name__)

POLL_S = 2.0


class ServiceControl(Protocol):
    """How the updater stops, starts and restarts the appliance's service."""

    def restart(self) -> None: ...

    def stop(self) -> None: ...

    def start(self) -> None: ...


class Systemd:
    """The appliance's systemd unit."""

    def __init__(self, unit: str) -> None:
        self.unit = unit

    def _ctl(self, verb: str) -> None:
        result = subprocess.run(
            ["systemctl", verb, self.unit], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            log.error("systemctl %s %s failed: %s", verb, self.unit, result.stderr.strip())

    def restart(self) -> None:
        self._ctl("restart")

    def stop(self) -> None:
        self._ctl("stop")

    def start(self) -> None:
        self._ctl("start")


def check_update(config: UpdateConfig, package: Path, installed: str, extract_to: Path | None = None) -> CheckedPackage:
    """Check a package for this appliance: trusted signature, every hash, newer than installed, the minimum version."""
    checked = check_package(
        package,
        trusted_keys(config.trusted_keys_dir),
        max_bytes=config.max_package_bytes,
        max_members=config.max_members,
        extract_to=extract_to,
    )
    manifest = checked.manifest
    try:
        if not newer(manifest.version, installed):
            raise NotNewer(f"{manifest.version} <= {installed}", version=manifest.version, installed=installed)
        if manifest.min_from_version and version_key(installed) < version_key(manifest.min_from_version):
            raise TooOld(
                f"{installed} < {manifest.min_from_version}", minimum=manifest.min_from_version, installed=installed
            )
    except ValueError as exc:
        raise NotAnUpdate(str(exc)) from exc
    return checked


class Runner:
    """Carry out the appliance's requests against one install root and data directory."""

    def __init__(
        self,
        config: UpdateConfig,
        settings: Settings,
        control: ServiceControl,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.settings = settings
        self.control = control
        self.sleep = sleep
        self.layout = Layout(config.install_root)
        self.files = UpdateFiles(settings.data_dir)
        self.staging = config.install_root / "staging"

    @property
    def db_path(self) -> Path | None:
        """Return the SQLite file; None on PostgreSQL (backed up on its server) or before the first start."""
        path = Path(self.settings.db_url.removeprefix("sqlite://"))
        return path if self.settings.db_backend == "sqlite" and path.is_file() else None

    def run(self) -> Outcome | None:
        """Handle the waiting request, or go on watching a version that awaits confirmation."""
        self.files.prepare()
        request = self.files.read_request()
        if request is not None:
            self.files.request.unlink(missing_ok=True)
            return self.apply(request) if request.action == "apply" else self.rollback(request.who, request.ip)
        self.files.request.unlink(missing_ok=True)  # an unreadable request is dropped
        pending = self.files.read_pending()
        return self.watch(pending) if pending is not None else None

    # --- apply -----------------------------------------------------------------------------------

    def apply(self, request: UpdateRequest) -> Outcome:
        """Check, back up, install, try and switch to the package in DATA_DIR/update/; then confirm or roll back."""
        from_version = self.layout.current_version() or ""
        to_version = ""
        install_s: float | None = None
        self._status("apply", "running", "check", from_version)
        try:
            try:
                if not self.layout.on_image():
                    raise NotOnImage(str(self.layout.current))
                if self.files.pending.exists():
                    raise UpdateBusy("a switched version awaits confirmation")
                shutil.rmtree(self.staging, ignore_errors=True)
                checked = check_update(self.config, self.files.incoming, from_version, self.staging / "wheels")
                to_version = checked.manifest.version
                self._check_space(self.files.incoming)
                self._status("apply", "running", "backup", from_version, to_version)
                self._backup()
                self._status("apply", "running", "install", from_version, to_version)
                new = self.layout.version_dir(to_version)
                install_s = install_version(self.layout.current, new, self.staging / "wheels")
                self._status("apply", "running", "smoke", from_version, to_version)
                try:
                    smoke_check(
                        new,
                        to_version,
                        self.settings.data_dir,
                        self.db_path,
                        self.staging / "trial",
                        self.config.smoke_timeout_s,
                    )
                except SmokeCheckFailed:
                    remove_tree(new)
                    raise
            finally:
                shutil.rmtree(self.staging, ignore_errors=True)
                self.files.incoming.unlink(missing_ok=True)
        except UpdateRefused as exc:
            return self._refused("apply", exc, request, from_version, to_version, install_s)
        except OSError as exc:
            log.exception("update to %s failed", to_version or "?")
            return self._refused("apply", InstallFailed(str(exc)), request, from_version, to_version, install_s)
        pending = Pending(from_version=from_version, to_version=to_version, who=request.who, ip=request.ip)
        self._status("apply", "running", "switch", from_version, to_version)
        self.files.write(self.files.pending, pending)
        self.layout.point(self.layout.previous, from_version)
        self.layout.point(self.layout.current, to_version)
        log.warning("switched from %s to %s (installed in %.1f s); restarting", from_version, to_version, install_s)
        self._status("apply", "running", "restart", from_version, to_version)
        self.control.restart()
        return self.watch(pending, install_s)

    def _check_space(self, package: Path) -> None:
        need = self.config.min_free_bytes + 3 * package.stat().st_size
        free = shutil.disk_usage(self.config.install_root).free
        if free < need:
            raise NoSpace(f"{free} bytes free, {need} needed")
        db = self.db_path
        if db is not None and db.is_file() and shutil.disk_usage(self.settings.data_dir).free < 3 * db.stat().st_size:
            raise NoSpace("no room for the backup and the trial copy of the database")

    def _backup(self) -> None:
        blob, _ = make_backup(self.settings.data_dir, self.db_path)
        tmp = self.files.backup.with_name(self.files.backup.name + ".part")
        tmp.write_bytes(blob)
        tmp.chmod(0o600)
        self.files.own(tmp)
        tmp.replace(self.files.backup)

    # --- confirm or roll back --------------------------------------------------------------------

    def watch(self, pending: Pending, install_s: float | None = None) -> Outcome:
        """Wait for the switched version to answer /healthz; confirm it, or roll back."""
        pending.starts += 1
        self.files.write(self.files.pending, pending)
        if pending.starts > self.config.max_boots:
            log.error("%s was not confirmed after %d starts of the updater", pending.to_version, pending.starts - 1)
            return self._roll_back(pending.who, pending.ip, "update.error.unhealthy")
        self._status("apply", "running", "confirm", pending.from_version, pending.to_version)
        deadline = time.monotonic() + self.config.health_timeout_s
        while time.monotonic() < deadline:
            if answers(self.config.health_url, pending.to_version):
                return self._confirm(pending, install_s)
            self.sleep(POLL_S)
        log.error("%s did not answer /healthz within %.0f s", pending.to_version, self.config.health_timeout_s)
        return self._roll_back(pending.who, pending.ip, "update.error.unhealthy")

    def _confirm(self, pending: Pending, install_s: float | None) -> Outcome:
        self.files.pending.unlink(missing_ok=True)
        self.layout.prune()
        self._status("apply", "succeeded", "done", pending.from_version, pending.to_version)
        outcome = Outcome(
            action="apply",
            outcome="succeeded",
            who=pending.who,
            ip=pending.ip,
            from_version=pending.from_version,
            to_version=pending.to_version,
            install_s=install_s,
        )
        self.files.add_outcome(outcome)
        log.warning("update to %s confirmed", pending.to_version)
        return outcome

    def rollback(self, who: str, ip: str = "") -> Outcome:
        """Go back to the previous version and the database as it was before the update (an admin's request)."""
        try:
            if not self.layout.on_image():
                raise NotOnImage(str(self.layout.current))
            if self.layout.previous_version() is None:
                raise NoPrevious()
        except UpdateRefused as exc:
            return self._refused(
                "rollback",
                exc,
                UpdateRequest(action="rollback", who=who, ip=ip),
                self.layout.current_version() or "",
                "",
                None,
            )
        return self._roll_back(who, ip, "")

    def _roll_back(self, who: str, ip: str, reason: str) -> Outcome:
        failed = self.layout.current_version() or ""
        previous = self.layout.previous_version()
        if previous is None:
            self.files.pending.unlink(missing_ok=True)
            return self._refused(
                "rollback", NoPrevious(), UpdateRequest(action="rollback", who=who, ip=ip), failed, "", None
            )
        self._status("rollback", "running", "rollback", failed, previous)
        self.control.stop()
        self.layout.point(self.layout.current, previous)
        self.layout.point(self.layout.previous, None)
        restored = self._restore_backup()
        self.files.pending.unlink(missing_ok=True)
        self.control.start()
        if failed and failed != previous:
            remove_tree(self.layout.version_dir(failed))
        self._status("rollback", "rolled_back", "done", failed, previous, reason)
        outcome = Outcome(
            action="rollback",
            outcome="rolled_back",
            who=who,
            ip=ip,
            from_version=failed,
            to_version=previous,
            reason=reason,
            detail="database restored" if restored else "no pre-update backup",
        )
        self.files.add_outcome(outcome)
        log.warning("rolled back from %s to %s%s", failed, previous, " (database restored)" if restored else "")
        return outcome

    def _restore_backup(self) -> bool:
        """Put the pre-update backup back while the service is stopped (the backup module's staged restore)."""
        if not self.files.backup.is_file():
            return False
        data_dir = self.settings.data_dir
        stage_restore(data_dir, self.files.backup.read_bytes())
        apply_staged(data_dir)
        for name in ("secrets", "addons", "restore-previous", DB_NAME, *(DB_NAME + s for s in DB_SIDE_FILES)):
            self._own_tree(data_dir / name)
        return True

    def _own_tree(self, path: Path) -> None:
        if not path.exists():
            return
        self.files.own(path)
        if path.is_dir() and not path.is_symlink():
            for child in path.rglob("*"):
                self.files.own(child)

    # --- status and outcomes ---------------------------------------------------------------------

    def _status(
        self, action: Action, state: str, step: Step, from_version: str, to_version: str = "", error: str = ""
    ) -> None:
        status = UpdateStatus.model_validate(
            {
                "action": action,
                "state": state,
                "step": step,
                "error": error,
                "from_version": from_version,
                "to_version": to_version,
            }
        )
        self.files.write(self.files.status, status)

    def _refused(
        self,
        action: Action,
        exc: UpdateRefused,
        request: UpdateRequest,
        from_version: str,
        to_version: str,
        install_s: float | None,
    ) -> Outcome:
        failed = isinstance(exc, InstallFailed | SmokeCheckFailed)
        kind = "failed" if failed else "refused"
        log.warning("%s %s: %s (%s)", action, kind, exc.message_key, exc.detail)
        self._status(action, kind, "done", from_version, to_version, exc.message_key)
        outcome = Outcome.model_validate(
            {
                "action": action,
                "outcome": kind,
                "who": request.who,
                "ip": request.ip,
                "from_version": from_version,
                "to_version": to_version,
                "reason": exc.message_key,
                "detail": exc.detail,
                "install_s": install_s,
            }
        )
        self.files.add_outcome(outcome)
        return outcome
