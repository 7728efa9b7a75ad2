"""The files through which the appliance and the updater talk, in DATA_DIR/update/.

The appliance runs unprivileged and cannot write /opt/wardcam; the updater (wardcam-update.service, as
root) can. They share only this folder:

    request.json               the appliance asks: apply incoming.wardcam-update, or roll back (who, from IP)
    incoming.wardcam-update    the uploaded package, already checked once by the appliance
    status.json                the updater's current step, for the System page
    pending.json               a switched version waiting to answer /healthz (with a start counter)
    pre-update.wardcam         the backup taken before the switch, restored by a rollback
    outcomes/*.json            each attempt's result, written into the audit log by the running appliance
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

UPDATE_DIR = "update"
REQUEST = "request.json"
INCOMING = "incoming.wardcam-update"
STATUS = "status.json"
PENDING = "pending.json"
BACKUP = "pre-update.wardcam"
OUTCOMES = "outcomes"

M = TypeVar("M", bound=BaseModel)

Action = Literal["apply", "rollback"]
Step = Literal["check", "backup", "install", "smoke", "switch", "restart", "confirm", "rollback", "done"]
STEPS: tuple[Step, ...] = ("check", "backup", "install", "smoke", "switch", "restart", "confirm")


def now() -> datetime:
    """Return the time now, in UTC."""
    return datetime.now(UTC)


class UpdateRequest(BaseModel):
    """What an admin asked for on the System page."""

    action: Action
    who: str
    ip: str = ""
    at: datetime = Field(default_factory=now)


class UpdateStatus(BaseModel):
    """Where the updater is, for the System page."""

    action: Action
    state: Literal["running", "succeeded", "refused", "failed", "rolled_back"]
    step: Step
    from_version: str = ""
    to_version: str = ""
    error: str = ""  # a translation key
    at: datetime = Field(default_factory=now)


class Pending(BaseModel):
    """A version switched to that has not yet answered /healthz."""

    from_version: str
    to_version: str
    who: str
    ip: str = ""
    switched_at: datetime = Field(default_factory=now)
    starts: int = 0  # how often the updater has started watching it (a power cut restarts the wait)


class Outcome(BaseModel):
    """One attempt's result, for the audit log."""

    action: Action
    outcome: Literal["succeeded", "refused", "failed", "rolled_back"]
    who: str
    ip: str = ""
    from_version: str = ""
    to_version: str = ""
    reason: str = ""  # a translation key
    detail: str = ""
    install_s: float | None = None
    at: datetime = Field(default_factory=now)


class UpdateFiles:
    """The update folder inside one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.dir = data_dir / UPDATE_DIR
        self.request = self.dir / REQUEST
        self.incoming = self.dir / INCOMING
        self.status = self.dir / STATUS
        self.pending = self.dir / PENDING
        self.backup = self.dir / BACKUP
        self.outcomes = self.dir / OUTCOMES

    def prepare(self) -> None:
        """Create the folder, owned like the data directory (the appliance must be able to write it)."""
        self.dir.mkdir(mode=0o750, exist_ok=True)
        self.outcomes.mkdir(mode=0o750, exist_ok=True)
        for path in (self.dir, self.outcomes):
            self.own(path)

    def own(self, path: Path) -> None:
        """Give a file the data directory's owner, so that the unprivileged appliance can use it."""
        st = self.data_dir.stat()
        if os.geteuid() == 0 and (path.stat().st_uid, path.stat().st_gid) != (st.st_uid, st.st_gid):
            os.chown(path, st.st_uid, st.st_gid, follow_symlinks=False)

    def write(self, path: Path, model: BaseModel) -> None:
        """Write a model as JSON, atomically (a temporary file renamed over the old one)."""
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(model.model_dump_json(indent=2))
            f.flush()
            os.fsync(f.fileno())
        self.own(tmp)
        tmp.replace(path)

    def read_request(self) -> UpdateRequest | None:
        """Return the waiting request, if any (an unreadable one is dropped)."""
        return _read(self.request, UpdateRequest)

    def read_status(self) -> UpdateStatus | None:
        """Return the updater's latest status, if any."""
        return _read(self.status, UpdateStatus)

    def read_pending(self) -> Pending | None:
        """Return the version waiting for confirmation, if any."""
        return _read(self.pending, Pending)

    def add_outcome(self, outcome: Outcome) -> None:
        """Leave an attempt's result for the appliance's audit log."""
        self.outcomes.mkdir(mode=0o750, exist_ok=True)
        self.write(self.outcomes / f"{outcome.at:%Y%m%dT%H%M%S%f}.json", outcome)

    def read_outcomes(self) -> list[tuple[Path, Outcome]]:
        """Return the results not yet audited, oldest first."""
        found = []
        for path in sorted(self.outcomes.glob("*.json")) if self.outcomes.is_dir() else []:
            outcome = _read(path, Outcome)
            if outcome is not None:
                found.append((path, outcome))
        return found


def _read(path: Path, model: type[M]) -> M | None:
    try:
        return model.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, ValidationError):
        return None
