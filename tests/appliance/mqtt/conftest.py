"""Another MQTT client on the same broker, as Frigate or Home Assistant would be, and the appliance's connection."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from appliance.audit import AuditLog
from appliance.mqtt import MqttService, MqttState

TIMEOUT = 10.0


class Watcher:
    """A plain paho client (MQTT 3.1.1) that records what it receives; used from async tests."""

    def __init__(self, host: str, port: int, username: str | None = None, password: str | None = None) -> None:
        self.messages: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
        self._subscribed = threading.Event()
        self._connected = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = lambda c, u, flags, reason, props: self._connected.set()
        self.client.on_subscribe = lambda c, u, mid, reasons, props: self._subscribed.set()
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, bytes(m.payload), bool(m.retain)))
        self.client.connect(host, port, keepalive=10)
        self.client.loop_start()
        assert self._connected.wait(TIMEOUT), "the watcher could not connect"

    def subscribe(self, topic_filter: str) -> None:
        self._subscribed.clear()
        self.client.subscribe(topic_filter, qos=1)
        assert self._subscribed.wait(TIMEOUT), "no SUBACK"

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(TIMEOUT)

    async def next(self, topic: str | None = None, within_s: float = TIMEOUT) -> tuple[str, bytes, bool]:
        """Return the next message (on `topic`, skipping others)."""
        deadline = asyncio.get_running_loop().time() + within_s
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no message on {topic or 'any topic'} within {within_s} s")
            try:
                got = await asyncio.to_thread(self.messages.get, True, min(left, 0.5))
            except queue.Empty:
                continue
            if topic is None or got[0] == topic:
                return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def watchers() -> Iterator[Callable[..., Watcher]]:
    """Start watcher clients; all are closed at teardown."""
    made: list[Watcher] = []

    def make(host: str, port: int, username: str | None = None, password: str | None = None) -> Watcher:
        made.append(Watcher(host, port, username, password))
        return made[-1]

    yield make
    for w in made:
        w.close()


@pytest.fixture
async def mqtt_service(db: Path) -> AsyncIterator[MqttService]:
    """The appliance's MQTT connection over a real, migrated database; started, with MQTT off until set."""
    service = MqttService(AuditLog(db / "audit-head.json"), db)
    await service.start()
    yield service
    await service.stop()


async def until(
    check: Callable[[], bool | Awaitable[bool]], within_s: float = TIMEOUT, what: Callable[[], str] = lambda: ""
) -> None:
    """Wait until a check holds, or fail saying what was awaited (and what there is instead)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still waiting after {within_s} s: {what() or check}")
        await asyncio.sleep(0.02)


async def connected(service: MqttService, within_s: float = TIMEOUT) -> None:
    """Wait until the service is connected."""
    await until(lambda: service.status.state == MqttState.CONNECTED, within_s,
                lambda: f"not connected: {service.status.state} {service.status.text('en')}")  # fmt: skip


def external(host: str, port: int, **extra: Any) -> dict[str, Any]:
    """Return settings an admin types for another broker."""
    return {"broker": "external", "url": f"mqtt://{host}:{port}", **extra}
