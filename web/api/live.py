"""Live view: a camera's latest frame (JPEG), its live video (fragmented MP4 over a websocket) and the
grid's frames (JPEGs over one websocket per page).

The auth middleware sees plain HTTP requests only; websockets are checked here, the same way: the
session cookie (or a bearer token) must belong to a user with VIEW_LIVE, and a police user reaches
only the cameras of the sites granted to them. A browser's websocket must come from the panel's own
origin, so that another site cannot open one with the user's cookie.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import struct
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocketState

from appliance import cameras
from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.auth.sessions import COOKIE_NAME, resolve_session
from appliance.auth.tokens import resolve_token
from appliance.db.models.cameras import Camera
from appliance.errors import Forbidden, NotAuthenticated, NotFound, WardCamError
from appliance.i18n import best_language, t
from appliance.live.fmp4 import Fragment, InitSegment
from appliance.live.frames import Frame, FrameSource, NoFrameYet
from appliance.live.relay import KeyframeRelay, RelayViewer
from appliance.live.service import browser_decodes
from appliance.live.worker import LiveState
from web import context
from web.access import declare, require
from web.api.errors import error_body, request_language

log = logging.getLogger(__name__)

router = APIRouter(tags=["live"])

FIRST_FRAME_WAIT_S = 8.0  # a frame source that was idle needs 1-3 s (connection, then the next keyframe)
GRID_FRAME_EVERY_S = 0.9  # at most about one frame a second per tile
STATUS_EVERY_S = 2.0  # how often a viewer hears why no video comes
STILL_WATCHING_EVERY_S = 20.0
MAX_GRID_CAMERAS = 256
CLOSE_GONE = 4404  # the camera was deleted, or the viewer fell too far behind: the page may reconnect
CLOSE_LAGGING = 4408


# --- the latest frame ------------------------------------------------------------------------------


@router.get(
    "/api/cameras/{camera_id}/frame.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The camera's latest frame"}},
)
async def latest_frame(camera_id: int, request: Request, who: Principal = require(Permission.VIEW_LIVE)) -> Response:
    """Return the camera's latest frame as a JPEG (at most 640 pixels wide); 503 while there is none."""
    camera = await cameras.camera_for(who, camera_id)
    live = context.appliance().live
    frame = await live.latest_frame(camera.id, wait_s=FIRST_FRAME_WAIT_S)
    if frame is None:
        error = live.frames(camera.id).error
        if error is None:
            raise NoFrameYet()
        raise NoFrameYet("live.error.no_frame_reason", reason=t(f"recorder.failure.{error}", request_language(request)))
    await live.views.viewed(who, camera, "frame", context.client_ip(request))
    taken = datetime.fromtimestamp(frame.at, UTC)
    return Response(
        frame.jpeg,
        media_type="image/jpeg",
        headers={"Cache-Control": "no-store", "Last-Modified": format_datetime(taken, usegmt=True),
                 "X-Frame-Time": taken.isoformat(timespec="milliseconds")},
    )  # fmt: skip


declare("/api/cameras/{camera_id}/frame.jpg", Permission.VIEW_LIVE)


# --- websockets: who is it --------------------------------------------------------------------------


async def _principal(ws: WebSocket) -> Principal | None:
    """Resolve the user of a websocket as the middleware does for requests: bearer token, else cookie."""
    header = ws.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        return await resolve_token(token.strip()) if scheme.lower() == "bearer" else None
    cookie = ws.cookies.get(COOKIE_NAME)
    if cookie and len(cookie) < 200:
        return await resolve_session(cookie, context.appliance().accounts.session_policy)
    return None


def _same_origin(ws: WebSocket) -> bool:
    """Return whether a browser's websocket comes from a page of this panel (other clients send no Origin)."""
    origin = ws.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == ws.headers.get("host", "")


async def _refuse(ws: WebSocket, exc: WardCamError, lang: str) -> None:
    """Refuse the websocket handshake with the error's HTTP status and translated JSON, where possible."""
    body = error_body(exc.key, t(exc.key, lang, **exc.params))
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(JSONResponse(body, status_code=exc.status))
    else:
        await ws.close(code=4000 + exc.status, reason=body["error"]["message"][:120])


async def _admit(ws: WebSocket) -> Principal | None:
    """Return the user allowed to watch live, or refuse the handshake and return None."""
    try:
        who = await _principal(ws)
    except Exception:
        log.exception("resolving a websocket's user failed")
        who = None
    lang = who.language if who else best_language(ws.headers.get("accept-language"))
    if not _same_origin(ws):
        await _refuse(ws, Forbidden(), lang)
        return None
    if who is None:
        await _refuse(ws, NotAuthenticated(), lang)
        return None
    if not who.can(Permission.VIEW_LIVE):
        await _refuse(ws, Forbidden(), lang)
        return None
    return who


async def _until_closed(ws: WebSocket) -> None:
    """Return when the browser closes the websocket (anything it sends is ignored)."""
    with contextlib.suppress(WebSocketDisconnect):
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass


# --- one camera's live video ------------------------------------------------------------------------


@router.websocket("/api/cameras/{camera_id}/live")
async def live_video(ws: WebSocket, camera_id: int) -> None:
    """Send the camera's live video: a JSON `init` message before each init segment, then fragments.

    While no video comes, a JSON `status` message says why every few seconds. The browser appends the
    binary messages to a Media Source Extensions SourceBuffer of the MIME type the `init` message gives.
    """
    who = await _admit(ws)
    if who is None:
        return
    try:
        camera = await cameras.camera_for(who, camera_id)
    except NotFound as exc:
        await _refuse(ws, exc, who.language)
        return
    await ws.accept()
    live = context.appliance().live
    ip = context.client_ip(ws)
    await live.views.viewed(who, camera, "video", ip)
    relay = live.relay(camera.id)
    viewer = relay.join()
    closed = asyncio.create_task(_until_closed(ws))
    try:
        await _send_video(ws, who, camera, viewer, closed)
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass  # the browser went away mid-send
    finally:
        closed.cancel()
        relay.leave(viewer)
        live.views.still_watching(who, camera.id, "video")
        if ws.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await ws.close()


async def _send_video(ws: WebSocket, who: Principal, camera: Camera, viewer: RelayViewer,
                      closed: asyncio.Task[None]) -> None:  # fmt: skip
    """Send what the relay gives the viewer until the browser leaves or the viewer is dropped."""
    live = context.appliance().live
    relay = live.relay(camera.id)
    watched_at = time.monotonic()
    while not closed.done():
        waiting = asyncio.ensure_future(viewer.next())
        done, _ = await asyncio.wait({waiting, closed}, timeout=STATUS_EVERY_S, return_when=asyncio.FIRST_COMPLETED)
        if closed in done:
            waiting.cancel()
            return
        if waiting not in done:
            waiting.cancel()
            await ws.send_text(json.dumps(_status(relay.state, relay.error, who.language)))
        else:
            piece = waiting.result()
            if piece is None:
                await ws.close(code=CLOSE_LAGGING if camera.id in live.relays else CLOSE_GONE)
                return
            if isinstance(piece, InitSegment):
                await ws.send_text(json.dumps({"type": "init", "mime": piece.mime, "codec": piece.codec}))
            await ws.send_bytes(piece.data)
        if time.monotonic() - watched_at >= STILL_WATCHING_EVERY_S:
            watched_at = time.monotonic()
            live.views.still_watching(who, camera.id, "video")


def _status(state: LiveState, error: str | None, lang: str) -> dict[str, object]:
    """Return a status message for the browser: the state, and in words why no picture comes."""
    message = t(f"recorder.failure.{error}", lang) if error and state != LiveState.LIVE else t("live.connecting", lang)
    return {"type": "status", "state": state.value, "error": error, "message": message}


declare("/api/cameras/{camera_id}/live", Permission.VIEW_LIVE)


# --- the grid's frames ------------------------------------------------------------------------------

KEYFRAME_INIT, KEYFRAME, JPEG = 1, 2, 3  # the kinds of binary message the grid gets


def grid_message(camera_id: int, kind: int, payload: bytes) -> bytes:
    """Return a binary grid message: the camera id (4 bytes, big-endian), the kind (1 byte), the payload."""
    return struct.pack(">IB", camera_id, kind) + payload


class GridFeed:
    """One grid page's pictures: each camera's latest keyframe (or JPEG), at most about one a second.

    A camera whose keyframes the browser can decode gets its init segment (after a JSON `init` message
    with the MIME type) and then one keyframe fragment at a time, which the page shows in a paused
    video element; the others get JPEGs from the camera's frame source. Only the newest picture of a
    camera is kept for a page that reads slowly.
    """

    def __init__(self, ws: WebSocket, who: Principal, allowed: dict[int, Camera]) -> None:
        self.ws = ws
        self.who = who
        self.allowed = allowed
        self.live = context.appliance().live
        self.viewers: dict[int, RelayViewer] = {}  # cameras sent as keyframes
        self.jpeg_stops: dict[int, Callable[[], None]] = {}  # cameras sent as JPEGs
        self.pending: dict[int, bytes] = {}  # each camera's newest picture, waiting for its turn
        self.sent_at: dict[int, float] = {}
        self.dirty: set[int] = set()  # keyframe viewers with something queued
        self.shown: set[int] = set()  # every camera shown so far, for the audit's "still watching"
        self.failing: dict[str, str] = {}
        self.wake = asyncio.Event()

    def show(self, camera_ids: list[int], jpeg_ids: list[int]) -> list[Camera]:
        """Switch to these cameras (those in jpeg_ids as JPEGs); return those newly shown."""
        wanted = [i for i in dict.fromkeys(camera_ids) if i in self.allowed][:MAX_GRID_CAMERAS]
        as_jpeg = {i for i in wanted if i in jpeg_ids or not browser_decodes(self.allowed[i])}
        for camera_id in list(self.viewers):
            if camera_id not in wanted or camera_id in as_jpeg:
                self._stop(camera_id)
        for camera_id in list(self.jpeg_stops):
            if camera_id not in as_jpeg:
                self._stop(camera_id)
        added = []
        for camera_id in wanted:
            if camera_id in self.viewers or camera_id in self.jpeg_stops:
                continue
            if camera_id in as_jpeg:
                self.jpeg_stops[camera_id] = self.live.frames(camera_id).listen(self._on_frame)
            else:
                self._join(camera_id)
            if camera_id not in self.shown:
                added.append(self.allowed[camera_id])
        self.shown.update(wanted)
        return added

    def close(self) -> None:
        """Stop receiving every camera."""
        for camera_id in [*self.viewers, *self.jpeg_stops]:
            self._stop(camera_id)
        self.still_watching(self.shown)

    def still_watching(self, camera_ids: Iterable[int]) -> None:
        """Tell the audit that these cameras are (or were until now) on screen."""
        for camera_id in camera_ids:
            self.live.views.still_watching(self.who, camera_id, "grid")

    def _join(self, camera_id: int) -> None:
        self.viewers[camera_id] = self.live.keyframes(camera_id).join(functools.partial(self._queued, camera_id))
        self._queued(camera_id)

    def _stop(self, camera_id: int) -> None:
        viewer = self.viewers.pop(camera_id, None)
        relay = self.live.keyframe_relays.get(camera_id)
        if viewer is not None and relay is not None:
            relay.leave(viewer)
        stop = self.jpeg_stops.pop(camera_id, None)
        if stop is not None:
            stop()
        self.pending.pop(camera_id, None)
        self.dirty.discard(camera_id)

    def _queued(self, camera_id: int) -> None:
        self.dirty.add(camera_id)
        self.wake.set()

    def _on_frame(self, frame: Frame) -> None:
        self.pending[frame.camera_id] = grid_message(frame.camera_id, JPEG, frame.jpeg)
        self.wake.set()

    async def _take_keyframes(self) -> None:
        """Send new init segments at once, and keep only each camera's newest keyframe for its turn."""
        for camera_id in list(self.dirty):
            self.dirty.discard(camera_id)
            viewer = self.viewers.get(camera_id)
            if viewer is None:
                continue
            init: InitSegment | None = None
            newest: Fragment | None = None
            while not viewer.queue.empty():
                piece = viewer.queue.get_nowait()
                if piece is None:  # fell behind or the camera was deleted: start over
                    self._stop(camera_id)
                    if camera_id in self.live.keyframe_relays:  # not deleted
                        self._join(camera_id)
                    break
                if isinstance(piece, InitSegment):
                    init, newest = piece, None
                else:
                    newest = piece
            if init is not None:
                await self.ws.send_text(json.dumps({"type": "init", "camera": camera_id, "mime": init.mime}))
                await self.ws.send_bytes(grid_message(camera_id, KEYFRAME_INIT, init.data))
            if newest is not None:
                self.pending[camera_id] = grid_message(camera_id, KEYFRAME, newest.data)

    async def send(self) -> None:
        """Send each camera's newest picture when its turn comes, and failures as JSON."""
        status_at = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), STATUS_EVERY_S)
            self.wake.clear()
            await self._take_keyframes()
            now = time.monotonic()
            for camera_id in [c for c in self.pending if now - self.sent_at.get(c, 0.0) >= GRID_FRAME_EVERY_S]:
                self.sent_at[camera_id] = now
                await self.ws.send_bytes(self.pending.pop(camera_id))
            if self.pending:  # pictures that came too soon after the last one: send them when it is time
                due = min(self.sent_at[c] for c in self.pending) + GRID_FRAME_EVERY_S
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                self.wake.set()
            if now - status_at >= STATUS_EVERY_S:
                status_at = now
                await self._send_failures()
                self.still_watching([*self.viewers, *self.jpeg_stops])

    async def _send_failures(self) -> None:
        """Say which shown cameras give no picture and why, whenever that changes."""
        failing = {}
        workers: list[tuple[int, FrameSource | KeyframeRelay | None]] = [
            *((c, self.live.keyframe_relays.get(c)) for c in self.viewers),
            *((c, self.live.sources.get(c)) for c in self.jpeg_stops),
        ]
        for camera_id, worker in workers:
            if worker is not None and worker.state == LiveState.FAILING and worker.error:
                failing[str(camera_id)] = t(f"recorder.failure.{worker.error}", self.who.language)
        if failing != self.failing:
            self.failing = failing
            await self.ws.send_text(json.dumps({"type": "failing", "cameras": failing}))


@router.websocket("/api/live/frames")
async def grid_frames(ws: WebSocket) -> None:
    """Feed a live grid: the browser sends `{"cameras": [ids], "jpeg": [ids]}` (the tiles in view, and those
    whose video it cannot decode), and gets their pictures (see GridFeed)."""
    who = await _admit(ws)
    if who is None:
        return
    allowed = {c.id: c for c in await cameras.cameras_for(who)}
    await ws.accept()
    feed = GridFeed(ws, who, allowed)
    ip = context.client_ip(ws)
    sender = asyncio.create_task(feed.send())
    try:
        while True:
            receiving = asyncio.ensure_future(ws.receive_text())
            done, _ = await asyncio.wait({receiving, sender}, return_when=asyncio.FIRST_COMPLETED)
            if sender in done:
                receiving.cancel()
                sender.result()  # raises what stopped it (the browser went away)
                return
            try:
                message = json.loads(receiving.result())
                ids = [int(i) for i in message.get("cameras", [])]
                jpeg = [int(i) for i in message.get("jpeg", [])]
            except (ValueError, TypeError, AttributeError):
                continue  # not ours to answer: ignore what we do not understand
            added = feed.show(ids, jpeg)
            if added:
                await feed.live.views.grid_viewed(who, added, ip)
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
        feed.close()


declare("/api/live/frames", Permission.VIEW_LIVE)
