"""A user starts the real Mosquitto broker and talks MQTT to it."""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from appliance.broker import BrokerUnavailable, MosquittoBroker

if TYPE_CHECKING:
    from tests.harness.fixtures import RunningBroker

TIMEOUT = 5.0


def connect(host: str, port: int, username: str | None = None, password: str | None = None) -> ReasonCode:
    """Connect a paho client once and return the broker's CONNACK reason code."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    if username is not None:
        client.username_pw_set(username, password)
    result: queue.Queue[ReasonCode] = queue.Queue()

    def on_connect(c: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        result.put(reason)

    client.on_connect = on_connect
    client.connect(host, port, keepalive=10)
    client.loop_start()
    try:
        return result.get(timeout=TIMEOUT)
    finally:
        client.disconnect()
        client.loop_stop()


def publish_and_receive(host: str, port: int, topic: str, payload: bytes) -> bytes:
    """Subscribe to a topic, publish one message to it and return what arrives."""
    received: queue.Queue[bytes] = queue.Queue()
    subscribed = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2)
    sub.on_connect = lambda c, userdata, flags, reason, props: c.subscribe(topic, qos=1)
    sub.on_subscribe = lambda c, userdata, mid, reasons, props: subscribed.set()
    sub.on_message = lambda c, userdata, msg: received.put(bytes(msg.payload))
    sub.connect(host, port)
    sub.loop_start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2)
    try:
        assert subscribed.wait(TIMEOUT), "no SUBACK from the broker"
        pub.connect(host, port)
        pub.loop_start()
        pub.publish(topic, payload, qos=1).wait_for_publish(TIMEOUT)
        return received.get(timeout=TIMEOUT)
    finally:
        for client in (pub, sub):
            client.disconnect()
            client.loop_stop()


async def test_broker_relays_a_message(tmp_path: Path) -> None:
    async with MosquittoBroker(tmp_path) as broker:
        assert broker.host == "127.0.0.1"
        got = publish_and_receive(broker.host, broker.port, "wardcam/test/hello", b"hello camera")
        assert got == b"hello camera"
    assert "listener" in (tmp_path / "mosquitto.conf").read_text()


async def test_broker_with_password_refuses_a_wrong_one(tmp_path: Path) -> None:
    async with MosquittoBroker(tmp_path, username="ward", password="c0rrect horse") as broker:
        assert connect(broker.host, broker.port, "ward", "c0rrect horse").is_failure is False
        assert connect(broker.host, broker.port, "ward", "wrong").is_failure
        assert connect(broker.host, broker.port).is_failure  # anonymous
    assert "c0rrect horse" not in (tmp_path / "passwd").read_text()
    assert "c0rrect horse" not in (tmp_path / "mosquitto.conf").read_text()


async def test_password_never_reaches_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    async with MosquittoBroker(tmp_path, username="ward", password="hunter2-secret"):
        pass
    assert "hunter2-secret" not in caplog.text


async def test_missing_mosquitto_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("os.access", lambda path, mode: False)
    with pytest.raises(BrokerUnavailable, match="mosquitto binary is missing"):
        await MosquittoBroker(tmp_path).start()


async def test_broker_that_exits_early_reports_its_output(tmp_path: Path) -> None:
    async with MosquittoBroker(tmp_path / "first") as first:
        second = MosquittoBroker(tmp_path / "second", port=first.port)
        with pytest.raises(BrokerUnavailable, match=r"(?s)exited with code .*Address already in use"):
            await second.start()


def test_session_broker_fixture_relays_a_message(mosquitto: RunningBroker) -> None:
    assert publish_and_receive(mosquitto.host, mosquitto.port, "wardcam/fixture", b"ok") == b"ok"
