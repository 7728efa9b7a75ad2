"""Staff enable the built-in Mosquitto broker: it asks every client for its password, WardCam connects to it."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from addons import mosquitto
from addons.mosquitto.broker import BrokerState
from appliance.addons.manager import AddonManager
from appliance.mqtt import MqttService, MqttState
from appliance.net import free_port, port_open
from tests.appliance.mqtt.conftest import Watcher, connected, until

FRIGATE_PASSWORD = "frigate-mat-khau-1"


def connack(port: int, username: str | None = None, password: str | None = None) -> bool:
    """Connect once as a plain client would; return whether the broker accepted."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    if username is not None:
        client.username_pw_set(username, password)
    accepted: list[bool] = []
    client.on_connect = lambda c, u, flags, reason, props: accepted.append(not reason.is_failure)
    client.connect("127.0.0.1", port, keepalive=10)
    for _ in range(100):
        client.loop(0.05)
        if accepted:
            break
    client.disconnect()
    return accepted == [True]


async def enable(manager: AddonManager, **options: object) -> int:
    """Set the add-on's options and enable it, as staff do on the Add-ons page; return its port."""
    port = free_port()
    await manager.configure("mosquitto", {"port": port, **options})
    addon = await manager.enable("mosquitto")
    assert addon.running, addon.error
    return port


async def test_the_broker_asks_for_the_users_password_and_wardcam_connects_to_it(
    manager: AddonManager, mqtt_service: MqttService, db: Path, watchers: Callable[..., Watcher]
) -> None:
    assert mqtt_service.status.reason is not None
    assert mqtt_service.status.reason.key == "mqtt.reason.no_builtin"  # the default setting, before the add-on runs

    port = await enable(manager, users=["frigate", "homeassistant"])
    await connected(mqtt_service)
    assert mqtt_service.status.broker == f"mqtt://127.0.0.1:{port}"

    assert not await asyncio.to_thread(connack, port)  # anonymous
    assert not await asyncio.to_thread(connack, port, "frigate", FRIGATE_PASSWORD)  # no password set yet
    await mosquitto.set_password("frigate", FRIGATE_PASSWORD)
    assert await asyncio.to_thread(connack, port, "frigate", FRIGATE_PASSWORD)
    assert not await asyncio.to_thread(connack, port, "frigate", "not-the-password")
    assert not await asyncio.to_thread(connack, port, "homeassistant", FRIGATE_PASSWORD)

    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_event(topic: str, payload: bytes) -> None:
        await received.put(payload)

    mqtt_service.subscribe("frigate/events", on_event)
    frigate = watchers("127.0.0.1", port, "frigate", FRIGATE_PASSWORD)
    frigate.subscribe("wardcam/available")
    assert (await frigate.next("wardcam/available"))[1] == b"online"
    frigate.publish("frigate/events", b'{"type": "new"}')
    assert await asyncio.wait_for(received.get(), 5) == b'{"type": "new"}'

    passwd = (db / "addons" / "mosquitto" / "passwd").read_text()
    assert sorted(line.split(":")[0] for line in passwd.splitlines()) == ["frigate", "wardcam"]
    assert FRIGATE_PASSWORD not in passwd
    config = (db / "addons" / "mosquitto" / "mosquitto.conf").read_text()
    assert f"listener {port} 127.0.0.1\n" in config
    assert "allow_anonymous false\n" in config


async def test_a_password_too_short_or_for_an_unknown_user_is_refused(manager: AddonManager) -> None:
    await enable(manager, users=["frigate"])
    with pytest.raises(mosquitto.PasswordRefused):
        await mosquitto.set_password("frigate", "short")
    with pytest.raises(mosquitto.UnknownUser):
        await mosquitto.set_password("someone", FRIGATE_PASSWORD)


async def test_a_broker_that_dies_is_started_again_and_wardcam_reconnects(
    manager: AddonManager, mqtt_service: MqttService
) -> None:
    port = await enable(manager)
    await connected(mqtt_service)
    broker = mosquitto.running().broker
    first_pid = broker.status.pid
    assert first_pid is not None

    os.kill(first_pid, signal.SIGKILL)
    await until(lambda: broker.status.state == BrokerState.RESTARTING, what=lambda: str(broker.status))
    await until(lambda: broker.status.state == BrokerState.RUNNING, within_s=15, what=lambda: str(broker.status))
    assert broker.status.pid != first_pid
    assert broker.status.last_exit == -signal.SIGKILL
    assert port_open("127.0.0.1", port)
    await until(lambda: mqtt_service.status.connects == 2, within_s=15, what=lambda: mqtt_service.status.text("en"))
    assert mqtt_service.status.state == MqttState.CONNECTED


async def test_retained_messages_survive_a_restart_of_the_addon(
    manager: AddonManager, mqtt_service: MqttService, watchers: Callable[..., Watcher]
) -> None:
    port = await enable(manager)
    await connected(mqtt_service)
    assert await mqtt_service.publish("homeassistant/camera/cong-cho/config", b'{"name": "Cong cho"}', retain=True,
                                      wait=True)  # fmt: skip

    await manager.configure("mosquitto", {"port": port, "users": ["homeassistant"]})  # restarts the add-on
    await connected(mqtt_service)
    await mosquitto.set_password("homeassistant", FRIGATE_PASSWORD)
    home = watchers("127.0.0.1", port, "homeassistant", FRIGATE_PASSWORD)
    home.subscribe("homeassistant/#")
    assert await home.next("homeassistant/camera/cong-cho/config") == (
        "homeassistant/camera/cong-cho/config",
        b'{"name": "Cong cho"}',
        True,
    )


async def test_disabling_the_addon_stops_the_broker(manager: AddonManager, mqtt_service: MqttService) -> None:
    port = await enable(manager)
    await connected(mqtt_service)
    await manager.disable("mosquitto")
    assert not port_open("127.0.0.1", port)
    assert mqtt_service.status.state == MqttState.DISCONNECTED
    assert mqtt_service.status.reason is not None
    assert mqtt_service.status.text("en") == (
        "Not connected. The built-in broker is not running: enable the Mosquitto broker add-on, "
        "or choose another broker."
    )


async def test_opening_the_broker_to_the_lan_asks_the_box_to_open_its_firewall_port(
    manager: AddonManager, mqtt_service: MqttService, db: Path
) -> None:
    flag = db / "firewall" / "mqtt-lan"  # on the WardCam image, wardcam-firewall.path opens 1883 while it exists
    port = await enable(manager, listen_on_lan=True)
    assert flag.is_file()
    assert await asyncio.to_thread(connack, port, "wardcam", None) is False  # still a password for everyone

    await manager.configure("mosquitto", {"port": port, "listen_on_lan": False})  # back to this box only
    assert manager.get("mosquitto").running
    assert not flag.exists()

    await manager.configure("mosquitto", {"port": port, "listen_on_lan": True})
    assert flag.is_file()
    await manager.disable("mosquitto")
    assert not flag.exists(), "a stopped broker needs no open port"
