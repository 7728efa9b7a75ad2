"""The appliance's MQTT connection against a real Mosquitto: messages both ways, outages, last will, bad logins."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from appliance.broker import MosquittoBroker
from appliance.mqtt import MqttService, MqttState
from appliance.net import free_port
from tests.appliance.mqtt.conftest import Watcher, connected, external, until
from tests.harness.appliance import child_env
from tests.harness.fixtures import RunningBroker

TWO_MB = 2 * 1024 * 1024


async def test_connects_and_exchanges_qos1_messages(
    mqtt_service: MqttService, mosquitto: RunningBroker, watchers: Callable[..., Watcher]
) -> None:
    watcher = watchers(mosquitto.host, mosquitto.port)
    watcher.subscribe("ward-a/#")
    received: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

    async def on_event(topic: str, payload: bytes) -> None:
        await received.put((topic, payload))

    mqtt_service.subscribe("frigate-a/+/events", on_event)
    await mqtt_service.save_settings(external(mosquitto.host, mosquitto.port, base_topic="ward-a", client_id="qos1"))
    await connected(mqtt_service)
    assert (await watcher.next("ward-a/available"))[1] == b"online"
    late = watchers(mosquitto.host, mosquitto.port)  # "online" is retained: a client that comes later sees it
    late.subscribe("ward-a/available")
    assert await late.next("ward-a/available") == ("ward-a/available", b"online", True)

    watcher.publish("frigate-a/cam1/events", b'{"type": "new"}')
    watcher.publish("frigate-a/cam1/other", b"not for us")
    watcher.publish("frigate-a/cam2/events", b'{"type": "end"}')
    assert await asyncio.wait_for(received.get(), 5) == ("frigate-a/cam1/events", b'{"type": "new"}')
    assert await asyncio.wait_for(received.get(), 5) == ("frigate-a/cam2/events", b'{"type": "end"}')

    assert await mqtt_service.publish(mqtt_service.topic("cameras", 3, "motion"), "ON", qos=1, wait=True)
    assert await watcher.next("ward-a/cameras/3/motion") == ("ward-a/cameras/3/motion", b"ON", False)

    status = mqtt_service.status
    assert status.state == MqttState.CONNECTED
    assert status.received == 2  # the message on .../other matches no subscription and never reaches us
    assert status.published >= 2  # "online" and the motion message
    assert status.broker == f"mqtt://{mosquitto.host}:{mosquitto.port}"
    assert status.text("en") == f"Connected to mqtt://{mosquitto.host}:{mosquitto.port}."


async def test_survives_the_broker_stopping_and_starting_again(
    mqtt_service: MqttService, tmp_path: Path, watchers: Callable[..., Watcher]
) -> None:
    broker = MosquittoBroker(tmp_path / "broker", port=free_port())
    await broker.start()
    try:
        received: asyncio.Queue[bytes] = asyncio.Queue()

        async def on_event(topic: str, payload: bytes) -> None:
            await received.put(payload)

        mqtt_service.subscribe("frigate/events", on_event)
        await mqtt_service.save_settings(external(broker.host, broker.port, client_id="restart"))
        await connected(mqtt_service)
        watchers(broker.host, broker.port).publish("frigate/events", b"before")
        assert await asyncio.wait_for(received.get(), 5) == b"before"

        await broker.stop()  # the broker keeps nothing: the session and the subscription are gone with it
        await until(lambda: mqtt_service.status.state in (MqttState.CONNECTING, MqttState.ERROR),
                    what=lambda: str(mqtt_service.status.state))  # fmt: skip
        assert mqtt_service.status.reason is not None
        # A QoS 1 message published while the broker is away waits, and goes out after the reconnect.
        assert await mqtt_service.publish("wardcam/cameras/1/motion", b"queued", qos=1)

        await broker.start()
        watcher = watchers(broker.host, broker.port)
        watcher.subscribe("wardcam/cameras/#")
        await connected(mqtt_service, within_s=15)
        assert mqtt_service.status.connects == 2
        # The appliance subscribed again by itself: the next message arrives as before.
        await until(lambda: _publish_and_check(watcher, received), within_s=10, what=lambda: "resubscribed")
        assert mqtt_service.status.handler_failures == 0
    finally:
        await broker.stop()


async def _publish_and_check(watcher: Watcher, received: asyncio.Queue[bytes]) -> bool:
    """Publish "after" and tell whether it reached the handler (SUBSCRIBE may still be on its way)."""
    watcher.publish("frigate/events", b"after")
    try:
        return await asyncio.wait_for(received.get(), 0.5) == b"after"
    except TimeoutError:
        return False


async def test_other_clients_see_offline_when_the_appliance_is_killed(
    mosquitto: RunningBroker, tmp_path: Path, watchers: Callable[..., Watcher]
) -> None:
    watcher = watchers(mosquitto.host, mosquitto.port)
    watcher.subscribe("ward-kill/available")
    url = f"mqtt://{mosquitto.host}:{mosquitto.port}"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.appliance.mqtt.connection_process", str(tmp_path), url, "ward-kill",
        stdout=subprocess.PIPE, env=child_env(),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert await asyncio.wait_for(process.stdout.readline(), 20) == b"connected\n"
        assert (await watcher.next("ward-kill/available"))[1] == b"online"

        process.kill()  # SIGKILL: no goodbye, only the broker can tell
        assert (await watcher.next("ward-kill/available"))[1] == b"offline"
        late = watchers(mosquitto.host, mosquitto.port)  # a client that comes later finds "offline" retained
        late.subscribe("ward-kill/available")
        assert await late.next("ward-kill/available") == ("ward-kill/available", b"offline", True)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def test_a_clean_stop_says_offline_too(
    mqtt_service: MqttService, mosquitto: RunningBroker, watchers: Callable[..., Watcher]
) -> None:
    watcher = watchers(mosquitto.host, mosquitto.port)
    watcher.subscribe("ward-stop/available")
    await mqtt_service.save_settings(external(mosquitto.host, mosquitto.port, base_topic="ward-stop", client_id="s"))
    await connected(mqtt_service)
    assert (await watcher.next("ward-stop/available"))[1] == b"online"
    await mqtt_service.stop()
    assert (await watcher.next("ward-stop/available"))[1] == b"offline"
    assert mqtt_service.status.state == MqttState.DISCONNECTED


async def test_a_wrong_password_is_told_in_plain_words(
    mqtt_service: MqttService, mosquitto_factory: Callable[..., RunningBroker]
) -> None:
    broker = mosquitto_factory(username="wardcam", password="dung-mat-khau-1")
    await mqtt_service.save_settings(
        external(broker.host, broker.port, username="wardcam", password="sai-mat-khau", client_id="wrong")
    )
    await until(lambda: mqtt_service.status.state == MqttState.ERROR, what=lambda: mqtt_service.status.text("en"))
    status = mqtt_service.status
    assert status.reason is not None and status.reason.key == "mqtt.reason.bad_credentials"
    assert status.text("en") == (
        f"Cannot connect. The broker at {broker.host}:{broker.port} refused the user name or password."
    )
    assert status.text("vi") == (
        f"Không kết nối được. Máy chủ MQTT tại {broker.host}:{broker.port} từ chối tên đăng nhập hoặc mật khẩu."
    )

    await mqtt_service.save_settings({"password": "dung-mat-khau-1"})  # same broker and user: only the password
    await connected(mqtt_service)


async def test_nothing_listening_is_told_in_plain_words(mqtt_service: MqttService) -> None:
    port = free_port()
    await mqtt_service.save_settings(external("127.0.0.1", port, client_id="nobody"))
    await until(lambda: mqtt_service.status.state == MqttState.ERROR, what=lambda: mqtt_service.status.text("en"))
    assert (
        mqtt_service.status.text("en") == f"Cannot connect. Nothing answers at 127.0.0.1:{port}: is the broker running?"
    )


async def test_a_failing_handler_is_counted_and_delivery_goes_on(
    mqtt_service: MqttService, mosquitto: RunningBroker, watchers: Callable[..., Watcher]
) -> None:
    got: list[bytes] = []
    others: list[bytes] = []

    async def fragile(topic: str, payload: bytes) -> None:
        if payload == b"poison":
            raise ValueError("cannot handle this")
        got.append(payload)

    async def sturdy(topic: str, payload: bytes) -> None:
        others.append(payload)

    mqtt_service.subscribe("fragile/#", fragile)
    mqtt_service.subscribe("fragile/#", sturdy)
    await mqtt_service.save_settings(external(mosquitto.host, mosquitto.port, client_id="fragile"))
    await connected(mqtt_service)
    watcher = watchers(mosquitto.host, mosquitto.port)
    for payload in (b"one", b"poison", b"two", b"poison", b"three"):
        watcher.publish("fragile/x", payload)
    await until(lambda: len(got) == 3 and len(others) == 5, what=lambda: f"got {got}, others {others}")
    assert got == [b"one", b"two", b"three"]
    assert mqtt_service.status.handler_failures == 2
    assert mqtt_service.status.state == MqttState.CONNECTED


async def test_a_two_megabyte_payload_goes_both_ways(
    mqtt_service: MqttService, mosquitto: RunningBroker, watchers: Callable[..., Watcher]
) -> None:
    big = os.urandom(TWO_MB)
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_snapshot(topic: str, payload: bytes) -> None:
        await received.put(payload)

    mqtt_service.subscribe("big/in", on_snapshot)
    await mqtt_service.save_settings(external(mosquitto.host, mosquitto.port, client_id="big"))
    await connected(mqtt_service)
    watcher = watchers(mosquitto.host, mosquitto.port)
    watcher.subscribe("big/out")

    watcher.publish("big/in", big)
    assert await asyncio.wait_for(received.get(), 10) == big
    assert await mqtt_service.publish("big/out", big, qos=1, wait=True)
    assert (await watcher.next("big/out"))[1] == big

    watcher.publish("big/in", b"small")  # and the connection still works for small ones
    assert await asyncio.wait_for(received.get(), 5) == b"small"
