"""One paho-mqtt (2.x API) client for one broker, its network loop in paho's own thread.

paho calls its callbacks in its network thread; each one only hands its arguments to the asyncio
loop with `loop.call_soon_threadsafe`, so that everything the appliance does with a message runs
on the loop. paho reconnects by itself, waiting 1 s, then twice as long after each failure, up to
60 s (reset by a successful CONNACK). MQTT 5, with a persistent session: clean start off and a
session expiry of a day, so that QoS 1 messages sent while WardCam was away are delivered when it
comes back.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import ssl
from typing import Any, Protocol

from paho.mqtt.client import (
    Client,
    ConnectFlags,
    DisconnectFlags,
    MQTTMessage,
    MQTTMessageInfo,
)
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from appliance.mqtt.reasons import Reason, from_connack, from_error
from appliance.mqtt.settings import BrokerTarget

log = logging.getLogger(__name__)

RECEIVE_MAXIMUM = 1000
paho_log = logging.getLogger("appliance.mqtt.paho")

KEEPALIVE_S = 30
SESSION_EXPIRY_S = 86400  # the broker keeps our subscriptions and QoS 1 messages for a day
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 60
MAX_QUEUED = 10_000  # QoS 1 messages kept while the broker is away
FAREWELL_WAIT_S = 2.0


class Listener(Protocol):
    """What a client tells its owner; every call comes on the asyncio loop."""

    def client_connected(self, client: MqttClient, session_present: bool) -> None: ...

    def client_refused(self, client: MqttClient, reason: Reason) -> None: ...

    def client_lost(self, client: MqttClient) -> None: ...

    def client_message(self, client: MqttClient, topic: str, payload: bytes, retain: bool) -> None: ...

    def client_malformed(self, client: MqttClient, reason: str) -> None: ...

    def client_published(self, client: MqttClient, mid: int) -> None: ...


class _Paho(Client):
    """paho's client, remembering why the last attempt to connect failed (paho itself only retries)."""

    last_error: BaseException | None = None

    def reconnect(self) -> MQTTErrorCode:
        try:
            return super().reconnect()
        except OSError as exc:
            self.last_error = exc
            raise


def tls_context(target: BrokerTarget) -> ssl.SSLContext:
    """Return the TLS context for an mqtts:// broker: the system's CAs, or the given CA, or no checks."""
    context = ssl.create_default_context(cadata=target.ca_pem or None)
    if target.tls_insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class MqttClient:
    """One connection to one broker; the owner makes a new one when the settings change."""

    def __init__(
        self,
        target: BrokerTarget,
        client_id: str,
        availability_topic: str,
        listener: Listener,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.target = target
        self.client_id = client_id
        self.availability_topic = availability_topic
        self.listener = listener
        self.loop = loop
        self.connected = False
        self._closed = False
        self._acks: dict[int, asyncio.Future[None]] = {}
        self._inbox: collections.deque[tuple[Any, tuple[Any, ...]]] = collections.deque()
        self._wake_pending = False
        paho = _Paho(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5)
        paho.on_log = self._on_log
        if target.username:
            paho.username_pw_set(target.username, target.password or None)
        if target.tls:
            paho.tls_set_context(tls_context(target))
        # The broker says "offline" for us when the connection dies without a DISCONNECT.
        paho.will_set(availability_topic, b"offline", qos=1, retain=True)
        paho.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        paho.max_queued_messages_set(MAX_QUEUED)
        paho.on_connect = self._on_connect
        paho.on_connect_fail = self._on_connect_fail
        paho.on_disconnect = self._on_disconnect
        paho.on_message = self._on_message
        paho.on_publish = self._on_publish
        self._paho = paho

    # asyncio side -------------------------------------------------------------------------

    def start(self) -> None:
        """Start paho's network thread; it connects, and reconnects, by itself."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        properties.ReceiveMaximum = RECEIVE_MAXIMUM  # QoS 1 messages the broker may send before our acks
        self._paho.connect_async(self.target.host, self.target.port, keepalive=KEEPALIVE_S, clean_start=False,
                                 properties=properties)  # fmt: skip
        self._paho.loop_start()
        log.info("MQTT: connecting to %s as %s", self.target.url, self.client_id)

    async def close(self) -> None:
        """Say "offline" (retained), disconnect cleanly and stop the network thread."""
        if self._closed:
            return
        if self.connected:
            with contextlib.suppress(TimeoutError, ValueError):
                await asyncio.wait_for(self.publish(self.availability_topic, b"offline", 1, True, wait=True),
                                       FAREWELL_WAIT_S)  # fmt: skip
        self._closed = True
        self.connected = False
        self._paho.disconnect()
        await asyncio.to_thread(self._paho.loop_stop)
        for future in self._acks.values():
            future.cancel()
        self._acks.clear()
        log.info("MQTT: disconnected from %s", self.target.url)

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool, wait: bool = False) -> asyncio.Future[None]:
        """Hand a message to paho; the future ends when the broker has it (QoS 0: when it was written).

        While the broker is away, QoS 1 and 2 messages wait in paho's queue and go out after the
        reconnect; a QoS 0 message is dropped (the future fails with ConnectionError).
        """
        future: asyncio.Future[None] = self.loop.create_future()
        info: MQTTMessageInfo = self._paho.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            future.set_exception(ConnectionError("the queue of messages waiting for the broker is full"))
        elif info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and qos == 0:
            future.set_exception(ConnectionError("not connected"))
        elif info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            future.set_exception(ConnectionError(f"publish failed: {info.rc}"))
        elif wait:
            self._acks[info.mid] = future
        else:
            future.set_result(None)
        if future.done() and not wait:
            future.exception()  # a caller that does not wait does not see the failure as "never retrieved"
        return future

    def subscribe(self, filters: list[tuple[str, int]]) -> None:
        """Subscribe to topic filters (in one SUBSCRIBE); ignored while disconnected (done again on connect)."""
        if filters and self.connected:
            self._paho.subscribe([(f, SubscribeOptions(qos=q)) for f, q in filters])

    def unsubscribe(self, topic_filter: str) -> None:
        """Unsubscribe from one filter."""
        if self.connected:
            self._paho.unsubscribe(topic_filter)

    def _deliver(self, name: str, *args: Any) -> None:
        if not self._closed:
            getattr(self.listener, name)(self, *args)

    def _acked(self, mid: int) -> None:
        future = self._acks.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(None)
        if not self._closed:
            self.listener.client_published(self, mid)

    def _connected(self, session_present: bool) -> None:
        if self._closed:
            return
        self.connected = True
        self._paho.publish(self.availability_topic, b"online", qos=1, retain=True)
        self.listener.client_connected(self, session_present)

    def _lost(self) -> None:
        was = self.connected
        self.connected = False
        if was and not self._closed:
            self.listener.client_lost(self)

    # paho's thread --------------------------------------------------------------------------

    def _post(self, callback: Any, *args: Any) -> None:
        """Run a callback on the asyncio loop (from paho's thread), in order.

        Callbacks queue in an inbox and the loop is woken once for all that arrive before it drains
        them: a thousand messages a second cost a few wake-ups, not a thousand (deque appends and the
        flag are atomic under the GIL; the item is queued before the flag is read, so none is missed).
        """
        self._inbox.append((callback, args))
        if not self._wake_pending:
            self._wake_pending = True
            with contextlib.suppress(RuntimeError):  # the loop is closed: the appliance is gone
                self.loop.call_soon_threadsafe(self._drain_inbox)

    def _drain_inbox(self) -> None:
        self._wake_pending = False
        while self._inbox:
            callback, args = self._inbox.popleft()
            try:
                callback(*args)
            except Exception:  # one callback's failure must not lose the others
                log.exception("MQTT: callback %r failed", callback)

    def _on_connect(self, _c: Client, _u: Any, flags: ConnectFlags, reason: ReasonCode, _p: Properties | None) -> None:
        if reason.is_failure:
            refused = from_connack(reason.value, reason.getName(), self.target.address, bool(self.target.username))
            self._post(self._deliver, "client_refused", refused)
        else:
            self._post(self._connected, flags.session_present)

    def _on_connect_fail(self, _c: Client, _u: Any) -> None:
        failure = from_error(self._paho.last_error, self.target.address, self.target.host)
        self._post(self._deliver, "client_refused", failure)

    def _on_disconnect(self, _c: Client, _u: Any, _f: DisconnectFlags, _r: ReasonCode, _p: Properties | None) -> None:
        self._post(self._lost)

    def _on_message(self, _c: Client, _u: Any, message: MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            self._post(self._deliver, "client_malformed", "topic not UTF-8")
            return
        self._post(self._deliver, "client_message", topic,
                   bytes(message.payload), bool(message.retain))  # fmt: skip

    def _on_log(self, _c: Client, _u: Any, _level: int, text: str) -> None:
        # paho says ERROR for ordinary network events (a dropped socket); the service reports those itself.
        paho_log.debug("%s: %s", self.client_id, text)

    def _on_publish(self, _c: Client, _u: Any, mid: int, _r: ReasonCode, _p: Properties) -> None:
        self._post(self._acked, mid)
