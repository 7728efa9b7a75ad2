"""Updates as the running appliance sees them: what is installed, an admin's upload or rollback, the audit.

The appliance runs unprivileged and never changes /opt/wardcam itself. It checks an uploaded package in
full (so the admin reads at once why a bad one is refused), then hands it to the updater through
DATA_DIR/update/ (see state.py and runner.py). Every attempt is audited: the refusal or the request here,
and the updater's outcome (succeeded, failed, rolled back) as soon as the running appliance finds it.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from appliance import __version__
from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.settings import Settings
from appliance.update.config import UpdateConfig
from appliance.update.errors import NoPrevious, NotOnImage, UpdateBusy, UpdateRefused
from appliance.update.layout import Layout
from appliance.update.package import UpdateManifest
from appliance.update.runner import check_update
from appliance.update.state import Action, Step, UpdateFiles, UpdateRequest, UpdateStatus, now

log = logging.getLogger(__name__)

WATCH_S = 3.0
STALE_S = 3600.0  # a status still "running" after an hour belongs to an updater that died


@dataclass(frozen=True)
class UpdateInfo:
    """What the System page shows."""

    installed: str
    on_image: bool
    previous: str | None
    status: UpdateStatus | None
    busy: bool


class Updates:
    """The running appliance's side of updates."""

    def __init__(self, settings: Settings, audit: AuditLog, config: UpdateConfig | None = None) -> None:
        self.settings = settings
        self.audit = audit
        self.config = config or UpdateConfig()
        self.layout = Layout(self.config.install_root)
        self.files = UpdateFiles(settings.data_dir)

    def info(self) -> UpdateInfo:
        """Return the installed version, the one kept for rollback, and the updater's latest status."""
        return UpdateInfo(
            __version__, self.layout.on_image(), self.layout.previous_version(), self.files.read_status(), self.busy()
        )

    def busy(self) -> bool:
        """Tell whether an update or rollback is asked for or under way."""
        if self.files.request.exists() or self.files.pending.exists():
            return True
        status = self.files.read_status()
        if status is None or status.state != "running":
            return False
        return (now() - status.at).total_seconds() < STALE_S

    async def submit(self, who: Principal, package: Path, ip: str = "") -> UpdateManifest:
        """Check an uploaded package and hand it to the updater; a bad one raises UpdateRefused, audited."""
        to_version = ""
        try:
            if self.busy():
                raise UpdateBusy()
            checked = await asyncio.to_thread(check_update, self.config, package, __version__)
            to_version = checked.manifest.version
            if not self.layout.on_image():
                raise NotOnImage(str(self.layout.current), version=to_version)
            try:
                self.files.prepare()
                await asyncio.to_thread(shutil.move, package, self.files.incoming)
            except OSError as exc:  # a full or read-only disk: nothing handed over
                self.files.incoming.unlink(missing_ok=True)
                raise UpdateRefused(f"hand-over: {exc}") from exc
        except UpdateRefused as exc:
            to_version = to_version or exc.params.get("version", "")
            await self.audit.record(
                "update.refused",
                who=who,
                object_type="update",
                object_id=to_version,
                ip=ip,
                detail={"from": __version__, "to": to_version, "reason": exc.message_key, "detail": exc.detail},
            )
            log.warning("update package refused: %s (%s)", exc.message_key, exc.detail)
            raise
        await self._hand_over(who, ip, "apply", to_version, {"key": checked.key_fingerprint})
        log.warning("update to %s requested by %s", to_version, who.username)
        return checked.manifest

    async def request_rollback(self, who: Principal, ip: str = "") -> str:
        """Ask the updater to go back to the previous version; return that version."""
        previous = self.layout.previous_version()
        try:
            if not self.layout.on_image():
                raise NotOnImage(str(self.layout.current))
            if previous is None:
                raise NoPrevious()
            if self.busy():
                raise UpdateBusy()
        except UpdateRefused as exc:
            await self.audit.record(
                "update.rollback_refused",
                who=who,
                object_type="update",
                ip=ip,
                detail={"from": __version__, "reason": exc.message_key},
            )
            raise
        await self._hand_over(who, ip, "rollback", previous)
        return previous

    async def _hand_over(
        self, who: Principal, ip: str, action: Action, to_version: str, detail: dict[str, str] | None = None
    ) -> None:
        """Leave the request for the updater (its status shown at once), and audit it."""
        self.files.prepare()
        step: Step = "check" if action == "apply" else "rollback"
        status = UpdateStatus(
            action=action, state="running", step=step, from_version=__version__, to_version=to_version
        )
        self.files.write(self.files.status, status)
        self.files.write(self.files.request, UpdateRequest(action=action, who=who.username, ip=ip))
        name = "update.requested" if action == "apply" else "update.rollback_requested"
        await self.audit.record(
            name,
            who=who,
            object_type="update",
            object_id=to_version,
            ip=ip,
            detail={"from": __version__, "to": to_version, **(detail or {})},
        )

    async def record_outcomes(self) -> int:
        """Write the updater's results into the audit log, each once (taken by a rename first); return how many."""
        recorded = 0
        for path, outcome in await asyncio.to_thread(self.files.read_outcomes):
            taken = path.with_suffix(".taken")
            try:
                path.rename(taken)
            except FileNotFoundError:  # another appliance process took it
                continue
            detail = {
                "action": outcome.action,
                "from": outcome.from_version,
                "to": outcome.to_version,
                "reason": outcome.reason,
                "detail": outcome.detail,
                "install_s": outcome.install_s,
                "at": outcome.at.isoformat(),
            }
            try:
                await self.audit.record(
                    f"update.{outcome.outcome}",
                    actor=outcome.who,
                    object_type="update",
                    object_id=outcome.to_version,
                    ip=outcome.ip,
                    detail=detail,
                )
            except BaseException:
                taken.rename(path)
                raise
            taken.unlink(missing_ok=True)
            recorded += 1
        return recorded

    async def watch(self) -> None:
        """Audit the updater's results as they appear, until cancelled."""
        while True:
            try:
                await self.record_outcomes()
            except Exception:
                log.exception("could not record the update outcomes")
            await asyncio.sleep(WATCH_S)
