"""Run the real appliance (`python -m appliance serve`) on a free loopback port, and drive its CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from appliance.net import free_port

PASSWORD = "mat-khau-du-dai-1"
STARTUP_TIMEOUT_S = 90.0  # a served appliance starts in 2-5 s; on a loaded 2-core CI run it took over 30 s


def shipped_migrations() -> list[str]:
    """Return the file names of every migration the project ships, oldest first."""
    from appliance.db.connection import MIGRATIONS_DIR

    files = (MIGRATIONS_DIR / "models").glob("[0-9]*_*.py")
    return sorted((p.name for p in files), key=lambda name: int(name.split("_", 1)[0]))


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Return the environment for a child appliance: ours, without pytest's markers (NiceGUI reads them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    return {**env, **(extra or {})}


def cli(
    data_dir: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `python -m appliance ARGS --data-dir DIR` and return what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args, "--data-dir", str(data_dir)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(env),
    )


@dataclass
class RunningAppliance:
    """A served appliance with its own data directory."""

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a CLI verb against this appliance's data directory."""
        return cli(self.data_dir, *args, stdin=stdin, env=self.env)

    def add_user(self, name: str, role: str, password: str = PASSWORD) -> None:
        """Create a user through the CLI."""
        result = self.cli("user", "add", name, "--role", role, "--password-stdin", stdin=password + "\n")
        assert result.returncode == 0, result.stderr

    def client(self, **kwargs: object) -> httpx.Client:
        """Return an HTTP client for this appliance that does not follow redirects."""
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=20, **kwargs)  # type: ignore[arg-type]

    def login(self, name: str, password: str = PASSWORD) -> httpx.Client:
        """Return a client holding a session cookie for a user."""
        client = self.client()
        response = client.post("/api/auth/login", json={"username": name, "password": password})
        assert response.status_code == 200, response.text
        return client

    def stop(self) -> None:
        """Stop the server gracefully, then for good."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_appliance(
    data_dir: Path, *extra: str, env: dict[str, str] | None = None, log_file: Path | None = None
) -> RunningAppliance:
    """Start `python -m appliance serve` and wait until /healthz answers."""
    port = free_port()
    env = {**(env or {})}
    out = open(log_file or data_dir.with_suffix(".log"), "wb")  # noqa: SIM115 (kept open for the child)
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appliance",
            "serve",
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *extra,
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        env=child_env(env),
    )
    running = RunningAppliance(data_dir, port, process, env)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out.close()
            log = Path(out.name).read_text(errors="replace")
            raise RuntimeError(f"the appliance exited with {process.returncode}:\n{log[-3000:]}")
        try:
            if httpx.get(f"{running.url}/healthz", timeout=1).status_code == 200:
                return running
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    running.stop()
    raise RuntimeError(f"the appliance did not answer /healthz within {STARTUP_TIMEOUT_S:.0f} s")
