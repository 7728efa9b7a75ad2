"""Ask one ONVIF camera, with its username and password, for its model and its video streams.

The SOAP exchange is onvif-zeep-async's (it ships the ONVIF WSDL files, so nothing is fetched from
the internet): the device service's GetSystemDateAndTime (to sign with the camera's own clock),
GetServices (GetCapabilities on older cameras), GetDeviceInformation, then the media service's
GetProfiles and one GetStreamUri per profile. Requests are signed with a WS-Security
UsernameToken digest; the password never leaves this module except inside that digest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import zeep.exceptions

from addons.onvif.errors import (
    CameraTimeout,
    CameraUnreachable,
    NotOnvif,
    NoVideoProfiles,
    OnvifProblem,
    WrongPassword,
)
from appliance.cameras import without_credentials

log = logging.getLogger(__name__)

AUTH_FAULTS = frozenset({"notauthorized", "failedauthentication", "failedcheck", "invalidsecurity"})
STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
CODEC_NAMES = {"H264": "H.264", "H265": "H.265", "JPEG": "MJPEG", "MPEG4": "MPEG-4"}


@contextlib.contextmanager
def _process_state_kept() -> Iterator[None]:
    """Undo what onvif-zeep-async does to the process: root logging set up at import, proxies unset."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    proxies = {k: os.environ[k] for k in ("http_proxy", "https_proxy") if k in os.environ}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        os.environ.update(proxies)


with _process_state_kept():
    from onvif import ONVIFCamera
    from onvif.exceptions import ONVIFAuthError, ONVIFError, ONVIFTimeoutError


@dataclass(frozen=True)
class StreamProfile:
    """One media profile: a video stream the camera offers, with its RTSP URL (no credentials in it)."""

    token: str
    name: str
    codec: str
    width: int
    height: int
    fps: float | None
    bitrate_kbps: int | None
    uri: str

    @property
    def pixels(self) -> int:
        """Return the picture's size in pixels."""
        return self.width * self.height

    @property
    def resolution(self) -> str:
        """Return the picture's size as WIDTHxHEIGHT."""
        return f"{self.width}×{self.height}"


@dataclass(frozen=True)
class CameraDetails:
    """What a camera told about itself: who made it, and its video streams."""

    device_url: str
    manufacturer: str
    model: str
    firmware: str
    serial: str
    profiles: tuple[StreamProfile, ...]

    @property
    def main(self) -> StreamProfile:
        """Return the profile with the largest picture (the recording stream)."""
        return max(self.profiles, key=lambda p: (p.pixels, p.fps or 0))

    @property
    def sub(self) -> StreamProfile | None:
        """Return the profile with the smallest picture (for the grid), if it is another stream than the main."""
        smallest = min(self.profiles, key=lambda p: (p.pixels, p.fps or 0))
        return smallest if smallest.uri != self.main.uri else None


class _Camera(ONVIFCamera):  # type: ignore[misc]
    """An ONVIFCamera that talks to the device service URL the camera announced, whatever its path."""

    def __init__(self, device_url: str, username: str, password: str) -> None:
        parts = urlsplit(device_url)
        with _process_state_kept():
            super().__init__(parts.hostname or "", parts.port or 80, username, password, no_cache=True,
                             adjust_time=True)  # fmt: skip
        self.device_url = device_url

    def get_definition(self, name: str, port_type: str | None = None) -> tuple[str, str, str]:
        xaddr, wsdl, binding = super().get_definition(name, port_type)
        return (self.device_url if name == "devicemgmt" else xaddr), wsdl, binding


async def read_camera(device_url: str, username: str, password: str, timeout_s: float) -> CameraDetails:
    """Return the camera's model and video profiles; raise an OnvifProblem saying in a word what failed."""
    host = urlsplit(device_url).hostname or device_url
    camera = _Camera(device_url, username, password)
    try:
        async with asyncio.timeout(timeout_s):
            return await _read(camera, device_url)
    except Exception as exc:
        problem = classify(exc)
        log.info("ONVIF camera %s: %s (%s)", host, type(problem).__name__, type(exc).__name__)
        if problem is exc:
            raise
        raise problem from exc
    finally:
        with contextlib.suppress(Exception):
            await camera.close()


async def _read(camera: _Camera, device_url: str) -> CameraDetails:
    await camera.update_xaddrs()
    device = await camera.create_devicemgmt_service()
    info = await device.GetDeviceInformation()
    try:
        media = await camera.create_media_service()
    except ONVIFError as exc:
        raise NoVideoProfiles() from exc  # a device without a media service: not a camera
    profiles = []
    for profile in await media.GetProfiles() or []:
        encoder = getattr(profile, "VideoEncoderConfiguration", None)
        resolution = getattr(encoder, "Resolution", None)
        if encoder is None or resolution is None:
            continue  # audio or metadata only
        try:
            answer = await media.GetStreamUri({"StreamSetup": STREAM_SETUP, "ProfileToken": profile.token})
        except zeep.exceptions.Fault as exc:
            if _is_auth_fault(exc):
                raise
            log.info("ONVIF camera %s: profile %s gives no stream URL", camera.host, profile.token)
            continue
        uri = str(getattr(answer, "Uri", "") or "")
        if not uri:
            continue
        rate = getattr(encoder, "RateControl", None)
        profiles.append(
            StreamProfile(
                token=str(profile.token),
                name=str(getattr(profile, "Name", "") or profile.token),
                codec=CODEC_NAMES.get(str(encoder.Encoding), str(encoder.Encoding)),
                width=int(resolution.Width),
                height=int(resolution.Height),
                fps=_number(getattr(rate, "FrameRateLimit", None)),
                bitrate_kbps=_integer(getattr(rate, "BitrateLimit", None)),
                uri=without_credentials(uri),
            )
        )
    if not profiles:
        raise NoVideoProfiles()
    return CameraDetails(
        device_url=device_url,
        manufacturer=_text(info, "Manufacturer"),
        model=_text(info, "Model"),
        firmware=_text(info, "FirmwareVersion"),
        serial=_text(info, "SerialNumber"),
        profiles=tuple(profiles),
    )


def classify(exc: BaseException) -> OnvifProblem:
    """Return the plain-words problem behind an exception from the SOAP exchange."""
    for error in _chain(exc):
        if isinstance(error, OnvifProblem):
            return error
        if isinstance(error, TimeoutError | ONVIFTimeoutError):
            return CameraTimeout()
        if isinstance(error, ONVIFAuthError):
            return WrongPassword()
        if isinstance(error, zeep.exceptions.Fault):
            return WrongPassword() if _is_auth_fault(error) else NotOnvif()
        if isinstance(error, zeep.exceptions.TransportError):
            return WrongPassword() if error.status_code in (401, 403) else NotOnvif()
        if isinstance(error, aiohttp.ClientConnectorError | ConnectionRefusedError | ConnectionResetError):
            return CameraUnreachable()
        if isinstance(error, OSError) and not isinstance(error, aiohttp.ClientError):
            return CameraUnreachable()
    return NotOnvif()


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_auth_fault(fault: zeep.exceptions.Fault) -> bool:
    codes = [str(getattr(c, "localname", c)).rpartition(":")[2].lower() for c in fault.subcodes or []]
    codes.append(str(fault.code or "").rpartition(":")[2].lower())
    message = str(fault.message or "").lower()
    return bool(AUTH_FAULTS.intersection(codes)) or "not authorized" in message or "unauthorized" in message


def _text(info: Any, name: str) -> str:
    return str(getattr(info, name, "") or "").strip()


def _number(value: object) -> float | None:
    try:
        return float(value) if value is not None else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _integer(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None
