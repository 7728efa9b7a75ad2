"""A stand-in for Frigate's HTTP API on loopback: real HTTP, answers shaped after Frigate's OpenAPI description.

Frigate cannot run on these machines, so this small aiohttp server answers the endpoints WardCam's
client calls, under /api, with the shapes of Frigate's OpenAPI file (docs/static/frigate-api.yaml):
EventResponse, ReviewSegmentResponse, StartExportResponse, {success, message}. With `users`, it
behaves like Frigate's authenticated port 8971: POST /api/login checks the password and sets the
`frigate_token` cookie (an HS256 JWT, as Frigate's is), and every other endpoint but /api/version
answers 401 without a valid token (cookie or bearer); admin-only endpoints answer 403 to viewers.
Without users it is the open internal port 5000.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import yaml
from aiohttp import web

VERSION = "0.16.2-4d58206"
TOKEN_COOKIE = "frigate_token"
ADMIN_ONLY = {"/api/config/raw", "/api/config/save"}
PUBLIC = {"/api/version", "/api/login", "/api/"}


@cache
def jpeg(colour: str = "red") -> bytes:
    """Return a small real JPEG picture, made by ffmpeg."""
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"color=c={colour}:s=64x48", "-frames:v", "1",
         "-f", "mjpeg", "-"],
        capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def event_response(event_id: str, camera: str, label: str = "person", *, start: float, end: float | None = None,
                   sub_label: str | None = None, zones: tuple[str, ...] = (), top_score: float = 0.87,
                   has_snapshot: bool = True) -> dict[str, Any]:  # fmt: skip
    """Return one event as GET /api/events answers it (EventResponse)."""
    return {
        "id": event_id, "label": label, "sub_label": sub_label, "camera": camera, "start_time": start,
        "end_time": end, "false_positive": False, "zones": list(zones), "thumbnail": None, "has_clip": False,
        "has_snapshot": has_snapshot, "retain_indefinitely": False, "plus_id": None, "model_hash": "abc",
        "detector_type": "cpu", "model_type": "ssd",
        "data": {"box": [0.1, 0.2, 0.3, 0.4], "region": [0.0, 0.0, 0.5, 0.5], "score": top_score,
                 "top_score": top_score, "attributes": [], "type": "object"},
    }  # fmt: skip


@dataclass
class FakeFrigate:
    """Frigate's API on 127.0.0.1; tell it what it holds, then read what WardCam asked of it."""

    users: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (password, role)
    cameras: list[str] = field(default_factory=lambda: ["cong_truoc", "hem_5"])
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    snapshots: dict[str, bytes] = field(default_factory=dict)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    raw_config: str | None = None  # the config file; None = Frigate has none
    snapshot_failures: int = 0  # the next N snapshot requests fail (Frigate busy or restarting)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) as asked
    logins: list[str] = field(default_factory=list)  # the user names that logged in
    saved: list[tuple[str, str]] = field(default_factory=list)  # (save_option, YAML) of each config save
    port: int = 0
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeFrigate:
        app = web.Application(middlewares=[self._auth], client_max_size=4 * 1024 * 1024)
        app.router.add_get("/api/", self._healthy)
        app.router.add_get("/api/version", self._version)
        app.router.add_post("/api/login", self._login)
        app.router.add_get("/api/config", self._config)
        app.router.add_get("/api/config/raw", self._config_raw)
        app.router.add_post("/api/config/save", self._config_save)
        app.router.add_get("/api/events", self._events)
        app.router.add_get("/api/events/{event_id}", self._event)
        app.router.add_get("/api/events/{event_id}/snapshot.jpg", self._snapshot)
        app.router.add_get("/api/events/{event_id}/thumbnail.{ext}", self._thumbnail)
        app.router.add_get("/api/events/{event_id}/clip.mp4", self._clip)
        app.router.add_get("/api/review", self._review)
        app.router.add_post("/api/export/{camera}/start/{start}/end/{end}", self._export)
        app.router.add_get("/api/{camera}/latest.{ext}", self._latest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def forget_tokens(self) -> None:
        """Make every token given so far invalid (as when Frigate's JWT secret changes or tokens expire)."""
        self.secret = secrets.token_bytes(32)

    # --- authentication, as on port 8971 ---------------------------------------------------

    def _token(self, user: str, role: str) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64(json.dumps({"sub": user, "role": role, "exp": int(time.time()) + 86400}).encode())
        signature = _b64(hmac.new(self.secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        return f"{header}.{payload}.{signature}"

    def _role(self, request: web.Request) -> str | None:
        token = request.cookies.get(TOKEN_COOKIE, "")
        bearer = request.headers.get("Authorization", "")
        if bearer.startswith("Bearer "):
            token = bearer.removeprefix("Bearer ")
        try:
            header, payload, signature = token.split(".")
            expected = _b64(hmac.new(self.secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
            claims = json.loads(_unb64(payload))
        except ValueError:
            return None
        if not hmac.compare_digest(signature, expected) or claims.get("exp", 0) < time.time():
            return None
        return str(claims.get("role", "viewer"))

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if self.users and request.path not in PUBLIC:
            role = self._role(request)
            if role is None:
                return web.json_response({"message": "Unauthorized"}, status=401)
            if request.path in ADMIN_ONLY and role != "admin":
                return web.json_response({"message": "Forbidden"}, status=403)
        response: web.StreamResponse = await handler(request)
        return response

    async def _login(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("user"), str) or "password" not in body:
            return web.json_response({"detail": [{"type": "missing", "loc": ["body", "user"]}]}, status=422)
        known = self.users.get(body["user"])
        if known is None or not hmac.compare_digest(known[0].encode(), str(body["password"]).encode()):
            return web.json_response({"message": "Login failed"}, status=401)
        self.logins.append(body["user"])
        response = web.json_response({})
        response.set_cookie(TOKEN_COOKIE, self._token(body["user"], known[1]), httponly=True, samesite="Strict")
        return response

    # --- app ------------------------------------------------------------------------------------

    async def _healthy(self, request: web.Request) -> web.Response:
        return web.Response(text="Frigate is running. Alive and healthy!")

    async def _version(self, request: web.Request) -> web.Response:
        return web.Response(text=VERSION)

    async def _config(self, request: web.Request) -> web.Response:
        cameras = {n: {"name": n, "enabled": True, "detect": {"enabled": True, "fps": 5}} for n in self.cameras}
        return web.json_response({"mqtt": {"enabled": True, "host": "127.0.0.1", "topic_prefix": "frigate"},
                                  "cameras": cameras, "record": {"enabled": False}})  # fmt: skip

    async def _config_raw(self, request: web.Request) -> web.Response:
        if self.raw_config is None:
            return web.json_response({"success": False, "message": "Could not find file"}, status=404)
        return web.Response(text=json.dumps(self.raw_config), content_type="text/plain")

    async def _config_save(self, request: web.Request) -> web.Response:
        option = request.query.get("save_option")
        if option is None:
            return web.json_response({"detail": [{"type": "missing", "loc": ["query", "save_option"]}]}, status=422)
        text = (await request.read()).decode()
        if not text:
            return web.json_response({"success": False, "message": "Config with body param is required"}, status=400)
        try:
            config = yaml.safe_load(text)
            if not isinstance(config, dict) or not isinstance(config.get("cameras"), dict) or not config["cameras"]:
                raise ValueError("cameras: Field required")
        except (yaml.YAMLError, ValueError) as exc:
            # Frigate answers with the traceback of its config check, which may quote the config itself.
            message = f"\nConfig Error:\n\nTraceback (most recent call last):\n  input: {text[:300]}\n{exc}"
            return web.json_response({"success": False, "message": message}, status=400)
        self.saved.append((option, text))
        self.raw_config = text
        self.cameras = sorted(config["cameras"])
        message = "Config successfully saved."
        if option == "restart":
            message = "Config successfully saved, restarting (this can take up to one minute)..."
        return web.json_response({"success": True, "message": message})

    # --- events and media -----------------------------------------------------------------------

    async def _events(self, request: web.Request) -> web.Response:
        found = sorted(self.events.values(), key=lambda e: e["start_time"], reverse=True)
        camera = request.query.get("camera", "all")
        if camera != "all":
            found = [e for e in found if e["camera"] in camera.split(",")]
        if request.query.get("has_snapshot") == "1":
            found = [e for e in found if e["has_snapshot"]]
        return web.json_response(found[: int(request.query.get("limit", "100"))])

    async def _event(self, request: web.Request) -> web.Response:
        event = self.events.get(request.match_info["event_id"])
        if event is None:
            return web.json_response({"success": False, "message": "Event not found"}, status=404)
        return web.json_response(event)

    async def _snapshot(self, request: web.Request) -> web.Response:
        if self.snapshot_failures > 0:
            self.snapshot_failures -= 1
            return web.json_response({"success": False, "message": "Internal error"}, status=500)
        picture = self.snapshots.get(request.match_info["event_id"])
        if picture is None:
            return web.json_response({"success": False, "message": "Event not found"}, status=404)
        return web.Response(body=picture, content_type="image/jpeg")

    async def _thumbnail(self, request: web.Request) -> web.Response:
        if request.match_info["event_id"] not in self.events:
            return web.json_response({"success": False, "message": "Event not found"}, status=404)
        return web.Response(body=jpeg("blue"), content_type="image/jpeg")

    async def _clip(self, request: web.Request) -> web.Response:
        if request.match_info["event_id"] not in self.events:
            return web.json_response({"success": False, "message": "Event not found"}, status=404)
        return web.Response(body=b"\x00\x00\x00\x18ftypmp42" + bytes(4096), content_type="video/mp4")

    async def _latest(self, request: web.Request) -> web.Response:
        if request.match_info["camera"] not in self.cameras:
            return web.json_response({"success": False, "message": "Camera not found"}, status=404)
        return web.Response(body=jpeg("green"), content_type="image/jpeg")

    async def _review(self, request: web.Request) -> web.Response:
        found = self.reviews
        if request.query.get("severity"):
            found = [r for r in found if r["severity"] == request.query["severity"]]
        return web.json_response(found[: int(request.query.get("limit", "100"))])

    async def _export(self, request: web.Request) -> web.Response:
        camera = request.match_info["camera"]
        if camera not in self.cameras:
            return web.json_response({"success": False, "message": f"{camera} is not a valid camera."}, status=404)
        export_id = f"{camera}_{secrets.token_hex(3)}"
        return web.json_response({"success": True, "message": "Starting export of recording.",
                                  "export_id": export_id, "status": "queued"})  # fmt: skip
