"""The image's watchdog script: it restarts a WardCam whose panel stopped answering, never one still starting.

The script runs as written, with its paths, its panel address and its 10 s pauses moved into the test's
folder. systemd is not in this sandbox, so a stand-in `systemctl` on PATH answers `show` with the time the
service became active and logs every call; the panel is a real HTTP server on a loopback port, or a port
where nothing listens.
"""

from __future__ import annotations

import http.server
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.net import LOOPBACK, free_port

SCRIPT = Path(__file__).resolve().parents[2] / "image/rootfs/usr/local/lib/wardcam/health-check"


class Box:
    """The script's world: its data folder, the service's start time, and what was asked of systemctl."""

    def __init__(self, tmp_path: Path, panel_url: str) -> None:
        self.data = tmp_path / "var-lib-wardcam"
        (self.data / "update").mkdir(parents=True)
        self.calls = tmp_path / "systemctl-calls"
        self.active_since = tmp_path / "active-since-us"
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        systemctl = bin_dir / "systemctl"
        self.updating = tmp_path / "updater-running"
        systemctl.write_text(
            "#!/bin/sh\n"
            f'echo "$*" >> {self.calls}\n'
            f'[ "$1" = show ] && cat {self.active_since}\n'
            f'[ "$1 $3" = "is-active wardcam-update.service" ] && {{ [ -e {self.updating} ]; exit $?; }}\n'
            "exit 0\n"
        )
        systemctl.chmod(0o755)
        self.path = f"{bin_dir}:/usr/bin:/bin"
        self.script = tmp_path / "health-check"
        self.script.write_text(
            SCRIPT.read_text()
            .replace("/var/lib/wardcam", str(self.data))
            .replace("http://127.0.0.1:8080/healthz", panel_url)
            .replace("sleep 10", "sleep 0")
        )

    def service_started_ago(self, seconds: float) -> None:
        uptime_s = float(Path("/proc/uptime").read_text().split()[0])
        self.active_since.write_text(f"{int((uptime_s - seconds) * 1_000_000)}\n")

    def check(self) -> list[str]:
        """Run the timer's check once; return the systemctl calls that change something."""
        result = subprocess.run(
            ["sh", str(self.script)], capture_output=True, text=True, timeout=120, env={"PATH": self.path}
        )
        assert result.returncode == 0, result.stderr
        calls = self.calls.read_text().splitlines() if self.calls.exists() else []
        return [c for c in calls if c.split()[0] in ("restart", "stop", "start")]


class Healthz(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def answering_panel() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer((LOOPBACK, free_port()), Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOOPBACK}:{server.server_address[1]}/healthz"
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_panel() -> str:
    return f"http://{LOOPBACK}:{free_port()}/healthz"  # nothing listens there


def test_a_panel_that_stopped_answering_is_restarted(tmp_path: Path, silent_panel: str) -> None:
    box = Box(tmp_path, silent_panel)
    box.service_started_ago(3600)
    assert box.check() == ["restart wardcam.service"]


def test_a_wardcam_still_starting_is_left_to_start(tmp_path: Path, silent_panel: str) -> None:
    box = Box(tmp_path, silent_panel)
    box.service_started_ago(200)  # a slow first start: Python and a migration on a loaded box
    assert box.check() == []
    box.service_started_ago(601)  # ten minutes on, still no answer: it is stuck
    assert box.check() == ["restart wardcam.service"]


def test_an_answering_panel_and_an_update_under_watch_are_left_alone(
    tmp_path: Path, answering_panel: str, silent_panel: str
) -> None:
    box = Box(tmp_path, answering_panel)
    box.service_started_ago(3600)
    assert box.check() == []
    updating = Box(tmp_path / "updating", silent_panel)
    updating.service_started_ago(3600)
    (updating.data / "update" / "pending.json").write_text("{}")  # wardcam-update.service watches it
    assert updating.check() == []
    rolling_back = Box(tmp_path / "rolling-back", silent_panel)
    rolling_back.service_started_ago(3600)
    rolling_back.updating.touch()  # the updater runs (a rollback stops WardCam while it restores)
    assert rolling_back.check() == []
