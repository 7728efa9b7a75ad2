"""Run rtsp_server.py as a child process that serves synthetic cameras on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Literal, Self
from urllib.parse import quote

from appliance.process import kill, terminate

log = logging.getLogger(__name__)

RTSP_SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's: it has python3-gi, the venv does not
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
STDERR_TAIL = 4000

Codec = Literal["h264", "h265"]
Audio = Literal["none", "alaw", "mulaw", "aac"]


class SyntheticCamerasUnavailable(RuntimeError):
    """The synthetic camera server is missing or did not start."""


@dataclass(frozen=True)
class CameraServerOptions:
    """Describe one synthetic camera server: how many cameras, their stream and credentials."""

    cameras: int = 4
    width: int = 640
    height: int = 360
    fps: int = 10
    codec: Codec = "h264"
    audio: Audio = "none"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    host: str = "127.0.0.1"
    port: int = 0  # 0: the server picks a free port and reports it

    def command(self, python: str = SYSTEM_PYTHON) -> list[str]:
        """Return the server's command line; the password goes by environment, never argv."""
        cmd = [
            python, str(RTSP_SERVER_SCRIPT),
            "--host", self.host, "--port", str(self.port), "--cameras", str(self.cameras),
            "--width", str(self.width), "--height", str(self.height), "--fps", str(self.fps),
            "--codec", self.codec, "--audio", self.audio, "--exit-on-stdin-eof",
        ]  # fmt: skip
        if self.user is not None:
            cmd += ["--user", self.user]
        return cmd

    def environment(self) -> dict[str, str]:
        """Return the environment for the server process."""
        env = {k: v for k, v in os.environ.items() if k != "RTSP_PASSWORD"}
        if self.user is not None:
            if self.password is None:
                raise ValueError("a camera user needs a password")
            env["RTSP_PASSWORD"] = self.password
        return env


def parse_ready(line: str) -> int | None:
    """Return the port of a `READY rtsp://HOST:PORT` line, or None for any other line."""
    if not line.startswith("READY rtsp://"):
        return None
    port = line.strip().rsplit(":", 1)[-1]
    return int(port) if port.isdigit() else None


def camera_urls(options: CameraServerOptions, port: int, with_credentials: bool = False) -> list[str]:
    """Return the URL of each camera, /cam1 first."""
    auth = ""
    if with_credentials and options.user is not None:
        auth = f"{quote(options.user, safe='')}:{quote(options.password or '', safe='')}@"
    return [f"rtsp://{auth}{options.host}:{port}/cam{i}" for i in range(1, options.cameras + 1)]


def _tail(stream: IO[bytes]) -> str:
    """Return the last few KB written to a temporary log file."""
    stream.flush()
    size = stream.seek(0, os.SEEK_END)
    stream.seek(max(0, size - STDERR_TAIL))
    return stream.read().decode(errors="replace").strip()


class _CamerasBase:
    """Hold what the async and the blocking runners share."""

    def __init__(self, options: CameraServerOptions, python: str, ready_timeout: float) -> None:
        self.options = options
        self.python = python
        self.ready_timeout = ready_timeout
        self._port: int | None = None
        self._stderr: IO[bytes] | None = None

    @property
    def port(self) -> int:
        """Return the TCP port the server listens on."""
        if self._port is None:
            raise RuntimeError("the camera server is not running")
        return self._port

    @property
    def urls(self) -> list[str]:
        """Return rtsp://HOST:PORT/camN for each camera, without credentials."""
        return camera_urls(self.options, self.port)

    @property
    def credential_urls(self) -> list[str]:
        """Return the camera URLs with user:password@ when the server needs credentials."""
        return camera_urls(self.options, self.port, with_credentials=True)

    def _open_stderr(self) -> IO[bytes]:
        """Open a fresh temporary file for the server's log."""
        self._close_stderr()
        self._stderr = tempfile.TemporaryFile(prefix="wardcam-rtsp-")  # noqa: SIM115 - lives with the process
        return self._stderr

    def _close_stderr(self) -> None:
        """Close the log file."""
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _failure(self, reason: str) -> SyntheticCamerasUnavailable:
        """Build the exception for a failed start, with the server's last words."""
        tail = _tail(self._stderr) if self._stderr is not None else ""
        self._close_stderr()
        return SyntheticCamerasUnavailable(f"{reason}\n--- rtsp_server stderr ---\n{tail or '(empty)'}")

    def _spawn_error(self, exc: OSError) -> SyntheticCamerasUnavailable:
        """Build the exception for a server that could not even be launched."""
        self._close_stderr()
        return SyntheticCamerasUnavailable(
            f"cannot run {self.python} {RTSP_SERVER_SCRIPT}: {exc}; "
            "install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-{base,good,bad,ugly}"
        )


class SyntheticCameras(_CamerasBase):
    """Serve N synthetic RTSP cameras from a child process, driven from asyncio."""

    def __init__(
        self,
        cameras: int = 4,
        *,
        port: int | None = None,
        width: int = 640,
        height: int = 360,
        fps: int = 10,
        codec: Codec = "h264",
        audio: Audio = "none",
        user: str | None = None,
        password: str | None = None,
        host: str = "127.0.0.1",
        python: str = SYSTEM_PYTHON,
        ready_timeout: float = READY_TIMEOUT,
    ) -> None:
        options = CameraServerOptions(
            cameras=cameras, width=width, height=height, fps=fps, codec=codec, audio=audio,
            user=user, password=password, host=host, port=port or 0,
        )  # fmt: skip
        super().__init__(options, python, ready_timeout)
        self._proc: asyncio.subprocess.Process | None = None

    @classmethod
    def from_options(
        cls, options: CameraServerOptions, python: str = SYSTEM_PYTHON, ready_timeout: float = READY_TIMEOUT
    ) -> SyntheticCameras:
        """Make a runner for ready-made options."""
        return cls(
            options.cameras, port=options.port or None, width=options.width, height=options.height,
            fps=options.fps, codec=options.codec, audio=options.audio, user=options.user,
            password=options.password, host=options.host, python=python, ready_timeout=ready_timeout,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        """Return the server's process id."""
        if self._proc is None:
            raise RuntimeError("the camera server is not running")
        return self._proc.pid

    async def start(self) -> None:
        """Start the server and wait until it listens."""
        if self._proc is not None:
            raise RuntimeError("the camera server is already running")
        stderr = self._open_stderr()
        log.info("starting %d synthetic camera(s): %s", self.options.cameras, self.options)
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.options.command(self.python),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=self.options.environment(),
                start_new_session=True,
            )
        except OSError as exc:
            raise self._spawn_error(exc) from exc
        self._proc = proc
        assert proc.stdout is not None
        deadline = time.monotonic() + self.ready_timeout
        while True:
            try:
                line = await asyncio.wait_for(proc.stdout.readline(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                await self._kill()
                raise self._failure(f"no READY line within {self.ready_timeout:.0f} s") from None
            if not line:
                code = await self._kill()
                raise self._failure(f"rtsp_server exited with code {code} before it was ready")
            port = parse_ready(line.decode(errors="replace"))
            if port is not None:
                self._port = port
                break
        log.info("synthetic cameras ready on port %d (pid %d)", self._port, proc.pid)

    async def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL after 5 s."""
        proc = self._proc
        if proc is None:
            return
        code = await terminate(proc, STOP_TIMEOUT, "rtsp_server")
        log.info("synthetic cameras stopped (pid %d, code %s)", proc.pid, code)
        self._forget(proc)
        self._port = None
        self._close_stderr()

    async def _kill(self) -> int:
        """Kill the server at once and reap it; return its exit code."""
        proc = self._proc
        assert proc is not None
        code = await kill(proc)
        self._forget(proc)
        return code

    def _forget(self, proc: asyncio.subprocess.Process) -> None:
        if proc.stdin is not None:
            proc.stdin.close()
        self._proc = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


class BlockingSyntheticCameras(_CamerasBase):
    """Serve synthetic RTSP cameras from a child process without asyncio (for sync code and fixtures)."""

    def __init__(
        self,
        options: CameraServerOptions | None = None,
        python: str = SYSTEM_PYTHON,
        ready_timeout: float = READY_TIMEOUT,
    ) -> None:
        super().__init__(options or CameraServerOptions(), python, ready_timeout)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """Return the server's process id."""
        if self._proc is None:
            raise RuntimeError("the camera server is not running")
        return self._proc.pid

    def start(self) -> None:
        """Start the server and block until it listens."""
        if self._proc is not None:
            raise RuntimeError("the camera server is already running")
        stderr = self._open_stderr()
        log.info("starting %d synthetic camera(s): %s", self.options.cameras, self.options)
        try:
            proc = subprocess.Popen(
                self.options.command(self.python),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=self.options.environment(),
                start_new_session=True,
            )
        except OSError as exc:
            raise self._spawn_error(exc) from exc
        self._proc = proc
        assert proc.stdout is not None
        deadline = time.monotonic() + self.ready_timeout
        while True:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, remaining))
            if not ready:
                self._kill()
                raise self._failure(f"no READY line within {self.ready_timeout:.0f} s")
            line = proc.stdout.readline()
            if not line:
                code = self._kill()
                raise self._failure(f"rtsp_server exited with code {code} before it was ready")
            port = parse_ready(line.decode(errors="replace"))
            if port is not None:
                self._port = port
                break
        log.info("synthetic cameras ready on port %d (pid %d)", self._port, proc.pid)

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL after 5 s."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log.warning("rtsp_server pid %d ignored SIGTERM; killing it", proc.pid)
                self._kill()
        log.info("synthetic cameras stopped (pid %d, code %s)", proc.pid, proc.returncode)
        self._close_pipes(proc)
        self._proc = None
        self._port = None
        self._close_stderr()

    def _kill(self) -> int:
        """Kill the server at once and reap it; return its exit code."""
        proc = self._proc
        assert proc is not None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        code = proc.wait()
        self._close_pipes(proc)
        self._proc = None
        return code

    @staticmethod
    def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
        """Close our ends of the child's pipes."""
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
