"""A fake ONVIF camera on loopback: recorded SOAP answers over real HTTP, and a WS-Discovery responder over UDP.

The SOAP answers are the files in soap/, written after ONVIF's schemas. The HTTP server checks the
WS-Security UsernameToken the way a camera does (ONVIF Core 5.12): the digest of nonce, created time
and password, and a created time within five minutes of its own clock; anything else gets the
NotAuthorized fault. Operations that ONVIF allows before authentication answer without a token.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from xml.etree import ElementTree

from aiohttp import web

SOAP = Path(__file__).with_name("soap")
PRE_AUTH = frozenset({"GetSystemDateAndTime", "GetServices", "GetCapabilities", "GetWsdlUrl"})
WSSE = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}"
WSU = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd}"
SOAP_XML = "application/soap+xml; charset=utf-8"
STREAM_PATHS = {"Profile_1": "/Streaming/Channels/101", "Profile_2": "/Streaming/Channels/102",
                "Profile_3": "/Streaming/Channels/103"}  # fmt: skip


def recorded(name: str, **values: str) -> str:
    """Return a recorded SOAP answer with its {placeholders} filled in."""
    text = (SOAP / f"{name}.xml").read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


@dataclass
class FakeOnvifCamera:
    """An ONVIF camera's device and media services, served on 127.0.0.1."""

    username: str = "admin"
    password: str = "Ph@t:tri#en/100%"
    has_get_services: bool = True  # False: a camera from before ONVIF 2.0, known only by GetCapabilities
    clock_offset: dt.timedelta = dt.timedelta(0)  # the camera's clock against ours
    operations: list[str] = field(default_factory=list)  # what was asked, in order
    refused: list[str] = field(default_factory=list)  # what was refused for a bad token
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def device_url(self) -> str:
        return f"{self.base}/onvif/device_service"

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.clock_offset

    async def start(self) -> FakeOnvifCamera:
        app = web.Application()
        app.router.add_post("/onvif/{service}", self._answer)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _answer(self, request: web.Request) -> web.Response:
        root = ElementTree.fromstring(await request.read())
        body = next(c for c in root if _local(c.tag) == "Body")
        operation_element = next(iter(body))
        operation = _local(operation_element.tag)
        self.operations.append(operation)
        if operation not in PRE_AUTH and not self._authorized(root):
            self.refused.append(operation)
            return web.Response(status=400, text=recorded("Fault-NotAuthorized"), content_type="application/soap+xml")
        answer = self._response(operation, operation_element)
        if answer is None:
            return web.Response(status=400, text=recorded("Fault-ActionNotSupported"),
                                content_type="application/soap+xml")  # fmt: skip
        return web.Response(text=answer, content_type="application/soap+xml")

    def _response(self, operation: str, element: ElementTree.Element) -> str | None:
        now = self.now()
        if operation == "GetSystemDateAndTime":
            return recorded(operation, year=str(now.year), month=str(now.month), day=str(now.day),
                            hour=str(now.hour), minute=str(now.minute), second=str(now.second))  # fmt: skip
        if operation == "GetServices" and self.has_get_services:
            return recorded(operation, base=self.base)
        if operation == "GetCapabilities":
            return recorded(operation, base=self.base)
        if operation in ("GetDeviceInformation", "GetProfiles"):
            return recorded(operation)
        if operation == "GetStreamUri":
            token = next((c.text or "" for c in element if _local(c.tag) == "ProfileToken"), "")
            return recorded(operation, uri=f"rtsp://127.0.0.1:554{STREAM_PATHS[token]}?transportmode=unicast")
        return None

    def _authorized(self, root: ElementTree.Element) -> bool:
        """Check the UsernameToken: PasswordDigest = Base64(SHA-1(nonce + created + password))."""
        token = root.find(f".//{WSSE}UsernameToken")
        if token is None:
            return False
        username = token.findtext(f"{WSSE}Username") or ""
        digest = token.findtext(f"{WSSE}Password") or ""
        nonce = base64.b64decode(token.findtext(f"{WSSE}Nonce") or "")
        created = token.findtext(f"{WSU}Created") or ""
        expected = base64.b64encode(hashlib.sha1(nonce + created.encode() + self.password.encode()).digest())
        try:
            when = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            return False
        fresh = abs((when - self.now()).total_seconds()) < 300
        return username == self.username and digest.encode() == expected and fresh


@asynccontextmanager
async def fake_camera(**options: object) -> AsyncIterator[FakeOnvifCamera]:
    """Serve a fake ONVIF camera for the duration of the block."""
    camera = await FakeOnvifCamera(**options).start()  # type: ignore[arg-type]
    try:
        yield camera
    finally:
        await camera.stop()


class FakeDiscoveryResponder(asyncio.DatagramProtocol):
    """Answer WS-Discovery probes on 127.0.0.1 as cameras do, with a ProbeMatch naming a device service URL."""

    def __init__(self, xaddrs: list[str], noise: bool = False) -> None:
        self.xaddrs = xaddrs  # one camera per device service URL
        self.endpoints = [f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, x)}" for x in xaddrs]
        self.noise = noise  # also send what a busy LAN carries: others' answers and garbage
        self.probes: list[str] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        root = ElementTree.fromstring(data)
        header = next(c for c in root if _local(c.tag) == "Header")
        body = next(c for c in root if _local(c.tag) == "Body")
        message_id = next(c.text or "" for c in header if _local(c.tag) == "MessageID")
        probe = next(c for c in body if _local(c.tag) == "Probe")
        types = next((c.text or "" for c in probe if _local(c.tag) == "Types"), "")
        self.probes.append(message_id)
        assert self.transport is not None
        if types and "NetworkVideoTransmitter" not in types:
            return
        if self.noise:
            self.transport.sendto(b"not xml at all", addr)
            self.transport.sendto(self._match(f"urn:uuid:{uuid.uuid4()}", self.endpoints[0], self.xaddrs[0]), addr)
        for endpoint, xaddr in zip(self.endpoints, self.xaddrs, strict=True):
            self.transport.sendto(self._match(message_id, endpoint, xaddr), addr)

    @staticmethod
    def _match(relates_to: str, endpoint: str, xaddrs: str) -> bytes:
        return recorded("ProbeMatches", message_id=f"urn:uuid:{uuid.uuid4()}", relates_to=relates_to,
                        endpoint=endpoint, xaddrs=xaddrs).encode()  # fmt: skip


@dataclass
class RunningResponder:
    """A discovery responder listening on 127.0.0.1:port."""

    port: int
    protocol: FakeDiscoveryResponder


@asynccontextmanager
async def discovery_responder(xaddrs: list[str], noise: bool = False) -> AsyncIterator[RunningResponder]:
    """Answer probes sent to 127.0.0.1 for the duration of the block."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: FakeDiscoveryResponder(xaddrs, noise), local_addr=("127.0.0.1", 0), family=socket.AF_INET
    )
    try:
        yield RunningResponder(transport.get_extra_info("sockname")[1], protocol)
    finally:
        transport.close()


@asynccontextmanager
async def not_a_camera() -> AsyncIterator[str]:
    """Serve a web page where a device service should be (a router's login page); yield its URL."""
    app = web.Application()

    async def login_page(request: web.Request) -> web.Response:
        return web.Response(text="<html><body><h1>Router login</h1><form><input name=pw></form></body></html>",
                            content_type="text/html")  # fmt: skip

    app.router.add_route("*", "/{tail:.*}", login_page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/onvif/device_service"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """Accept connections and never answer (a hung camera); yield its device service URL."""
    hold = asyncio.Event()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hold.wait()
        writer.close()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/onvif/device_service"
    finally:
        hold.set()
        server.close()
        await server.wait_closed()


def closed_port_url() -> str:
    """Return a device service URL on a loopback port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/onvif/device_service"
