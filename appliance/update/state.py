"""The files through which the appliance and the updater talk, in DATA_DIR/update/.

The appliance runs unprivileged and cannot write /opt/wardcam; the updater (wardcam-update.service, as
root) can. They share only this folder:

    request.json               the appliance asks: apply incoming.wardcam-update, or roll back (who, from IP)
    incoming.wardcam-update    the uploaded package, already checked once by the appliance
    status.json                the updater's current step, for the System page
    pending.json               a switched version waiting to answer /healthz (with a start counter)
    outcomes/*.json            each attempt's result, written into the audit log by the running appliance

The folder belongs to the appliance's user, so root must not trust any name in it: every file root
creates, renames, reads or deletes here is reached through a descriptor of the folder opened with
O_NOFOLLOW (a symlink or a file planted in place of the folder is removed and the folder made again),
created with O_EXCL|O_NOFOLLOW, given its owner with fchown, renamed relative to that descriptor, and
the folder is fsynced after each rename (so that a power cut keeps it). The pre-update backup is not
here: it is root's (INSTALL_ROOT/backups/, see runner.py).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

UPDATE_DIR = "update"
REQUEST = "request.json"
INCOMING = "incoming.wardcam-update"
STATUS = "status.json"
PENDING = "pending.json"
OUTCOMES = "outcomes"
MAX_JSON_BYTES = 1024**2

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
    state: Literal[
        "running",
        "succeeded",
        "refused",
        "failed",
        "rolled_back",
        "rolled_back_code_only",
        "rollback_failed",
        "interrupted",  # the updater was stopped (a power cut, a kill) before the attempt ended
    ]
    step: Step
    from_version: str = ""
    to_version: str = ""
    error: str = ""  # a translation key
    who: str = ""  # who asked (for the outcome of an attempt the updater did not live to record)
    ip: str = ""
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


class BackupOf(BaseModel):
    """Which update a pre-update backup was taken for: it is restored only when rolling back that update."""

    from_version: str
    to_version: str
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
        self.outcomes = self.dir / OUTCOMES

    def prepare(self) -> None:
        """Create the folder and outcomes/, owned like the data directory (the appliance must be able to write it)."""
        with self.folder(OUTCOMES):
            pass

    @contextmanager
    def folder(self, *parts: str) -> Iterator[int]:
        """Open DATA_DIR/update (or a folder in it) without following links, made again if need be; yield its fd."""
        opened = [os.open(self.data_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)]
        try:
            for name in (UPDATE_DIR, *parts):
                opened.append(self._subfolder(opened[-1], name))
            yield opened[-1]
        finally:
            for fd in opened:
                os.close(fd)

    def _subfolder(self, parent: int, name: str) -> int:
        for _ in range(5):
            try:
                fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
            except FileNotFoundError:
                pass
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                os.unlink(name, dir_fd=parent)  # a symlink or a file in the folder's place: never followed
            else:
                self._own(fd)
                return fd
            try:
                os.mkdir(name, 0o750, dir_fd=parent)
            except FileExistsError:
                continue
        raise OSError(errno.EAGAIN, f"{name} keeps being replaced")

    def _own(self, fd: int) -> None:
        """Give an open file the data directory's owner, so that the unprivileged appliance can use it."""
        if os.geteuid() != 0:
            return
        owner = os.stat(self.data_dir)
        st = os.fstat(fd)
        if (st.st_uid, st.st_gid) != (owner.st_uid, owner.st_gid):
            os.fchown(fd, owner.st_uid, owner.st_gid)

    def _where(self, path: Path) -> tuple[tuple[str, ...], str]:
        parts = path.relative_to(self.dir).parts
        return parts[:-1], parts[-1]

    def write(self, path: Path, model: BaseModel) -> None:
        """Write a model as JSON, atomically (a new temporary file renamed over the old one), and durably."""
        folders, name = self._where(path)
        tmp = f".{name}.tmp"
        with self.folder(*folders) as dir_fd:
            _remove_at(dir_fd, tmp)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o640, dir_fd=dir_fd)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(model.model_dump_json(indent=2))
                f.flush()
                self._own(f.fileno())
                os.fsync(f.fileno())
            os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            os.fsync(dir_fd)

    def remove(self, path: Path) -> None:
        """Delete a file of the folder (whatever it is: a link is not followed)."""
        folders, name = self._where(path)
        with self.folder(*folders) as dir_fd:
            _remove_at(dir_fd, name)
            os.fsync(dir_fd)

    def copy_out(self, path: Path, dest: Path, max_bytes: int) -> None:
        """Copy a plain file of the folder (never through a link, at most max_bytes + 1) to a file of root's."""
        folders, name = self._where(path)
        with self.folder(*folders) as dir_fd:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
            with os.fdopen(fd, "rb") as src:
                st = os.fstat(src.fileno())
                if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:  # a hard link could name a file of root's
                    raise OSError(errno.EINVAL, f"{name} is not a plain file of its own")
                with dest.open("xb") as out:
                    left = max_bytes + 1
                    while left > 0 and (chunk := src.read(min(left, 1024**2))):
                        out.write(chunk)
                        left -= len(chunk)

    def read_request(self) -> UpdateRequest | None:
        """Return the waiting request, if any (an unreadable one is dropped)."""
        return self._read(self.request, UpdateRequest)

    def read_status(self) -> UpdateStatus | None:
        """Return the updater's latest status, if any."""
        return self._read(self.status, UpdateStatus)

    def read_pending(self) -> Pending | None:
        """Return the version waiting for confirmation, if any."""
        return self._read(self.pending, Pending)

    def _read(self, path: Path, model: type[M]) -> M | None:
        folders, name = self._where(path)
        try:
            with self.folder(*folders) as dir_fd:
                return _read(name, model, dir_fd)
        except OSError:
            return None

    def add_outcome(self, outcome: Outcome) -> None:
        """Leave an attempt's result for the appliance's audit log."""
        self.write(self.outcomes / f"{outcome.at:%Y%m%dT%H%M%S%f}.json", outcome)

    def read_outcomes(self) -> list[tuple[Path, Outcome]]:
        """Return the results not yet audited, oldest first."""
        found = []
        for path in sorted(self.outcomes.glob("*.json")) if self.outcomes.is_dir() else []:
            outcome = _read(path, Outcome)
            if outcome is not None:
                found.append((path, outcome))
        return found


def _remove_at(dir_fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        shutil.rmtree(name, dir_fd=dir_fd)


def _read(path: Path | str, model: type[M], dir_fd: int | None = None) -> M | None:
    """Read a JSON file without following a link, and only a plain file (a FIFO would block root)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            raw = f.read(MAX_JSON_BYTES)
        return model.model_validate(json.loads(raw))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, ValidationError):
        return None
