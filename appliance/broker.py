"""Run a real Mosquitto MQTT broker as a child process on loopback (demo mode and tests)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from appliance.net import free_port
from appliance.process import kill, terminate

log = logging.getLogger(__name__)

READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
OUTPUT_TAIL = 4000
CONFIG_NAME = "mosquitto.conf"
PASSWORD_NAME = "passwd"
LOG_NAME = "mosquitto.log"
RUNNING_LINE = re.compile(rb"mosquitto version \S+ running")


class BrokerUnavailable(RuntimeError):
    """The Mosquitto broker is missing or did not start."""


@dataclass(frozen=True)
class BrokerConfig:
    """Describe a loopback Mosquitto: where it listens and who may connect."""

    directory: Path
    port: int
    host: str = "127.0.0.1"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    allow_anonymous: bool | None = None  # None: only when no username is set

    @property
    def config_path(self) -> Path:
        """Return the path of mosquitto.conf."""
        return self.directory / CONFIG_NAME

    @property
    def password_path(self) -> Path:
        """Return the path of the password file."""
        return self.directory / PASSWORD_NAME

    @property
    def log_path(self) -> Path:
        """Return the path of the broker's output."""
        return self.directory / LOG_NAME

    def log_says_running(self) -> bool:
        """Tell whether the broker's output says that all its listeners are open."""
        try:
            return RUNNING_LINE.search(self.log_path.read_bytes()) is not None
        except OSError:
            return False

    def write(self) -> Path:
        """Write mosquitto.conf (and the hashed password file) into the directory; return the config path."""
        self.directory.mkdir(parents=True, exist_ok=True)
        anonymous = self.allow_anonymous if self.allow_anonymous is not None else self.username is None
        lines = [
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'true' if anonymous else 'false'}",
            "persistence false",
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
            # As root Mosquitto drops to the `mosquitto` user, which cannot read files in a
            # private (0700) temporary directory; stay root instead, on loopback only.
            lines.append("user root")
        if self.username is not None:
            if self.password is None:
                raise ValueError("a broker username needs a password")
            write_password_file(self.password_path, self.username, self.password)
            lines.append(f"password_file {self.password_path}")
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        log.debug("wrote %s (user %s)", self.config_path, self.username)
        return self.config_path


def mosquitto_binary() -> str:
    """Return the path of the mosquitto binary or raise BrokerUnavailable."""
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise BrokerUnavailable("the mosquitto binary is missing; install the Debian package `mosquitto`")
    return found


def write_password_file(path: Path, username: str, password: str) -> None:
    """Write a Mosquitto password file holding one hashed user, keeping the password off argv."""
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        raise BrokerUnavailable("mosquitto_passwd is missing; install the Debian package `mosquitto`")
    if ":" in username:
        raise ValueError("an MQTT username for the password file cannot contain ':'")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"{username}:{password}\n")
    # -U hashes the plain-text file in place, like `-b FILE USER PASSWORD` without argv exposure.
    done = subprocess.run([tool, "-U", str(path)], capture_output=True, text=True, timeout=10, check=False)
    if done.returncode != 0:
        path.unlink(missing_ok=True)
        raise BrokerUnavailable(f"mosquitto_passwd failed ({done.returncode}): {done.stderr.strip()}")


def _tail(path: Path) -> str:
    """Return the last few KB of a log file."""
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-OUTPUT_TAIL:].decode(errors="replace").strip()


async def _accepts(host: str, port: int) -> bool:
    """Tell whether host:port accepts a TCP connection now."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 0.5)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


class MosquittoBroker:
    """Start and stop a real `mosquitto -c FILE` on loopback."""

    def __init__(
        self,
        directory: Path | str,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        username: str | None = None,
        password: str | None = None,
        allow_anonymous: bool | None = None,
        ready_timeout: float = READY_TIMEOUT,
    ) -> None:
        self.config = BrokerConfig(
            directory=Path(directory), port=port or free_port(host), host=host,
            username=username, password=password, allow_anonymous=allow_anonymous,
        )  # fmt: skip
        self.ready_timeout = ready_timeout
        self._auto_port = port is None
        self._proc: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    @property
    def host(self) -> str:
        """Return the address the broker listens on."""
        return self.config.host

    @property
    def port(self) -> int:
        """Return the TCP port the broker listens on."""
        return self.config.port

    @property
    def pid(self) -> int:
        """Return the broker's process id."""
        if self._proc is None:
            raise RuntimeError("the broker is not running")
        return self._proc.pid

    async def start(self) -> None:
        """Write the config, start mosquitto and wait until its port accepts connections."""
        if self._proc is not None:
            raise RuntimeError("the broker is already running")
        for attempt in range(3):
            try:
                await self._start_once()
                return
            except BrokerUnavailable as exc:
                # A port picked by free_port() can be taken by someone else before mosquitto binds it.
                if not self._auto_port or "Address already in use" not in str(exc) or attempt == 2:
                    raise
                log.warning("port %d was taken; retrying on another", self.port)
                self.config = replace(self.config, port=free_port(self.host))

    async def _start_once(self) -> None:
        """Start mosquitto once with the current config."""
        binary = mosquitto_binary()
        config = self.config.write()
        self._log = self.config.log_path.open("wb")
        log.info("starting mosquitto on %s:%d", self.host, self.port)
        try:
            proc = await asyncio.create_subprocess_exec(
                binary, "-c", str(config),
                stdin=asyncio.subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        except OSError as exc:
            self._close_log()
            raise BrokerUnavailable(f"cannot run {binary}: {exc}") from exc
        self._proc = proc
        deadline = time.monotonic() + self.ready_timeout
        # The port alone could be someone else's: wait for mosquitto to say it is running too.
        while not (self.config.log_says_running() and await _accepts(self.host, self.port)):
            if proc.returncode is not None:
                self._proc = None
                raise self._failure(f"mosquitto exited with code {proc.returncode} before it listened")
            if time.monotonic() > deadline:
                await kill(proc)
                self._proc = None
                raise self._failure(
                    f"mosquitto did not listen on {self.host}:{self.port} within {self.ready_timeout:.0f} s"
                )
            await asyncio.sleep(0.05)
        log.info("mosquitto ready on %s:%d (pid %d)", self.host, self.port, proc.pid)

    async def stop(self) -> None:
        """Stop the broker: SIGTERM, then SIGKILL after 5 s."""
        proc = self._proc
        if proc is None:
            return
        code = await terminate(proc, STOP_TIMEOUT, "mosquitto")
        log.info("mosquitto stopped (pid %d, code %s)", proc.pid, code)
        self._proc = None
        self._close_log()

    def _failure(self, reason: str) -> BrokerUnavailable:
        """Build the exception for a failed start, with the broker's last output."""
        self._close_log()
        tail = _tail(self.config.log_path)
        return BrokerUnavailable(f"{reason}\n--- mosquitto output ---\n{tail or '(empty)'}")

    def _close_log(self) -> None:
        """Close our handle on the broker's output file."""
        if self._log is not None:
            self._log.close()
            self._log = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
