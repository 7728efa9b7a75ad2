"""A server of the kind an attacker would point a camera's URL at: it asks every RTSP request for a
password (401 with a Basic challenge) and keeps everything it is sent, so that a test can tell whether
a camera's stored password reached it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
from types import TracebackType
from urllib.parse import quote

from appliance.net import free_port

CSEQ = re.compile(rb"^CSeq:\s*(\d+)", re.IGNORECASE | re.MULTILINE)
CHALLENGE = b'\r\nWWW-Authenticate: Basic realm="camera"\r\nContent-Length: 0\r\n\r\n'
AUTHORIZATION = re.compile(rb"^Authorization:\s*Basic\s+(\S+)", re.IGNORECASE | re.MULTILINE)


class CredentialTrap:
    """Listen on a loopback port, answer each RTSP request with 401, and keep what arrives."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received = bytearray()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam1"

    async def __aenter__(self) -> CredentialTrap:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object | TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(4096):
                self.received += chunk
                for cseq in CSEQ.findall(chunk) or [b"1"]:
                    writer.write(b"RTSP/1.0 401 Unauthorized\r\nCSeq: " + cseq + CHALLENGE)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def credentials_sent(self) -> list[str]:
        """Return every user:password the client sent in an Authorization header, decoded."""
        return [base64.b64decode(value).decode(errors="replace") for value in AUTHORIZATION.findall(self.received)]

    def saw(self, secret: str) -> bool:
        """Return True when the secret arrived in any form: plain, percent-encoded or in a Basic header."""
        raw = bytes(self.received).decode(errors="replace")
        return secret in raw or quote(secret, safe="") in raw or any(secret in c for c in self.credentials_sent())
