"""A camera that answers every RTSP request with an error WardCam has no words for (500 or 503, as a
camera with too many viewers does), for tests of what a failed connection test says.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from types import TracebackType

from appliance.net import free_port

CSEQ = re.compile(rb"^CSeq:\s*(\d+)", re.IGNORECASE | re.MULTILINE)


class BusyCamera:
    """Listen on a loopback port and answer each RTSP request with `status`."""

    def __init__(self, status: bytes = b"503 Service Unavailable") -> None:
        self.port = free_port()
        self.status = status
        self.requests = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam1"

    async def __aenter__(self) -> BusyCamera:
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
                for cseq in CSEQ.findall(chunk) or [b"1"]:
                    self.requests += 1
                    writer.write(b"RTSP/1.0 " + self.status + b"\r\nCSeq: " + cseq + b"\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
