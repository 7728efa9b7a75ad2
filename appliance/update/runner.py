"""The updater: apply a checked package, confirm the new version, or roll back. Runs as root, outside the service.

On the image, wardcam-update.path starts wardcam-update.service (`python -m appliance.update run`, from the
version that is current at that moment) when the appliance leaves a request in DATA_DIR/update/, or when a
switched version still awaits confirmation after a power cut. Steps of an update, each shown on the System page:

1. check: the layout is the image's, a release key is installed, the signature and every file's hash hold
   (checked again here: the unprivileged appliance's own check is not trusted), the version is newer, the
   disk has room. Nothing has changed yet.
2. backup: the database and settings, with appliance.backup, read by the data directory's owner in a child
   process (owner.py; root never opens the data directory) into INSTALL_ROOT/backups/ (root's, 0700), under
   a name of this attempt's. It becomes THE pre-update backup only at the switch, with a note of the update
   it belongs to (from and to version); a refused or failed attempt deletes it.
3. install: a new venv in versions/<version>/ (see install.py), offline.
4. smoke: the new version's `--version`, then a trial start on a copy of the data until /healthz answers.
   Any failure so far deletes the new folder and leaves everything as it was.
5. switch: `previous` -> the running version, pending.json written, `current` -> the new one (atomic renames).
6. restart: `systemctl restart wardcam.service`.
7. confirm: the new version must answer /healthz with its version within health_timeout_s; then pending.json
   goes and versions older than the previous one are deleted. If it does not (crash loop, no answer, or the
   updater itself restarted more than max_boots times while waiting), the updater rolls back: the service
   stops, `current` goes back to the previous version, the pre-update backup is restored through the backup
   module's staged restore (as the data directory's owner, in a child process) when it belongs to exactly
   this update (from the previous version to the current one; else only the code goes back, and the
   outcome says so), and the service starts again, whatever the restore did.
   A power cut during step 5 (pending.json written, `current` not yet switched) is finished at the next start:
   the links are pointed as step 5 meant, the service restarted, and step 7 follows.

Any unexpected error before the switch is an outcome too ("failed"), and the new version's folder goes.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from appliance.durable import fsync_dir
from appliance.settings import Settings
from appliance.update.config import UpdateConfig
from appliance.update.errors import (
    BackupFailed,
    InstallFailed,
    NoPrevious,
    NoSpace,
    NotAnUpdate,
    NotNewer,
    NotOnImage,
    RestoreFailed,
    SmokeCheckFailed,
    TooOld,
    UnexpectedFailure,
    UpdateBusy,
    UpdateRefused,
)
from appliance.update.install import answers, install_version, smoke_check
from appliance.update.layout import Layout, remove_tree
from appliance.update.owner import OwnerStepFailed, backup_as_owner, restore_as_owner
from appliance.update.package import CheckedPackage, check_package, trusted_keys
from appliance.update.state import (
    Action,
    BackupOf,
    Outcome,
    Pending,
    Step,
    UpdateFiles,
    UpdateRequest,
    UpdateStatus,
)
from appliance.update.version import newer, version_key

log = logging.getLogger(__name__)

POLL_S = 2.0
BACKUPS = "backups"  # under the install root: root's only
BACKUP = "pre-update.wardcam"  # the backup a rollback of the latest update restores
BACKUP_OF = "pre-update.json"  # which update it belongs to
ATTEMPT = "attempt.wardcam"  # the backup of an update under way, kept only if it is switched to
ATTEMPT_OF = "attempt.json"
LEGACY_BACKUP = "pre-update.wardcam"  # where earlier updaters kept the backup: DATA_DIR/update/
FAILED_KINDS = (InstallFailed, SmokeCheckFailed, BackupFailed, RestoreFailed, UnexpectedFailure)


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
        try:
            result = subprocess.run(
                ["systemctl", verb, self.unit], capture_output=True, text=True, timeout=120, check=False
            )
        except subprocess.TimeoutExpired:  # at boot a start waits for the network (up to 2 min): it goes on
            log.error("systemctl %s %s did not return within 120 s", verb, self.unit)
            return
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
        self.backups = config.install_root / BACKUPS
        self._who = ""  # who asked for the attempt under way, written into each status
        self._ip = ""

    @property
    def db_path(self) -> Path | None:
        """Return the SQLite file; None on PostgreSQL (backed up on its server) or before the first start."""
        path = Path(self.settings.db_url.removeprefix("sqlite://"))
        return path if self.settings.db_backend == "sqlite" and path.is_file() else None

    def run(self) -> Outcome | None:
        """Handle the waiting request, or go on watching a version that awaits confirmation."""
        self.files.prepare()
        self.files.remove(self.files.dir / LEGACY_BACKUP)  # wardcam could write it: never restored, only deleted
        request = self.files.read_request()
        self.files.remove(self.files.request)  # an unreadable request is dropped
        if request is not None:
            self._who, self._ip = request.who, request.ip
            return self.apply(request) if request.action == "apply" else self.rollback(request.who, request.ip)
        status = self.files.read_status()
        if status is not None and status.state == "running" and status.action == "rollback":
            return self._resume_rollback(status)  # a rollback that a power cut or a kill stopped
        pending = self.files.read_pending()
        if pending is not None:
            self._who, self._ip = pending.who, pending.ip
            return self.watch(pending)
        return self._interrupted(status)

    def _resume_rollback(self, status: UpdateStatus) -> Outcome | None:
        """Finish a rollback that was stopped half-way: every step of it can be done again.

        The versions come from the status file, which the appliance could have written: they must name
        installed versions (Layout checks the names), and the backup is restored only if root's own note
        says it belongs to exactly that update. Otherwise the attempt is recorded as interrupted.
        """
        self._who, self._ip = status.who, status.ip
        failed, previous = status.from_version, status.to_version
        try:
            self.layout.version_dir(failed)
            usable = previous != failed and (self.layout.version_dir(previous) / "bin" / "python").exists()
        except ValueError:
            usable = False
        if not usable:
            return self._interrupted(status)
        log.warning("the rollback from %s to %s was stopped half-way: finishing it", failed, previous)
        return self._switch_back(failed, previous, self._who, self._ip, status.error)

    def _interrupted(self, status: UpdateStatus | None) -> Outcome | None:
        """Record an attempt that the updater did not live to finish (its status still says "running").

        wardcam-update.service also runs at every boot for this. A power cut or a kill before the switch
        leaves no pending.json (a cut after it is taken on by watch() above): the attempt's staging, backup
        and new version folder are deleted and the running version stays. A rollback cut off may have
        stopped WardCam, so it is started. Either way the outcome is "failed" with update.error.interrupted,
        and the System page says the attempt was stopped half-way; the admin can try again.
        """
        if status is None or status.state != "running":
            return None
        log.error("the updater was stopped during %s at step %s; recording it as interrupted", status.action,
                  status.step)  # fmt: skip
        self._who, self._ip = status.who, status.ip
        shutil.rmtree(self.staging, ignore_errors=True)
        self.files.remove(self.files.incoming)
        if status.action == "apply":
            try:
                self._drop_attempt(status.to_version)
            except ValueError:  # not a version name (the status file is the appliance's): nothing to delete
                log.error("the interrupted update's version %r is not a version name", status.to_version)
            if self.layout.previous_version() == self.layout.current_version():  # cut right after `previous`
                self.layout.point(self.layout.previous, None)
        else:
            self.control.start()
        key = "update.error.interrupted"
        self._status(status.action, "interrupted", "done", status.from_version, status.to_version, key)
        return self._record(
            status.action, "failed", status.who, status.ip, status.from_version, status.to_version, key,
            f"stopped at step {status.step}",
        )  # fmt: skip

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
                package = self._take_package()
                checked = check_update(self.config, package, from_version, self.staging / "wheels")
                to_version = checked.manifest.version
                self._check_space(package)
                self._status("apply", "running", "backup", from_version, to_version)
                self._backup(BackupOf(from_version=from_version, to_version=to_version))
                self._status("apply", "running", "install", from_version, to_version)
                install_s = install_version(
                    self.layout.current, self.layout.version_dir(to_version), self.staging / "wheels"
                )
                self._status("apply", "running", "smoke", from_version, to_version)
                smoke_check(
                    self.layout.version_dir(to_version),
                    to_version,
                    self.settings.data_dir,
                    self.db_path,
                    self.staging / "trial",
                    self.config.smoke_timeout_s,
                )
            finally:
                shutil.rmtree(self.staging, ignore_errors=True)
                self.files.remove(self.files.incoming)
        except Exception as exc:
            self._drop_attempt(to_version)
            if isinstance(exc, UpdateRefused):
                refusal = exc
            else:
                log.exception("update to %s failed", to_version or "?")
                refusal = InstallFailed(str(exc)) if isinstance(exc, OSError) else UnexpectedFailure(repr(exc))
            return self._refused("apply", refusal, request, from_version, to_version, install_s)
        pending = Pending(from_version=from_version, to_version=to_version, who=request.who, ip=request.ip)
        self._status("apply", "running", "switch", from_version, to_version)
        self._keep_attempt()
        # `previous` first: once pending.json exists, the updater at boot runs `previous` (the version known
        # to work), which must be this one, the one that knows how to finish an interrupted switch
        self.layout.point(self.layout.previous, from_version)
        self.files.write(self.files.pending, pending)
        self.layout.point(self.layout.current, to_version)
        log.warning("switched from %s to %s (installed in %.1f s); restarting", from_version, to_version, install_s)
        self._status("apply", "running", "restart", from_version, to_version)
        self.control.restart()
        return self.watch(pending, install_s)

    def _take_package(self) -> Path:
        """Copy the incoming package (a plain file, never through a link) into root's staging folder; return it."""
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir(mode=0o755, parents=True)
        copy = self.staging / "package.wardcam-update"
        try:
            self.files.copy_out(self.files.incoming, copy, self.config.max_package_bytes)
        except FileNotFoundError as exc:
            raise NotAnUpdate("no package handed over") from exc
        except OSError as exc:
            raise NotAnUpdate(f"incoming package unreadable: {exc}") from exc
        return copy

    def _drop_attempt(self, to_version: str) -> None:
        """Delete what a refused or failed attempt left: its backup, and its version folder if not in use."""
        for name in (ATTEMPT, ATTEMPT_OF):
            (self.backups / name).unlink(missing_ok=True)
        in_use = {self.layout.current_version(), self.layout.previous_version()}
        if to_version and to_version not in in_use:
            remove_tree(self.layout.version_dir(to_version))

    def _check_space(self, package: Path) -> None:
        need = self.config.min_free_bytes + 3 * package.stat().st_size
        free = shutil.disk_usage(self.config.install_root).free
        if free < need:
            raise NoSpace(f"{free} bytes free, {need} needed")
        db = self.db_path
        if db is not None and db.is_file() and shutil.disk_usage(self.settings.data_dir).free < 3 * db.stat().st_size:
            raise NoSpace("no room for the backup and the trial copy of the database")

    def _backup(self, belongs_to: BackupOf) -> None:
        """Back up the database and settings (read as their owner) to this attempt's file in root's folder."""
        try:
            blob = backup_as_owner(self.settings.data_dir, self.db_path)
        except OwnerStepFailed as exc:
            raise BackupFailed(str(exc)) from exc
        folder = self._backups_folder()
        _write_new(folder / ATTEMPT, blob)
        _write_new(folder / ATTEMPT_OF, belongs_to.model_dump_json().encode())

    def _backups_folder(self) -> Path:
        """Return INSTALL_ROOT/backups, made root's only (0700)."""
        self.backups.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.backups, 0o700)
        return self.backups

    def _keep_attempt(self) -> None:
        """Make this attempt's backup THE pre-update backup (at the switch; its note last, so a cut keeps none)."""
        (self.backups / BACKUP_OF).unlink(missing_ok=True)
        os.replace(self.backups / ATTEMPT, self.backups / BACKUP)
        os.replace(self.backups / ATTEMPT_OF, self.backups / BACKUP_OF)
        fsync_dir(self.backups)

    def backup_of(self) -> BackupOf | None:
        """Return which update the pre-update backup belongs to, if there is one."""
        try:
            return BackupOf.model_validate_json((self.backups / BACKUP_OF).read_bytes())
        except (OSError, ValueError):
            return None

    # --- confirm or roll back --------------------------------------------------------------------

    def watch(self, pending: Pending, install_s: float | None = None) -> Outcome:
        """Wait for the switched version to answer /healthz; confirm it, or roll back."""
        if self.layout.current_version() != pending.to_version:
            given_up = self._finish_switch(pending)
            if given_up is not None:
                return given_up
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

    def _finish_switch(self, pending: Pending) -> Outcome | None:
        """Finish a switch that a power cut stopped half-way: pending.json written, `current` not yet repointed.

        The new version was installed and passed its trial before pending.json was written, so the switch is
        made again as the update meant it and the service restarted on the new version; the wait that follows
        confirms it or rolls it back as usual. Rolling back from here instead would take the version `current`
        still names (the one the update started from) for the failed one, and go back to an even older one.
        If the new version's folder is gone, the update is given up: the running version stays.
        """
        try:
            installed = (self.layout.version_dir(pending.to_version) / "bin" / "python").exists()
            self.layout.version_dir(pending.from_version)
        except ValueError:  # pending.json is the appliance's file: a name that is not a version is not obeyed
            installed = False
        if not installed:
            log.error(
                "the switch to %s was interrupted and its folder is gone; staying on %s",
                pending.to_version,
                self.layout.current_version(),
            )
            self.files.remove(self.files.pending)
            request = UpdateRequest(action="apply", who=pending.who, ip=pending.ip)
            gone = InstallFailed(f"the switch to {pending.to_version} was interrupted and its folder is gone")
            return self._refused("apply", gone, request, pending.from_version, pending.to_version, None)
        log.warning(
            "the switch from %s to %s was interrupted (power cut?): finishing it",
            pending.from_version,
            pending.to_version,
        )
        self._status("apply", "running", "switch", pending.from_version, pending.to_version)
        self.layout.point(self.layout.previous, pending.from_version)
        self.layout.point(self.layout.current, pending.to_version)
        self._status("apply", "running", "restart", pending.from_version, pending.to_version)
        self.control.restart()
        return None

    def _confirm(self, pending: Pending, install_s: float | None) -> Outcome:
        self.files.remove(self.files.pending)
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
        self.layout.prune()  # last: a cut while deleting leaves old folders for the next prune, not an outcome
        return outcome

    def rollback(self, who: str, ip: str = "") -> Outcome:
        """Go back to the previous version and the database as it was before the update (an admin's request)."""
        self._who, self._ip = who, ip
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
            self.files.remove(self.files.pending)
            return self._refused(
                "rollback", NoPrevious(), UpdateRequest(action="rollback", who=who, ip=ip), failed, "", None
            )
        return self._switch_back(failed, previous, who, ip, reason)

    def _switch_back(self, failed: str, previous: str, who: str, ip: str, reason: str) -> Outcome:
        """Stop WardCam, point `current` back at the previous version, restore the backup, start WardCam.

        Each step can be done again: a rollback stopped half-way (status "running") is finished this way.
        """
        self._status("rollback", "running", "rollback", failed, previous, reason)
        self.control.stop()
        restored: bool | RestoreFailed = False
        try:
            try:
                self.layout.point(self.layout.current, previous)
                self.layout.point(self.layout.previous, None)
            except OSError as exc:  # something in the way of the links: nothing switched back
                log.exception("rollback to %s: the version links could not be switched", previous)
                return self._switch_back_failed(who, ip, failed, previous, exc)
            self.files.remove(self.files.pending)
            try:
                restored = self._restore_backup(failed, previous)
            except Exception as exc:  # the code is back; the database stays as the newer version left it
                log.exception("rollback to %s: the pre-update backup could not be restored", previous)
                restored = RestoreFailed(str(exc))
        finally:
            self.control.start()  # whatever happened: never leave WardCam stopped
        if isinstance(restored, RestoreFailed):
            self._status("rollback", "rollback_failed", "done", failed, previous, restored.message_key)
            outcome = self._record(
                "rollback", "failed", who, ip, failed, previous, restored.message_key, restored.detail
            )
        else:
            state = "rolled_back" if restored else "rolled_back_code_only"
            self._status("rollback", state, "done", failed, previous, reason)
            detail = "database restored" if restored else self._why_not_restored(failed, previous)
            log.warning("rolled back from %s to %s (%s)", failed, previous, detail)
            outcome = self._record("rollback", "rolled_back", who, ip, failed, previous, reason, detail)
        if failed and failed != previous and failed != self.layout.current_version():
            remove_tree(self.layout.version_dir(failed))  # last: a cut here leaves a folder for the next prune
        return outcome

    def _switch_back_failed(self, who: str, ip: str, failed: str, previous: str, exc: OSError) -> Outcome:
        """Say that the rollback did not happen: the newer version stays current, and its folder stays too.

        A pending switch stays pending, so the updater's next start (at boot) tries the rollback again.
        """
        key = "update.error.switch_back"
        self._status("rollback", "failed", "done", failed, previous, key)
        return self._record("rollback", "failed", who, ip, failed, previous, key, str(exc))

    def _restore_backup(self, failed: str, previous: str) -> bool:
        """Put the pre-update backup of exactly this update back (as the data's owner) while the service is stopped."""
        belongs_to = self.backup_of()
        backup = self.backups / BACKUP
        if belongs_to is None or not backup.is_file():
            return False
        if (belongs_to.from_version, belongs_to.to_version) != (previous, failed):
            return False
        try:
            restore_as_owner(self.settings.data_dir, backup.read_bytes())
        except OwnerStepFailed as exc:
            raise RestoreFailed(str(exc)) from exc
        return True

    def _why_not_restored(self, failed: str, previous: str) -> str:
        belongs_to = self.backup_of()
        if belongs_to is None or not (self.backups / BACKUP).is_file():
            return "code only: no pre-update backup"
        return (
            f"code only: the pre-update backup belongs to the update from {belongs_to.from_version} to "
            f"{belongs_to.to_version}, not from {previous} to {failed}"
        )

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
                "who": self._who,
                "ip": self._ip,
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
        kind = "failed" if isinstance(exc, FAILED_KINDS) else "refused"
        log.warning("%s %s: %s (%s)", action, kind, exc.message_key, exc.detail)
        self._status(action, kind, "done", from_version, to_version, exc.message_key)
        return self._record(
            action, kind, request.who, request.ip, from_version, to_version, exc.message_key, exc.detail, install_s
        )

    def _record(
        self,
        action: Action,
        kind: str,
        who: str,
        ip: str,
        from_version: str,
        to_version: str,
        reason: str,
        detail: str,
        install_s: float | None = None,
    ) -> Outcome:
        """Leave an attempt's outcome for the audit log."""
        outcome = Outcome.model_validate(
            {
                "action": action,
                "outcome": kind,
                "who": who,
                "ip": ip,
                "from_version": from_version,
                "to_version": to_version,
                "reason": reason,
                "detail": detail,
                "install_s": install_s,
            }
        )
        self.files.add_outcome(outcome)
        return outcome


def _write_new(path: Path, data: bytes) -> None:
    """Write a root-only file: a fresh file (a leftover is removed first), fsynced."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
