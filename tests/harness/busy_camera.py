"""A camera that answers every RTSP request with an error WardCam has no words for (500 or 503, as a
camera with too many viewers does), for tests of what a failed connection test says.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from types import TracebackType
from typing import Self

from appliance.net import free_port

CSEQ = re.compile(rb"^CSeq:\s*(\d+)", re.IGNORECASE | re.MULTILINE)


class BusyCamera:
    """Listen on a loopback port, answer each RTSP request with `status` (and `headers`), keep what arrives."""

    def __init__(self, status: bytes = b"503 Service Unavailable", headers: bytes = b"") -> None:
        self.port = free_port()
        self.status = status
        self.headers = headers  # extra header lines, each ending in \r\n
        self.requests = 0
        self.received = bytearray()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam1"

    async def __aenter__(self) -> Self:
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
                    self.requests += 1
                    writer.write(b"RTSP/1.0 " + self.status + b"\r\nCSeq: " + cseq + b"\r\n" + self.headers
                                 + b"Content-Length: 0\r\n\r\n")  # fmt: skip
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
