"""Run the built-in Mosquitto under WardCam's supervision: started with the add-on, restarted after any exit.

A restart waits 1 s, then twice as long after each quick failure, up to 60 s; a run that lasted a
minute counts as healthy and resets the wait. Mosquitto is started with PR_SET_PDEATHSIG, so that
it stops when WardCam dies, and in a session of its own, so that a Ctrl-C or a service stop reaches
WardCam first, which then stops it after its MQTT connection has said "offline".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import subprocess
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import IO

from addons.mosquitto.config import LOOPBACK, BrokerFiles, MosquittoOptions
from appliance.broker import RUNNING_LINE, BrokerUnavailable, mosquitto_binary
from appliance.net import port_open_async
from appliance.process import die_with_parent, kill, terminate

log = logging.getLogger("addons.mosquitto")

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
BACKOFF_START_S = 1.0
BACKOFF_CAP_S = 60.0
HEALTHY_RUN_S = 60.0
TAIL_BYTES = 2000
RELOAD_TIMEOUT_S = 2.0
RELOADED_LINE = b"Reloading config."


class BrokerState(StrEnum):
    """Where the built-in broker stands."""

    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"  # it exited; waiting before the next start
    STOPPED = "stopped"


@dataclass
class BrokerStatus:
    """The broker process as the add-on's page and health check show it."""

    state: BrokerState = BrokerState.STOPPED
    pid: int | None = None
    starts: int = 0
    last_exit: int | None = None
    last_output: str = ""  # the end of Mosquitto's output when it last exited or failed to start
    since: datetime = field(default_factory=lambda: datetime.now(UTC))


class Backoff:
    """1, 2, 4 ... 60 s between restarts; back to 1 s after a healthy run."""

    def __init__(self) -> None:
        self.delay_s = BACKOFF_START_S

    def next(self, ran_s: float) -> float:
        """Return how long to wait before the next start, given how long the last run lasted."""
        if ran_s >= HEALTHY_RUN_S:
            self.delay_s = BACKOFF_START_S
        delay = self.delay_s
        self.delay_s = min(self.delay_s * 2, BACKOFF_CAP_S)
        return delay


class SupervisedBroker:
    """One mosquitto process with the add-on's config, kept running until stopped."""

    def __init__(self, files: BrokerFiles, options: MosquittoOptions) -> None:
        self.files = files
        self.options = options
        self.status = BrokerStatus()
        self.backoff = Backoff()
        self._proc: asyncio.subprocess.Process | None = None
        self._out: IO[bytes] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """Return where local clients reach the broker (always over loopback)."""
        return f"mqtt://{LOOPBACK}:{self.options.port}"

    async def start(self) -> None:
        """Start mosquitto and wait until it listens (BrokerUnavailable if it cannot), then supervise it."""
        self.files.write_config(self.options)
        await self._run_once()
        self._task = asyncio.get_running_loop().create_task(self._supervise(), name="mosquitto supervisor")

    async def reload(self) -> None:
        """Make mosquitto read its password file again (SIGHUP), without dropping any client; wait until it has."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return  # the next start reads the new file anyway
        before = self._log_count(RELOADED_LINE)
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + RELOAD_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._log_count(RELOADED_LINE) > before:
                return
            await asyncio.sleep(0.02)
        log.warning("mosquitto did not say it reloaded its config within %.0f s", RELOAD_TIMEOUT_S)

    async def stop(self) -> None:
        """Stop supervising, then stop mosquitto (SIGTERM, SIGKILL after 5 s)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        proc, self._proc = self._proc, None
        if proc is not None:
            code = await terminate(proc, STOP_TIMEOUT_S, "mosquitto")
            log.info("mosquitto stopped (pid %d, code %s)", proc.pid, code)
        self._close_output()
        self._set(BrokerState.STOPPED, pid=None)

    async def _run_once(self) -> None:
        """Start mosquitto once and wait until it says it runs and its port accepts connections."""
        binary = mosquitto_binary()
        self._set(BrokerState.STARTING, pid=None)
        self._close_output()
        self._out = self.files.log_path.open("wb")
        try:
            proc = await asyncio.create_subprocess_exec(
                binary, "-c", str(self.files.config_path), stdin=asyncio.subprocess.DEVNULL,
                stdout=self._out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent,
                start_new_session=True,  # Ctrl-C in a terminal reaches WardCam, which stops it in order
            )  # fmt: skip
        except OSError as exc:
            raise BrokerUnavailable(f"cannot run {binary}: {exc}") from exc
        self._proc = proc
        self.status.starts += 1
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not (self._says_running() and await port_open_async(LOOPBACK, self.options.port)):
            if proc.returncode is not None or time.monotonic() > deadline:
                await kill(proc)
                self._proc = None
                tail = self._tail()
                self._set(BrokerState.RESTARTING, pid=None, last_exit=proc.returncode, last_output=tail)
                raise BrokerUnavailable(f"mosquitto did not start on port {self.options.port}: {tail or 'no output'}")
            await asyncio.sleep(0.05)
        self._set(BrokerState.RUNNING, pid=proc.pid)
        log.info("mosquitto listening on %s:%d (pid %d)", self.options.host, self.options.port, proc.pid)

    async def _supervise(self) -> None:
        """Wait for mosquitto to exit, and start it again after the backoff."""
        started = time.monotonic()
        while True:
            if self._proc is not None:
                code = await self._proc.wait()
                self._proc = None
                tail = self._tail()
                delay = self.backoff.next(time.monotonic() - started)
                self._set(BrokerState.RESTARTING, pid=None, last_exit=code, last_output=tail)
                log.warning("mosquitto exited with code %s; starting it again in %.0f s", code, delay)
            else:
                delay = self.backoff.next(0.0)
            await asyncio.sleep(delay)
            started = time.monotonic()
            try:
                self.files.write_config(self.options)
                await self._run_once()
            except (BrokerUnavailable, OSError) as exc:
                log.warning("mosquitto could not start again: %s", exc)

    def _log_count(self, line: bytes) -> int:
        try:
            return self.files.log_path.read_bytes().count(line)
        except OSError:
            return 0

    def _says_running(self) -> bool:
        try:
            return RUNNING_LINE.search(self.files.log_path.read_bytes()) is not None
        except OSError:
            return False

    def _tail(self) -> str:
        try:
            data = self.files.log_path.read_bytes()[-TAIL_BYTES:]
        except OSError:
            return ""
        return data.decode(errors="replace").strip()

    def _close_output(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def _set(self, state: BrokerState, **changes: object) -> None:
        self.status = replace(self.status, state=state, since=datetime.now(UTC), **changes)  # type: ignore[arg-type]
