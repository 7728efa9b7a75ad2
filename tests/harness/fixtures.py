"""Pytest fixtures that run real components: Mosquitto, synthetic RTSP cameras and Chromium.

Load with `pytest_plugins = ["tests.harness.fixtures"]` in tests/conftest.py.

A missing component fails the test with a clear message; nothing is skipped.

Fixtures:
- `mosquitto` (session): a running broker, anonymous access; `.host`, `.port`, `.pid`.
- `mosquitto_factory` (function): `mosquitto_factory(username=..., password=...)` starts another broker.
- `rtsp_cameras` (session): 4 synthetic H.264 cameras; `.urls`, `.pid`, `.port`. Shared by all
  tests, so a test that stops, hangs or kills a camera must use `rtsp_server_factory` instead.
- `rtsp_server_factory` (function): `rtsp_server_factory(cameras=2, codec="h265", audio="aac",
  user="u", password="p")` starts a server; all are stopped at teardown.
- `chromium_endpoint` (session): one headless Chromium for the session; yields its CDP URL.
- `chromium_browser` (function, async): a Playwright async `Browser` connected to that Chromium.
- `chromium_browser_sync` (function, sync): the same with Playwright's sync API, for `def` tests.

Why the Browser is per test and only Chromium per session: Playwright's sync API marks its
event loop as running in the main thread for as long as it is started, so a session-scoped
sync Browser makes every later `async def` test fail ("Runner.run() cannot be called from a
running event loop"); an async Browser belongs to one event loop, and pytest-asyncio gives each
test its own. Connecting to the shared Chromium over CDP costs about 0.5 s a test; launching
it costs more and happens once. Use `await chromium_browser.new_context()` for isolation.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from appliance.broker import BrokerConfig, BrokerUnavailable, mosquitto_binary
from appliance.demo.cameras import (
    BlockingSyntheticCameras,
    CameraServerOptions,
    SyntheticCamerasUnavailable,
)
from appliance.net import free_port, port_open

if TYPE_CHECKING:
    from playwright.async_api import Browser
    from playwright.sync_api import Browser as SyncBrowser

log = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]
CHROMIUM_TIMEOUT = 20.0
BROKER_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def _stop_process(proc: subprocess.Popen[bytes], name: str) -> None:
    """Stop a child: SIGTERM, then SIGKILL after 5 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.warning("%s pid %d ignored SIGTERM; killing it", name, proc.pid)
            proc.kill()
            proc.wait()


def _tail(path: Path, size: int = 4000) -> str:
    """Return the end of a log file."""
    try:
        return path.read_bytes()[-size:].decode(errors="replace").strip() or "(empty)"
    except OSError:
        return "(no output)"


# --- Mosquitto -------------------------------------------------------------------------------


@dataclass
class RunningBroker:
    """A Mosquitto broker started by a fixture."""

    host: str
    port: int
    pid: int
    directory: Path
    username: str | None = None
    password: str | None = None


class _BrokerProcess:
    """Run `mosquitto -c FILE` without asyncio, reusing MosquittoBroker's config writer."""

    def __init__(self, directory: Path, username: str | None, password: str | None) -> None:
        self.config = BrokerConfig(directory=directory, port=free_port(), username=username, password=password)
        self.proc: subprocess.Popen[bytes] | None = None
        self.running: RunningBroker | None = None

    def start(self) -> RunningBroker:
        """Start the broker and block until its port accepts connections."""
        binary = mosquitto_binary()
        config_path = self.config.write()
        with self.config.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [binary, "-c", str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + BROKER_TIMEOUT
        while not (self.config.log_says_running() and port_open(self.config.host, self.config.port)):
            if self.proc.poll() is not None:
                raise BrokerUnavailable(
                    f"mosquitto exited with code {self.proc.returncode} before it listened\n"
                    f"--- mosquitto output ---\n{_tail(self.config.log_path)}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerUnavailable(
                    f"mosquitto did not listen within {BROKER_TIMEOUT:.0f} s\n"
                    f"--- mosquitto output ---\n{_tail(self.config.log_path)}"
                )
            time.sleep(0.05)
        self.running = RunningBroker(
            host=self.config.host,
            port=self.config.port,
            pid=self.proc.pid,
            directory=self.config.directory,
            username=self.config.username,
            password=self.config.password,
        )
        return self.running

    def stop(self) -> None:
        """Stop the broker."""
        if self.proc is not None:
            _stop_process(self.proc, "mosquitto")
            self.proc = None


def _start_broker(directory: Path, username: str | None = None, password: str | None = None) -> _BrokerProcess:
    """Start a broker or fail the test with the reason."""
    broker = _BrokerProcess(directory, username, password)
    try:
        broker.start()
    except BrokerUnavailable as exc:
        broker.stop()
        pytest.fail(f"Mosquitto is needed for this test: {exc}", pytrace=False)
    return broker


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBroker]:
    """Run one anonymous Mosquitto on loopback for the whole session."""
    broker = _start_broker(tmp_path_factory.mktemp("mosquitto"))
    try:
        assert broker.running is not None
        yield broker.running
    finally:
        broker.stop()


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[..., RunningBroker]]:
    """Start extra brokers (e.g. with a username and password); stop them all at teardown."""
    started: list[_BrokerProcess] = []

    def start(username: str | None = None, password: str | None = None) -> RunningBroker:
        directory = tmp_path / f"mosquitto-{len(started) + 1}"
        broker = _start_broker(directory, username, password)
        started.append(broker)
        assert broker.running is not None
        return broker.running

    try:
        yield start
    finally:
        for broker in started:
            broker.stop()


# --- Synthetic RTSP cameras ------------------------------------------------------------------


def _start_cameras(options: CameraServerOptions) -> BlockingSyntheticCameras:
    """Start a synthetic camera server or fail the test with the reason."""
    cams = BlockingSyntheticCameras(options)
    try:
        cams.start()
    except SyntheticCamerasUnavailable as exc:
        pytest.fail(f"Synthetic RTSP cameras are needed for this test: {exc}", pytrace=False)
    return cams


@pytest.fixture(scope="session")
def rtsp_cameras() -> Iterator[BlockingSyntheticCameras]:
    """Serve 4 synthetic H.264 640x360 10 fps cameras for the whole session (do not stop them)."""
    cams = _start_cameras(CameraServerOptions(cameras=4))
    try:
        yield cams
    finally:
        cams.stop()


@pytest.fixture
def rtsp_server_factory() -> Iterator[Callable[..., BlockingSyntheticCameras]]:
    """Start camera servers with custom CameraServerOptions fields; stop them all at teardown."""
    started: list[BlockingSyntheticCameras] = []

    def start(**options: Any) -> BlockingSyntheticCameras:
        cams = _start_cameras(CameraServerOptions(**options))
        started.append(cams)
        return cams

    try:
        yield start
    finally:
        for cams in started:
            # A test may have SIGSTOPped the server: let it receive SIGTERM.
            with contextlib.suppress(ProcessLookupError, RuntimeError):
                os.kill(cams.pid, signal.SIGCONT)
            cams.stop()


# --- Chromium --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run one headless Chromium for the session; yield its CDP URL (http://127.0.0.1:PORT)."""
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which("chromium")):
        pytest.fail(f"{CHROMIUM} is missing: install the Debian package `chromium`", pytrace=False)
    profile = tmp_path_factory.mktemp("chromium-profile")
    log_path = profile.parent / f"{profile.name}.log"
    cmd = [
        CHROMIUM,
        "--headless=new",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "--hide-scrollbars",
        "--mute-audio",
        *CHROMIUM_ARGS,
        "about:blank",
    ]
    with log_path.open("wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + CHROMIUM_TIMEOUT
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Chromium did not start (code {proc.poll()}):\n{_tail(log_path)}", pytrace=False)
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop_process(proc, "chromium")


@pytest_asyncio.fixture
async def chromium_browser(chromium_endpoint: str) -> AsyncIterator[Browser]:
    """Yield a Playwright async Browser on the session's Chromium; close what the test opened."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.connect_over_cdp(chromium_endpoint)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def chromium_browser_sync(chromium_endpoint: str) -> Iterator[SyncBrowser]:
    """Yield a Playwright sync Browser on the session's Chromium, for plain `def` tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.connect_over_cdp(chromium_endpoint)
        try:
            yield browser
        finally:
            browser.close()
