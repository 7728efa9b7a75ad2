"""A small typed async client for Frigate's HTTP API, on httpx.

Frigate serves its API on two ports: 5000, inside its own network, without authentication; and
8971, where POST /api/login exchanges a user name and password for a JWT, which Frigate sets as
the `frigate_token` cookie. The client logs in on the first request that needs it, sends the token
as a bearer token (so it works whatever the cookie's flags), and logs in again once when Frigate
answers 401 (the token expired). The password is only ever in the login request's body: never in
a URL, a log line or an exception.

Every failure is one of the named errors in errors.py, each with a translated message.
"""

from __future__ import annotations

import json
import logging
import ssl
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

import httpx
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from addons.frigate.errors import (
    FrigateBadResponse,
    FrigateCertificate,
    FrigateConfigRefused,
    FrigateForbidden,
    FrigateLoginFailed,
    FrigateLoginNeeded,
    FrigateLoginThrottled,
    FrigateNotFound,
    FrigateProblem,
    FrigateTimeout,
    FrigateUnreachable,
)
from addons.frigate.models import EventInfo, ExportStarted, FrigateConfig, Outcome, ReviewInfo
from appliance.recorder.argv import redact

log = logging.getLogger(__name__)

TOKEN_COOKIE = "frigate_token"
JSON_LIMIT = 16 * 1024 * 1024  # an answer longer than this is not one Frigate's API gives
IMAGE_LIMIT = 8 * 1024 * 1024
CLIP_LIMIT = 2 * 1024 * 1024 * 1024
JPEG_START = b"\xff\xd8\xff"
REASON_LIMIT = 600  # characters of Frigate's refusal shown to staff

M = TypeVar("M", bound=BaseModel)


def api_base(url: str) -> str:
    """Return Frigate's API root for the address staff typed: http://host:5000 -> http://host:5000/api."""
    root = url.strip().rstrip("/")
    return root if root.endswith("/api") else root + "/api"


def _segment(value: str) -> str:
    """Quote one path segment (an event id, a camera name): nothing in it can leave its place in the path."""
    return quote(value, safe="")


class FrigateClient:
    """Frigate's HTTP API: version, config, events, media, reviews, exports, config save."""

    def __init__(
        self,
        url: str,
        username: str = "",
        password: str | SecretStr = "",
        *,
        timeout_s: float = 10.0,
        verify_tls: bool = True,
    ) -> None:
        self.base = api_base(url)
        self.username = username
        self._password = password if isinstance(password, SecretStr) else SecretStr(password)
        self._token: str | None = None
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), verify=verify_tls, follow_redirects=False)

    async def close(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def __aenter__(self) -> FrigateClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the API ---------------------------------------------------------------------------

    async def version(self) -> str:
        """Return Frigate's version, e.g. "0.16.2-4d58206" (public on both ports)."""
        body = await self._get("/version", auth=False)
        text = body.decode("utf-8", errors="replace").strip().strip('"')
        if not text or len(text) > 64 or "<" in text:
            raise FrigateBadResponse(what="version")
        return text

    async def config(self) -> FrigateConfig:
        """Return Frigate's running config (its cameras and MQTT settings)."""
        return self._model(FrigateConfig, await self._get("/config"))

    async def raw_config(self) -> str:
        """Return Frigate's config file as text (admin); "" when Frigate has none yet."""
        try:
            body = await self._get("/config/raw")
        except FrigateNotFound:
            return ""
        text = body.decode("utf-8", errors="replace")
        try:
            decoded = json.loads(text)  # Frigate sends the file as a JSON string
        except ValueError:
            return text
        return decoded if isinstance(decoded, str) else text

    async def events(
        self,
        *,
        camera: str | None = None,
        label: str | None = None,
        limit: int = 100,
        after: float | None = None,
        before: float | None = None,
        has_snapshot: bool | None = None,
        in_progress: bool | None = None,
    ) -> list[EventInfo]:
        """Return tracked objects, newest first, filtered as asked."""
        params: dict[str, Any] = {"limit": limit}
        for name, value in (("camera", camera), ("label", label), ("after", after), ("before", before)):
            if value is not None:
                params[name] = value
        for name, flag in (("has_snapshot", has_snapshot), ("in_progress", in_progress)):
            if flag is not None:
                params[name] = int(flag)
        return self._list(EventInfo, await self._get("/events", params=params))

    async def event(self, event_id: str) -> EventInfo:
        """Return one tracked object."""
        return self._model(EventInfo, await self._get(f"/events/{_segment(event_id)}"))

    async def event_snapshot(self, event_id: str, *, bbox: bool = False, crop: bool = False) -> bytes:
        """Return an event's snapshot as JPEG (FrigateNotFound when Frigate kept none)."""
        params = {"bbox": int(bbox), "crop": int(crop)}
        return self._jpeg(await self._get(f"/events/{_segment(event_id)}/snapshot.jpg", params=params,
                                          limit=IMAGE_LIMIT))  # fmt: skip

    async def event_thumbnail(self, event_id: str) -> bytes:
        """Return an event's small thumbnail as JPEG."""
        return self._jpeg(await self._get(f"/events/{_segment(event_id)}/thumbnail.jpg", limit=IMAGE_LIMIT))

    async def save_event_clip(self, event_id: str, target: Path) -> int:
        """Download an event's clip (MP4) into a file; return its size. Frigate only has clips of what it records."""
        url = f"{self.base}/events/{_segment(event_id)}/clip.mp4"
        size = 0
        partial = target.with_suffix(target.suffix + ".part")
        if self.username and self._token is None:
            await self.login()
        response = await self._send("GET", url, stream=True)
        try:
            self._check(response)
            with partial.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > CLIP_LIMIT:
                        raise FrigateBadResponse(what="clip")
                    out.write(chunk)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            await response.aclose()
        partial.replace(target)
        return size

    async def latest_jpeg(self, camera: str, *, height: int | None = None) -> bytes:
        """Return the newest frame Frigate has of one of its cameras, as JPEG."""
        params = {"height": height} if height else None
        return self._jpeg(await self._get(f"/{_segment(camera)}/latest.jpg", params=params, limit=IMAGE_LIMIT))

    async def reviews(
        self,
        *,
        cameras: list[str] | None = None,
        severity: str | None = None,
        limit: int = 100,
        after: float | None = None,
        before: float | None = None,
    ) -> list[ReviewInfo]:
        """Return review items (alerts and detections), newest first."""
        params: dict[str, Any] = {"limit": limit}
        if cameras:
            params["cameras"] = ",".join(cameras)
        for name, value in (("severity", severity), ("after", after), ("before", before)):
            if value is not None:
                params[name] = value
        return self._list(ReviewInfo, await self._get("/review", params=params))

    async def start_export(self, camera: str, start: float, end: float, name: str | None = None) -> ExportStarted:
        """Ask Frigate to export its recording of a camera between two moments (epoch seconds)."""
        path = f"/export/{_segment(camera)}/start/{start:.3f}/end/{end:.3f}"
        body: dict[str, Any] = {"source": "recordings"}
        if name:
            body["name"] = name[:256]
        return self._model(ExportStarted, await self._request("POST", path, json=body))

    async def save_config(self, yaml_text: str, *, restart: bool = True) -> str:
        """Replace Frigate's config file (admin) and restart Frigate, or only save; return Frigate's message.

        Frigate checks the config first; a refusal raises FrigateConfigRefused with its reason.
        """
        option = "restart" if restart else "saveonly"
        headers = {"Content-Type": "text/plain"}
        try:
            body = await self._request("POST", "/config/save", params={"save_option": option},
                                       content=yaml_text.encode(), headers=headers, keep_400=True)  # fmt: skip
        except _Refused as refused:
            raise FrigateConfigRefused(reason=_reason(refused.body, yaml_text)) from None
        outcome = self._model(Outcome, body)
        if not outcome.success:
            raise FrigateConfigRefused(reason=_reason(body, yaml_text))
        return outcome.message

    async def login(self) -> None:
        """Log in with the user name and password; keep the token for the next requests."""
        if not self.username:
            raise FrigateLoginNeeded()
        payload = {"user": self.username, "password": self._password.get_secret_value()}
        response = await self._send("POST", f"{self.base}/login", json=payload)
        await response.aread()
        if response.status_code in (400, 401, 403):
            raise FrigateLoginFailed(user=self.username)
        if response.status_code == 429:
            raise FrigateLoginThrottled()
        self._check(response)
        token = response.cookies.get(TOKEN_COOKIE)
        if not token:
            raise FrigateBadResponse(what="login")
        self._token = token
        log.info("logged in to Frigate at %s as %s", self.base, self.username)

    # --- plumbing ---------------------------------------------------------------------------

    async def _get(self, path: str, *, params: dict[str, Any] | None = None, limit: int = JSON_LIMIT,
                   auth: bool = True) -> bytes:  # fmt: skip
        return await self._request("GET", path, params=params, limit=limit, auth=auth)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        limit: int = JSON_LIMIT,
        auth: bool = True,
        keep_400: bool = False,
    ) -> bytes:
        """Send one request (logging in first or again when needed) and return the body of a 2xx answer."""
        if auth and self.username and self._token is None:
            await self.login()
        for attempt in (1, 2):
            response = await self._send(method, self.base + path, params=params, json=json, content=content,
                                        headers=headers, stream=True)  # fmt: skip
            try:
                body = await _read(response, limit)
            finally:
                await response.aclose()
            if response.status_code == 401 and auth and self.username and attempt == 1:
                self._token = None
                await self.login()
                continue
            if keep_400 and response.status_code == 400:
                raise _Refused(body)
            self._check(response)
            return body
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, method: str, url: str, *, stream: bool = False, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            request = self._http.build_request(method, url, headers=headers, **kwargs)
            response = await self._http.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            raise FrigateTimeout(url=self.base) from exc
        except httpx.ConnectError as exc:
            if _certificate_problem(exc):
                raise FrigateCertificate(url=self.base) from exc
            raise FrigateUnreachable(url=self.base) from exc
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise FrigateUnreachable(url=self.base) from exc
        log.debug("%s %s -> %d", method, redact(str(request.url)), response.status_code)
        return response

    def _check(self, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        if status == 401:
            raise FrigateLoginFailed(user=self.username) if self.username else FrigateLoginNeeded()
        if status == 403:
            raise FrigateForbidden()
        if status == 404:
            raise FrigateNotFound()
        if status == 429:
            raise FrigateLoginThrottled()
        raise FrigateBadResponse(what=f"HTTP {status}")

    @staticmethod
    def _model(model: type[M], body: bytes) -> M:
        try:
            return model.model_validate_json(body)
        except ValidationError as exc:
            raise FrigateBadResponse(what=model.__name__) from exc

    @staticmethod
    def _list(model: type[M], body: bytes) -> list[M]:
        try:
            return TypeAdapter(list[model]).validate_json(body)  # type: ignore[valid-type]
        except ValidationError as exc:
            raise FrigateBadResponse(what=f"list of {model.__name__}") from exc

    @staticmethod
    def _jpeg(body: bytes) -> bytes:
        if not body.startswith(JPEG_START):
            raise FrigateBadResponse(what="JPEG")
        return body


class _Refused(Exception):
    """A 400 answer whose body says why (config save)."""

    def __init__(self, body: bytes) -> None:
        super().__init__("refused")
        self.body = body


async def _read(response: httpx.Response, limit: int) -> bytes:
    """Read a streamed answer, refusing one longer than `limit`."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise FrigateBadResponse(what="size")
        chunks.append(chunk)
    return b"".join(chunks)


def _certificate_problem(exc: BaseException) -> bool:
    """Return whether a connection failed on the TLS certificate."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
        if seen is exc:
            break
    return False


def _reason(body: bytes, sent: str) -> str:
    """Return Frigate's reason for refusing a config: its message, last lines only, with every secret taken out."""
    try:
        message = Outcome.model_validate_json(body).message
    except ValidationError:
        message = body.decode("utf-8", errors="replace")
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    text = redact(" ".join(lines[-3:]))[-REASON_LIMIT:]
    for secret in _secrets_in(sent):
        text = text.replace(secret, "***")
    return text


def _secrets_in(yaml_text: str) -> set[str]:
    """Return the passwords in stream URLs of a config, so that an error quoting them can hide them."""
    found: set[str] = set()
    for word in yaml_text.split():
        if "://" in word and "@" in word:
            try:
                password = urlsplit(word.strip("'\"")).password
            except ValueError:
                continue
            if password:
                found.update({password, unquote(password)})
    return {s for s in found if len(s) >= 3}


__all__ = ["FrigateClient", "FrigateProblem", "api_base"]
