"""Local notification targets on free loopback ports: a JSON webhook that takes messages, one that answers
500, one that hangs, and a server that speaks the Zalo Bot API's shape. Apprise talks to them for real."""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Mode = Literal["ok", "fail", "hang"]


@dataclass
class Received:
    """One request a receiver got."""

    at: float  # time.time() when it arrived
    path: str
    body: dict[str, Any]

    def attachment(self) -> bytes:
        """Return the first attachment's bytes (Apprise's json:// sends them base64)."""
        return base64.b64decode(self.body["attachments"][0]["base64"])


@dataclass
class Receiver:
    """An HTTP server that records JSON POSTs and answers as its mode says; the mode may change at any time."""

    mode: Mode = "ok"
    received: list[Received] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)  # the status code of each request (0: hung)
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None
    zalo_answer: dict[str, Any] | None = None  # for the Zalo shape: what to answer with HTTP 200

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def json_url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def messages(self) -> list[str]:
        return [r.body.get("message", r.body.get("text", "")) for r in self.received]

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"raw": raw.decode(errors="replace")}
                owner.received.append(Received(time.time(), self.path, body))
                if owner.mode == "hang":
                    owner.answered.append(0)
                    owner.release.wait(60)
                    return
                code = 500 if owner.mode == "fail" else 200
                answer = owner.zalo_answer if owner.zalo_answer is not None else {"ok": code == 200}
                payload = json.dumps(answer).encode()
                owner.answered.append(code)
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
