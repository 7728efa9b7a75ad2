"""Why a connection to the broker failed, as a translation key with its parameters."""

from __future__ import annotations

import errno
import socket
import ssl
from dataclasses import dataclass, field

from appliance.i18n import t

# CONNACK reason codes (MQTT 5) and the key that explains each to a person.
CONNACK_REASONS = {
    132: "mqtt.reason.protocol",  # unsupported protocol version
    133: "mqtt.reason.client_id_rejected",
    134: "mqtt.reason.bad_credentials",
    135: "mqtt.reason.bad_credentials",  # Mosquitto answers this, not 134, to a wrong password
    136: "mqtt.reason.broker_unavailable",
    137: "mqtt.reason.broker_unavailable",  # server busy
    138: "mqtt.reason.not_authorized",  # banned
    140: "mqtt.reason.bad_credentials",  # bad authentication method
}


@dataclass(frozen=True)
class Reason:
    """A translated explanation: the key and its parameters."""

    key: str
    params: dict[str, str | int] = field(default_factory=dict)

    def text(self, lang: str | None = None) -> str:
        """Return the explanation in the user's language."""
        return t(self.key, lang, **self.params)


def from_connack(code: int, name: str, address: str, with_login: bool) -> Reason:
    """Explain a refused CONNACK (with_login: whether a user name was sent)."""
    key = CONNACK_REASONS.get(code)
    if key == "mqtt.reason.bad_credentials" and not with_login:
        key = "mqtt.reason.needs_login"
    if key is None:
        return Reason("mqtt.reason.refused_by_broker", {"code": code, "reason": name, "broker": address})
    return Reason(key, {"broker": address})


def from_error(exc: BaseException | None, address: str, host: str) -> Reason:
    """Explain a failure to open the connection (DNS, TCP, TLS)."""
    if exc is None:
        return Reason("mqtt.reason.network", {"broker": address, "error": "?"})
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Reason("mqtt.reason.tls_verify", {"broker": address, "error": str(exc.verify_message or exc)})
    if isinstance(exc, ssl.SSLError):
        return Reason("mqtt.reason.tls", {"broker": address})
    if isinstance(exc, socket.gaierror):
        return Reason("mqtt.reason.unknown_host", {"host": host})
    if isinstance(exc, ConnectionRefusedError):
        return Reason("mqtt.reason.refused", {"broker": address})
    if isinstance(exc, TimeoutError):
        return Reason("mqtt.reason.timeout", {"broker": address})
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return Reason("mqtt.reason.reset", {"broker": address})
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return Reason("mqtt.reason.unreachable", {"broker": address})
    error = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
    return Reason("mqtt.reason.network", {"broker": address, "error": error})
