"""The trial start of a new version runs on a copy of the data, yet must reach none of the box's devices.

Cameras often allow only a few RTSP sessions, and a trial that connected to the MQTT broker would publish
the retained "offline" availability message when it stops. Here the camera is a real RTSP test server
reached through a loopback relay that counts the connections made through it, and the broker is a real
Mosquitto whose log lists every client that connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from appliance import __version__
from appliance.audit import AuditLog
from appliance.broker import LOG_NAME
from appliance.bus import EventBus
from appliance.cameras import CameraInput, Cameras
from appliance.demo.cameras import BlockingSyntheticCameras
from appliance.mqtt.service import MqttService
from appliance.net import LOOPBACK
from appliance.update.install import smoke_check
from tests.appliance.update.conftest import Installed, ServedAppliance
from tests.appliance.update.test_apply import _wait
from tests.harness.fixtures import RunningBroker


class CountingRelay:
    """A loopback TCP relay to the RTSP server that counts the connections (RTSP sessions) opened through it."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.server = socket.create_server((LOOPBACK, 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            upstream = socket.create_connection((LOOPBACK, self.target_port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.server.close()


def clients_connected(broker: RunningBroker) -> int:
    return (broker.directory / LOG_NAME).read_text(errors="replace").count("New client connected")


async def test_the_trial_start_opens_no_rtsp_session_and_no_mqtt_connection(
    installed: Installed,
    rtsp_cameras: BlockingSyntheticCameras,
    mosquitto_factory: Callable[..., RunningBroker],
    service: ServedAppliance,
    tmp_path: Path,
) -> None:
    broker = mosquitto_factory()
    relay = CountingRelay(rtsp_cameras.port)
    try:
        camera_url = rtsp_cameras.urls[0].replace(f":{rtsp_cameras.port}/", f":{relay.port}/")
        audit = AuditLog(installed.data_dir / "secrets" / "audit-head.json")
        await Cameras(audit, EventBus()).create_camera(
            CameraInput(name="Cổng trước", main_url=camera_url), who=installed.admin
        )
        await MqttService(audit, installed.data_dir).save_settings(
            {"broker": "external", "url": f"mqtt://{LOOPBACK}:{broker.port}"}, installed.admin
        )
        before = clients_connected(broker)

        await asyncio.to_thread(
            smoke_check,
            installed.layout.current,
            __version__,
            installed.data_dir,
            installed.data_dir / "wardcam.db",
            tmp_path / "trial",
            90,
        )

        await asyncio.sleep(1)  # anything the trial had started would have connected by now
        assert relay.connections == 0
        assert clients_connected(broker) == before

        # the same data served for real does reach both: what the counters above would have seen
        service.start()
        assert await _wait(lambda: relay.connections > 0, 60)
        assert await _wait(lambda: clients_connected(broker) > before, 60)
    finally:
        service.stop()
        relay.close()
