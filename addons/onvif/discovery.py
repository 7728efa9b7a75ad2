"""Find ONVIF cameras with a WS-Discovery Probe: one SOAP message over UDP, answered by ProbeMatches.

ONVIF devices listen on the multicast group 239.255.255.250, port 3702 (WS-Discovery 2005/04,
SOAP-over-UDP). A Probe for the type dn:NetworkVideoTransmitter is sent twice, as SOAP-over-UDP
asks, from an ephemeral port; every camera answers that port directly with a ProbeMatch giving its
endpoint reference, its scopes (name, hardware, location) and its XAddrs (the device service URLs).
There is no "last answer", so a scan listens for a fixed time and reports its progress meanwhile.

The probe can also go to one address (a camera on another subnet, or a fake one on loopback in
the tests): WS-Discovery allows a directed probe, and cameras answer it the same way. The socket is
bound where the probe goes: to the loopback address for a probe to loopback (so that such a scan never
touches another interface), and to every interface otherwise, as the multicast probe needs.

Why not the `wsdiscovery` package: it runs its own threads that poll sockets, joins the multicast
group on every interface, and its search blocks the caller for the whole timeout with no progress;
an asyncio datagram endpoint does the one exchange we need in a page of code.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree

log = logging.getLogger(__name__)

MULTICAST_ADDRESS = "239.255.255.250"
WS_DISCOVERY_PORT = 3702
PROBE_REPEATS = 2  # SOAP-over-UDP sends a multicast message twice
REPEAT_DELAY_S = 0.25
PROGRESS_INTERVAL_S = 0.1
MAX_DATAGRAM = 65_507

ACTION_PROBE = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe"
DISCOVERY_TO = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

PROBE_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
 xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"
 xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"
 xmlns:dn="http://www.onvif.org/ver10/network/wsdl">
 <s:Header>
  <a:Action s:mustUnderstand="1">{action}</a:Action>
  <a:MessageID>{message_id}</a:MessageID>
  <a:ReplyTo><a:Address>{anonymous}</a:Address></a:ReplyTo>
  <a:To s:mustUnderstand="1">{to}</a:To>
 </s:Header>
 <s:Body>
  <d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe>
 </s:Body>
</s:Envelope>
"""

Progress = Callable[[float], None]


class ProbeNotSent(Exception):
    """The probe could not be sent at all (no network, no route to the address)."""


@dataclass(frozen=True)
class ProbeMatch:
    """One device's answer to the probe."""

    endpoint: str  # its endpoint reference, e.g. urn:uuid:...; stable across restarts
    sender: str  # the IP address the answer came from
    types: tuple[str, ...]
    scopes: tuple[str, ...]
    xaddrs: tuple[str, ...]

    @property
    def device_url(self) -> str:
        """Return the device service URL to use: one on the sender's address if any, else the first http one."""
        http = [x for x in self.xaddrs if urlsplit(x).scheme in ("http", "https")]
        on_sender = [x for x in http if urlsplit(x).hostname == self.sender]
        return (on_sender or http or [""])[0]

    @property
    def host(self) -> str:
        """Return the camera's address, as its device service URL names it."""
        return urlsplit(self.device_url).hostname or self.sender

    @property
    def port(self) -> int:
        """Return the port of the device service."""
        parts = urlsplit(self.device_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def scope(self, kind: str) -> str:
        """Return the first onvif://www.onvif.org/KIND/... scope value, decoded, or ''."""
        prefix = f"onvif://www.onvif.org/{kind}/"
        for scope in self.scopes:
            if scope.lower().startswith(prefix.lower()):
                return unquote(scope[len(prefix) :]).strip()
        return ""

    @property
    def name(self) -> str:
        """Return the name the camera gives itself, or its hardware, or its address."""
        return self.scope("name") or self.scope("hardware") or self.host

    @property
    def model(self) -> str:
        """Return the hardware (model) scope."""
        return self.scope("hardware")

    @property
    def manufacturer(self) -> str:
        """Return the manufacturer scope that many cameras add (not part of the ONVIF profile)."""
        return self.scope("mfr") or self.scope("manufacturer")


def probe_message(message_id: str) -> bytes:
    """Return the Probe envelope for ONVIF video transmitters."""
    text = PROBE_TEMPLATE.format(action=ACTION_PROBE, message_id=message_id, anonymous=ANONYMOUS, to=DISCOVERY_TO)
    return text.encode("utf-8")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _child(element: ElementTree.Element, name: str) -> ElementTree.Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _words(element: ElementTree.Element | None) -> tuple[str, ...]:
    return tuple((element.text or "").split()) if element is not None else ()


def parse_probe_matches(data: bytes, sender: str, message_id: str) -> list[ProbeMatch]:
    """Return the matches in a ProbeMatches answer to our probe; anything else gives an empty list."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:  # never expand entities from the network
        return []
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return []
    header = _child(root, "Header")
    body = _child(root, "Body")
    if header is None or body is None:
        return []
    relates_to = _child(header, "RelatesTo")
    if relates_to is None or (relates_to.text or "").strip() != message_id:
        return []  # an answer to someone else's probe, or a Hello
    matches = _child(body, "ProbeMatches")
    found = []
    for match in matches if matches is not None else ():
        if _local(match.tag) != "ProbeMatch":
            continue
        reference = _child(match, "EndpointReference")
        address = _child(reference, "Address") if reference is not None else None
        xaddrs = _words(_child(match, "XAddrs"))
        endpoint = (address.text or "").strip() if address is not None else ""
        if not xaddrs:
            continue  # a device that needs a Resolve first; cameras give their XAddrs at once
        found.append(
            ProbeMatch(
                endpoint=endpoint or xaddrs[0],
                sender=sender,
                types=_words(_child(match, "Types")),
                scopes=_words(_child(match, "Scopes")),
                xaddrs=xaddrs,
            )
        )
    return found


class _Listener(asyncio.DatagramProtocol):
    """Collect the answers to one probe."""

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.matches: dict[str, ProbeMatch] = {}
        self.error: Exception | None = None

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        for match in parse_probe_matches(data[:MAX_DATAGRAM], str(addr[0]), self.message_id):
            if match.endpoint not in self.matches:
                log.debug("ONVIF device %s at %s", match.endpoint, match.device_url)
            self.matches.setdefault(match.endpoint, match)

    def error_received(self, exc: Exception) -> None:
        self.error = exc


async def scan(
    timeout_s: float,
    progress: Progress | None = None,
    address: str = MULTICAST_ADDRESS,
    port: int = WS_DISCOVERY_PORT,
) -> list[ProbeMatch]:
    """Probe for ONVIF cameras and return those that answered within timeout_s, sorted by address."""
    loop = asyncio.get_running_loop()
    message_id = f"urn:uuid:{uuid.uuid4()}"
    message = probe_message(message_id)
    report = progress or (lambda fraction: None)
    transport, listener = await loop.create_datagram_endpoint(
        lambda: _Listener(message_id), local_addr=(bind_address(address), 0), family=socket.AF_INET
    )
    try:
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)  # stay on the local network
        start = loop.time()
        sends = [start + i * REPEAT_DELAY_S for i in range(PROBE_REPEATS)]
        report(0.0)
        while (elapsed := loop.time() - start) < timeout_s:
            while sends and loop.time() >= sends[0]:
                sends.pop(0)
                try:
                    transport.sendto(message, (address, port))
                except OSError as exc:
                    listener.error = exc
            report(min(elapsed / timeout_s, 1.0))
            await asyncio.sleep(PROGRESS_INTERVAL_S)
        if not listener.matches and listener.error is not None:
            raise ProbeNotSent(str(listener.error))
        report(1.0)
    finally:
        transport.close()
    return sorted(listener.matches.values(), key=lambda m: (_sort_key(m.host), m.port, m.endpoint))


def bind_address(target: str) -> str:
    """Return the local address to send a probe to `target` from: loopback for loopback, else every interface."""
    try:
        loopback = ipaddress.ip_address(target).is_loopback
    except ValueError:  # a host name: resolved when sending, from any interface
        loopback = False
    return "127.0.0.1" if loopback else "0.0.0.0"


def _sort_key(host: str) -> tuple[int, str]:
    try:
        return (int(ipaddress.ip_address(host)), "")
    except ValueError:
        return (1 << 128, host)
