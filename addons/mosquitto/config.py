"""The built-in broker's options and files: mosquitto.conf, the hashed password file, the appliance's own login.

Everything lives in the add-on's folder (DATA_DIR/addons/mosquitto): the config, `passwd` (only
hashes, made by `mosquitto_passwd`), `data/` (Mosquitto's persistence: retained messages and
persistent sessions survive a restart), and `secrets/appliance-password` (the login WardCam's own
MQTT connection uses, made once at random).
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from appliance.broker import write_password_file

APPLIANCE_USER = "wardcam"  # the appliance's own login; not one of the users staff list
USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
LOOPBACK = "127.0.0.1"


class MosquittoOptions(BaseModel):
    """Where the built-in broker listens, and who besides WardCam may log in to it."""

    model_config = ConfigDict(extra="forbid")

    port: int = Field(default=1883, ge=1, le=65535, title="addon.mosquitto.option.port",
                      description="addon.mosquitto.option.port_help")  # fmt: skip
    listen_on_lan: bool = Field(default=False, title="addon.mosquitto.option.listen_on_lan",
                                description="addon.mosquitto.option.listen_on_lan_help")  # fmt: skip
    users: list[str] = Field(default_factory=list, max_length=50, title="addon.mosquitto.option.users",
                             description="addon.mosquitto.option.users_help")  # fmt: skip

    @field_validator("users")
    @classmethod
    def _users(cls, value: list[str]) -> list[str]:
        names: list[str] = []
        for raw in value:
            name = raw.strip()
            if not USERNAME.fullmatch(name) or name == APPLIANCE_USER:
                raise PydanticCustomError("addon.mosquitto.error.username", "addon.mosquitto.error.username")
            if name not in names:
                names.append(name)
        return names

    @property
    def host(self) -> str:
        """Return the address the listener binds: loopback, or every address when open to the LAN."""
        return "0.0.0.0" if self.listen_on_lan else LOOPBACK


@dataclass(frozen=True)
class BrokerFiles:
    """The broker's files in the add-on's folder."""

    directory: Path

    @property
    def config_path(self) -> Path:
        return self.directory / "mosquitto.conf"

    @property
    def password_path(self) -> Path:
        return self.directory / "passwd"

    @property
    def persistence_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        return self.directory / "mosquitto.log"

    @property
    def secret_path(self) -> Path:
        return self.directory / "secrets" / "appliance-password"

    def appliance_password(self) -> str:
        """Return the appliance's own broker password, made at random the first time."""
        path = self.secret_path
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        password = secrets.token_urlsafe(24)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(password + "\n")
        return password

    def hashed_lines(self) -> dict[str, str]:
        """Return the password file's lines by user name (hashes only)."""
        try:
            text = self.password_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        return {line.split(":", 1)[0]: line for line in text.splitlines() if ":" in line}

    def users_with_password(self) -> set[str]:
        """Return the users who have a password (the appliance's own login left out)."""
        return set(self.hashed_lines()) - {APPLIANCE_USER}

    def set_password(self, username: str, password: str) -> None:
        """Store one user's password, hashed by mosquitto_passwd; the other users' hashes are kept as they are."""
        lines = self.hashed_lines()
        lines[username] = hash_line(username, password, self.directory)
        self._write(lines)

    def keep_only(self, usernames: set[str]) -> None:
        """Drop the passwords of users no longer listed (the appliance's own login is always kept)."""
        lines = self.hashed_lines()
        kept = {name: line for name, line in lines.items() if name in usernames or name == APPLIANCE_USER}
        if kept != lines:
            self._write(kept)

    def _write(self, lines: dict[str, str]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".passwd-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines.values()))
        os.replace(tmp, self.password_path)

    def write_config(self, options: MosquittoOptions) -> Path:
        """Write mosquitto.conf for these options (and the appliance's login when missing); return its path."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.persistence_dir.mkdir(exist_ok=True)
        if APPLIANCE_USER not in self.hashed_lines():
            self.set_password(APPLIANCE_USER, self.appliance_password())
        self.keep_only(set(options.users))
        listener = f"listener {options.port}" if options.listen_on_lan else f"listener {options.port} {LOOPBACK}"
        lines = [
            listener,
            "allow_anonymous false",
            f"password_file {self.password_path}",
            "persistence true",
            f"persistence_location {self.persistence_dir}/",
            "autosave_interval 300",
            # Frigate sends bursts (a busy intersection: hundreds of events a second); mosquitto's defaults
            # (20 QoS 1 messages in flight to a client, 1,000 queued) dropped a 5,000-event burst's tail.
            "max_inflight_messages 1000",
            "max_queued_messages 20000",
            # stderr, not stdout: stdout is block-buffered into the log file, stderr is not.
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
        ]
        if os.geteuid() == 0:
            # As root Mosquitto would switch to the `mosquitto` user, who cannot read WardCam's private
            # data folder; it runs as WardCam's own user instead (WardCam should not run as root).
            lines.append("user root")
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return self.config_path


def hash_line(username: str, password: str, directory: Path) -> str:
    """Return `user:hash` for a password file, made by mosquitto_passwd (the password never goes on argv)."""
    if not USERNAME.fullmatch(username):
        raise ValueError(f"not a broker user name: {username!r}")
    with tempfile.TemporaryDirectory(dir=directory, prefix=".hash-") as tmp:
        path = Path(tmp) / "one"
        write_password_file(path, username, password)
        return path.read_text(encoding="utf-8").strip()
