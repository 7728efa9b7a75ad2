"""The appliance's one MQTT connection: settings, state, subscriptions that outlive reconnects, publishing.

The rest of the appliance and the add-ons (through `ctx.mqtt`) use only `subscribe()`, `publish()`,
`status`, `topic()` and `count_malformed()`. Each subscription has its own queue and task, so that
its handler sees messages in the order they came, a slow handler holds up no other, and an
exception in a handler is counted and logged, never raised into the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
import re
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from paho.mqtt.client import topic_matches_sub
from pydantic import ValidationError

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.db.models.settings import Setting
from appliance.i18n import t
from appliance.mqtt.client import MqttClient
from appliance.mqtt.reasons import Reason
from appliance.mqtt.settings import SETTINGS_KEY, BrokerTarget, BuiltinBroker, MqttSettings, merge

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], Awaitable[None]]
StatusListener = Callable[["MqttStatus"], Awaitable[None] | None]
QUEUE_SIZE = 10_000  # messages waiting for one subscription's handler; beyond that they are dropped
LOG_EVERY_S = 60.0  # a repeated failure is logged at most this often
AVAILABILITY = "available"
MATCH_CACHE = 1000  # topics whose matching subscriptions are remembered


class MqttState(StrEnum):
    """Where the connection to the broker stands."""

    DISCONNECTED = "disconnected"  # off, or no broker to connect to
    CONNECTING = "connecting"
    CONNECTED = "connected"
    ERROR = "error"  # the last attempt failed; paho tries again with backoff


@dataclass
class MqttStatus:
    """The connection's state and counters, as the System page and /metrics show them."""

    state: MqttState = MqttState.DISCONNECTED
    reason: Reason | None = None
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    broker: str = ""  # mqtt://host:port, never with credentials
    client_id: str = ""
    received: int = 0
    published: int = 0
    handler_failures: int = 0
    malformed: int = 0
    dropped: int = 0
    connects: int = 0

    @property
    def connected(self) -> bool:
        """Return whether the broker is connected now."""
        return self.state == MqttState.CONNECTED

    def text(self, lang: str | None = None) -> str:
        """Return the state in plain words, with the reason when there is one."""
        state = t(f"mqtt.state.{self.state.value}", lang, broker=self.broker or "—")
        return f"{state} {self.reason.text(lang)}" if self.reason else state


class _Throttle:
    """Let a repeated log line through at most once every LOG_EVERY_S per key."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        if now - self._last.get(key, -LOG_EVERY_S) < LOG_EVERY_S:
            return False
        self._last[key] = now
        return True


@dataclass(eq=False)
class Subscription:
    """One handler on one topic filter, with its own queue and task."""

    topic_filter: str
    qos: int
    handler: MessageHandler
    queue: asyncio.Queue[tuple[str, bytes]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        """Return the handler's name for logs."""
        return getattr(self.handler, "__qualname__", repr(self.handler))


def validate_topic(topic: str) -> None:
    """Refuse a topic one cannot publish to."""
    if not topic or "+" in topic or "#" in topic or "\0" in topic or len(topic.encode()) > 65535:
        raise ValueError(f"not a topic one can publish to: {topic!r}")


def validate_filter(topic_filter: str) -> None:
    """Refuse a malformed topic filter."""
    levels = topic_filter.split("/")
    bad_hash = "#" in topic_filter and (levels[-1] != "#" or topic_filter.count("#") > 1)
    bad_plus = any("+" in level and level != "+" for level in levels)
    if not topic_filter or bad_hash or bad_plus or "\0" in topic_filter:
        raise ValueError(f"not a topic filter: {topic_filter!r}")


def default_client_id(data_dir: Path | None) -> str:
    """Return a client id stable for this box and data folder, unique among boxes on one broker."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:32] or "box"
    folder = hashlib.sha256(str(data_dir or "").encode()).hexdigest()[:6]
    return f"wardcam-{host}-{folder}"


class MqttService:
    """The appliance's one MQTT connection and its settings."""

    def __init__(self, audit: AuditLog | None = None, data_dir: Path | None = None) -> None:
        self.audit = audit
        self.data_dir = data_dir
        self.settings = MqttSettings()
        self.builtin: BuiltinBroker | None = None
        self.listeners: list[StatusListener] = []
        self._status = MqttStatus(reason=Reason("mqtt.reason.not_started"))
        self._client: MqttClient | None = None
        self._subscriptions: list[Subscription] = []
        self._matches: dict[str, list[Subscription]] = {}  # topic -> its subscriptions; cleared at each change
        self._confirmed: set[str] = set()  # filters the broker's session holds for the current client
        self._lock = asyncio.Lock()
        self._throttle = _Throttle()
        self._running = False

    # what the appliance and add-ons use ---------------------------------------------------

    @property
    def status(self) -> MqttStatus:
        """Return a copy of the connection's state and counters."""
        return replace(self._status)

    @property
    def base_topic(self) -> str:
        """Return the topic every WardCam topic starts with ("wardcam" unless changed)."""
        return self.settings.base_topic

    def topic(self, *levels: str | int) -> str:
        """Return a topic under the base topic: topic("cameras", 3, "motion") -> "wardcam/cameras/3/motion"."""
        return "/".join([self.base_topic, *(str(level) for level in levels)])

    def subscribe(self, topic_filter: str, handler: MessageHandler, qos: int = 1) -> Callable[[], None]:
        """Call `await handler(topic, payload)` for every message on the filter; return a function that unsubscribes.

        The subscription is kept across reconnects and broker changes. Messages reach the handler
        in the order they came; an exception in it is counted and logged, and the next message
        is delivered as usual.
        """
        validate_filter(topic_filter)
        if qos not in (0, 1, 2):
            raise ValueError("qos must be 0, 1 or 2")
        sub = Subscription(topic_filter, qos, handler)
        already = any(s.topic_filter == topic_filter and s.qos >= qos for s in self._subscriptions)
        self._subscriptions.append(sub)
        self._matches.clear()
        if self._client is not None and not already:
            self._client.subscribe([(topic_filter, qos)])
            if self._client.connected:
                self._confirmed.add(topic_filter)

        def unsubscribe() -> None:
            if sub not in self._subscriptions:
                return
            self._subscriptions.remove(sub)
            self._matches.clear()
            if sub.task is not None:
                sub.task.cancel()
            if self._client is not None and not any(s.topic_filter == topic_filter for s in self._subscriptions):
                self._client.unsubscribe(topic_filter)
                self._confirmed.discard(topic_filter)

        return unsubscribe

    async def publish(
        self,
        topic: str,
        payload: bytes | bytearray | str,
        qos: int = 1,
        retain: bool = False,
        *,
        wait: bool = False,
        timeout_s: float = 10.0,
    ) -> bool:
        """Publish a message; return whether it was handed over (with wait=True: whether the broker acknowledged it).

        While the broker is away, QoS 1 messages wait and are sent after the reconnect; a QoS 0
        message is dropped. Returns False when MQTT is off or has no broker.
        """
        validate_topic(topic)
        if qos not in (0, 1, 2):
            raise ValueError("qos must be 0, 1 or 2")
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        client = self._client
        if client is None:
            return False
        future = client.publish(topic, data, qos, retain, wait)
        if not wait:
            return not (future.done() and future.exception() is not None)
        done, _ = await asyncio.wait({future}, timeout=timeout_s)  # our own cancellation still propagates
        return bool(done) and not future.cancelled() and future.exception() is None

    def count_malformed(self, topic: str, why: str) -> None:
        """Count a payload a consumer could not use (bad JSON, wrong types, unknown camera...) and log it, throttled."""
        self._status.malformed += 1
        if self._throttle.allow(f"malformed {topic}"):
            log.warning("MQTT: malformed payload on %s: %s (%d so far)", topic, why, self._status.malformed)

    def add_listener(self, listener: StatusListener) -> Callable[[], None]:
        """Call listener(status) at every change of state; return a function that removes it."""
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener) if listener in self.listeners else None

    # settings --------------------------------------------------------------------------------

    async def load_settings(self) -> MqttSettings:
        """Read the stored settings (the defaults when none, or when they no longer validate)."""
        row = await Setting.get_or_none(key=SETTINGS_KEY)
        try:
            self.settings = MqttSettings.model_validate(row.value if row else {})
        except ValidationError:
            log.warning("stored MQTT settings are not valid; using the defaults")
            self.settings = MqttSettings()
        return self.settings

    async def save_settings(self, values: dict[str, Any], who: Principal | None = None, ip: str = "") -> MqttSettings:
        """Validate, store and apply new settings at once, and audit what changed (never the password)."""
        old = self.settings
        new = merge(old, values)
        await Setting.update_or_create(key=SETTINGS_KEY, defaults={"value": new.stored()})
        self.settings = new
        changed: dict[str, Any] = {}
        for name in MqttSettings.model_fields:
            before, after = getattr(old, name), getattr(new, name)
            if name == "password":
                before, after = before.get_secret_value(), after.get_secret_value()
                if before != after:
                    changed[name] = "removed" if not after else "changed"
            elif before != after:
                changed[name] = "changed" if name == "ca_pem" else [before, after]
        if self.audit is not None:
            await self.audit.record("mqtt.settings_changed", who=who, object_type="setting", object_id=SETTINGS_KEY,
                                    ip=ip, detail=changed)  # fmt: skip
        log.info("MQTT settings changed: %s", ", ".join(sorted(changed)) or "nothing")
        if self._running and (changed or not self._status.connected):  # saving again also retries at once
            await self._apply()
        return new

    async def set_builtin_broker(self, broker: BuiltinBroker | None) -> None:
        """Tell where the built-in broker listens (None: it stopped); used when the settings say "built-in"."""
        self.builtin = broker
        if self._running and self.settings.broker == "builtin":
            await self._apply()

    # lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the settings and connect (in the background: a missing broker never delays the start)."""
        global _current
        await self.load_settings()
        self._running = True
        _current = self
        await self._apply()

    async def stop(self) -> None:
        """Say "offline", disconnect, and stop every subscription's task."""
        global _current
        self._running = False
        async with self._lock:
            await self._close_client()
        for sub in self._subscriptions:
            if sub.task is not None:
                sub.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sub.task
                sub.task = None
        self._set_state(MqttState.DISCONNECTED, Reason("mqtt.reason.not_started"))
        if _current is self:
            _current = None

    def target(self) -> BrokerTarget | Reason:
        """Return the broker the settings point at, or the reason there is none."""
        s = self.settings
        if s.broker == "off":
            return Reason("mqtt.reason.off")
        if s.broker == "builtin":
            return self.builtin.target() if self.builtin else Reason("mqtt.reason.no_builtin")
        return BrokerTarget.from_url(s.url, s.username, s.password.get_secret_value(), s.ca_pem, s.tls_insecure)

    async def _apply(self) -> None:
        """Drop the current connection and open one to the broker the settings point at now."""
        async with self._lock:
            await self._close_client()
            target = self.target()
            if isinstance(target, Reason):
                self._set_state(MqttState.DISCONNECTED, target, broker="")
                return
            client_id = self.settings.client_id or default_client_id(self.data_dir)
            self._status.client_id = client_id
            self._client = MqttClient(target, client_id, self.topic(AVAILABILITY), self,
                                      asyncio.get_running_loop())  # fmt: skip
            self._set_state(MqttState.CONNECTING, None, broker=target.url)
            self._client.start()

    async def _close_client(self) -> None:
        client, self._client = self._client, None
        self._confirmed.clear()
        if client is not None:
            await client.close()

    def _set_state(self, state: MqttState, reason: Reason | None, broker: str | None = None) -> None:
        s = self._status
        if broker is not None:
            s.broker = broker
        if s.state == state and s.reason == reason:
            return
        s.state, s.reason, s.since = state, reason, datetime.now(UTC)
        snapshot = self.status
        for listener in list(self.listeners):
            try:
                result = listener(snapshot)
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    task.add_done_callback(_log_listener_failure)
            except Exception:
                log.exception("MQTT status listener failed")

    # what the client tells us (on the loop) --------------------------------------------------------

    def client_connected(self, client: MqttClient, session_present: bool) -> None:
        """Resubscribe what the broker's session lacks, and say so."""
        if client is not self._client:
            return
        if not session_present:
            self._confirmed.clear()
        wanted: dict[str, int] = {}
        for sub in self._subscriptions:
            wanted[sub.topic_filter] = max(sub.qos, wanted.get(sub.topic_filter, 0))
        missing = [(f, q) for f, q in wanted.items() if f not in self._confirmed]
        client.subscribe(missing)
        self._confirmed.update(f for f, _ in missing)
        self._status.connects += 1
        log.info("MQTT: connected to %s (session %s, %d subscriptions restored)", client.target.url,
                 "kept" if session_present else "new", len(missing))  # fmt: skip
        self._set_state(MqttState.CONNECTED, None)

    def client_refused(self, client: MqttClient, reason: Reason) -> None:
        """Show why the broker could not be reached; paho tries again."""
        if client is not self._client:
            return
        if self._status.reason != reason:
            log.warning("MQTT: cannot connect to %s: %s", client.target.url, reason.text("en"))
        self._set_state(MqttState.ERROR, reason)

    def client_lost(self, client: MqttClient) -> None:
        """The connection dropped; paho reconnects."""
        if client is not self._client:
            return
        log.warning("MQTT: lost the connection to %s; reconnecting", client.target.url)
        self._set_state(MqttState.CONNECTING, Reason("mqtt.reason.connection_lost", {"broker": client.target.address}))

    def client_message(self, client: MqttClient, topic: str, payload: bytes, retain: bool) -> None:
        """Hand a message to every subscription whose filter matches its topic."""
        if client is not self._client:
            return
        self._status.received += 1
        subs = self._matches.get(topic)
        if subs is None:
            if len(self._matches) >= MATCH_CACHE:
                self._matches.clear()
            subs = self._matches[topic] = [s for s in self._subscriptions if topic_matches_sub(s.topic_filter, topic)]
        for sub in subs:
            self._offer(sub, topic, payload)

    def client_malformed(self, client: MqttClient, why: str) -> None:
        """Count a message the client itself could not read."""
        self.count_malformed("?", why)

    def client_published(self, client: MqttClient, mid: int) -> None:
        """Count a message the broker took."""
        self._status.published += 1

    # delivery ----------------------------------------------------------------------------------

    def _offer(self, sub: Subscription, topic: str, payload: bytes) -> None:
        if sub.task is None or sub.task.done():
            sub.task = asyncio.get_running_loop().create_task(self._deliver(sub), name=f"mqtt {sub.topic_filter}")
        try:
            sub.queue.put_nowait((topic, payload))
        except asyncio.QueueFull:
            self._status.dropped += 1
            if self._throttle.allow(f"full {sub.topic_filter}"):
                log.warning("MQTT: %s is too slow; messages on %s are dropped (%d so far)", sub.name,
                            sub.topic_filter, self._status.dropped)  # fmt: skip

    async def _deliver(self, sub: Subscription) -> None:
        while True:
            topic, payload = await sub.queue.get()
            try:
                await sub.handler(topic, payload)
            except Exception:
                self._status.handler_failures += 1
                if self._throttle.allow(f"handler {sub.name}"):
                    log.exception("MQTT: handler %s failed on %s (%d failures so far)", sub.name, topic,
                                  self._status.handler_failures)  # fmt: skip


def _log_listener_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("MQTT status listener failed: %r", task.exception())


_current: MqttService | None = None
_idle: MqttService | None = None


def current() -> MqttService:
    """Return the MQTT connection of the appliance running in this process (an idle one while none runs)."""
    global _idle
    if _current is not None:
        return _current
    if _idle is None:
        _idle = MqttService()
    return _idle
