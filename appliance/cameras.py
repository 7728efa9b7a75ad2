"""Sites and cameras: checked input, audited and announced changes, and the stream URLs the recorder opens.

A camera's password is write-only: it is stored for the recorder, which gets it inside the stream URL
from stream_url_with_credentials(), and it never appears in an audit entry, a log line or an answer.
Stream URLs are stored without credentials; the username and password have fields of their own.
The stored password goes only to the devices it was typed for: when a stream URL is changed to another
scheme, host or port, the stored password is dropped unless a new one is typed with the change (an admin
could otherwise point the URL at a server of their own and read the password from what it receives).

Deleting a site keeps its cameras and leaves them without a site, as the database's ON DELETE SET NULL
does: a camera keeps recording even when the street point it was filed under is gone. Users granted
only that site (police) no longer see those cameras until an admin files them under another site.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.auth.roles import SITE_RESTRICTED
from appliance.bus import CameraChanged, EventBus
from appliance.db.models.cameras import AudioPolicy, Camera, Site
from appliance.db.models.recordings import EvidenceLock
from appliance.db.models.settings import Setting
from appliance.errors import NotFound, WardCamError
from appliance.i18n import t
from appliance.recorder.failures import FailureKind
from appliance.recorder.probe import ProbeFailed, failure_key, probe
from appliance.recorder.streams import StreamInfo
from appliance.validation import field_errors

log = logging.getLogger(__name__)

STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https")
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}  # as ffmpeg uses them
URL_MAX_LENGTH = 1024  # the database column's length
SECRET_QUERY_KEYS = frozenset({"password", "passwd", "pass", "pwd"})
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"  # they could end up in an RTSP or HTTP header


# --- errors ------------------------------------------------------------------------------------


class FieldError(WardCamError):
    """An error about one field of the input; `field` names it, so that a form can show it beside it."""


class SiteNameTaken(FieldError):
    """Another site already has this name."""

    key = "cameras.error.site_name_taken"
    status = 409
    field = "name"


class CameraNameTaken(FieldError):
    """Another camera already has this name."""

    key = "cameras.error.camera_name_taken"
    status = 409
    field = "name"


class UnknownSite(FieldError):
    """The camera is filed under a site that does not exist."""

    key = "cameras.error.site_unknown"
    status = 422
    field = "site_id"


StreamUrlProblem = Literal["invalid", "scheme", "host", "port", "credentials"]


class CameraHasEvidence(WardCamError):
    """Footage of the camera is locked as evidence, so the camera cannot be deleted (it can be disabled)."""

    key = "cameras.error.has_evidence"
    status = 409


class InvalidStreamUrl(WardCamError):
    """A stream URL is malformed, has a scheme we cannot record, no host, or credentials inside it."""

    key = "error.field.stream_url_invalid"
    status = 422

    def __init__(self, problem: StreamUrlProblem) -> None:
        self.problem = problem
        super().__init__(f"error.field.stream_url_{problem}")


# --- stream URLs -------------------------------------------------------------------------------


def check_stream_url(url: str) -> str:
    """Return the URL if the recorder can open it and it holds no credentials; raise InvalidStreamUrl."""
    if not url or any(c.isspace() or not c.isprintable() for c in url):
        raise InvalidStreamUrl("invalid")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed [ around an IPv6 address
        raise InvalidStreamUrl("invalid") from exc
    if parts.scheme.lower() not in STREAM_SCHEMES or not url.lower().startswith(f"{parts.scheme.lower()}://"):
        raise InvalidStreamUrl("scheme")
    if "@" in parts.netloc or any(k.lower() in SECRET_QUERY_KEYS for k, _ in parse_qsl(parts.query)):
        raise InvalidStreamUrl("credentials")
    if not _port_given(parts.netloc):
        raise InvalidStreamUrl("port")
    try:
        parts.port  # noqa: B018 (raises ValueError for a number above 65535)
    except ValueError as exc:
        raise InvalidStreamUrl("port") from exc
    if not parts.hostname:
        raise InvalidStreamUrl("host")
    return url


def _port_given(netloc: str) -> bool:
    """Return False for a colon after the host that is not followed by a port number ("host:", "host:0", "host:x")."""
    _, bracket, after_ipv6 = netloc.rpartition("]")
    _, colon, port = (after_ipv6 if bracket else netloc).partition(":")
    return not colon or (port.isascii() and port.isdigit() and 0 < int(port) <= 65535)


def stream_origin(url: str) -> tuple[str, str, int] | None:
    """Return the (scheme, host, port) a stream URL connects to, the port filled in; None for no URL."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # not a URL (still being typed): matches no device
        return "", url, -1
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme, 0)


def password_may_follow(stored_urls: tuple[str, ...], new_urls: tuple[str, ...]) -> bool:
    """Return True when every new stream URL connects to a scheme, host and port the stored URLs did.

    Only then may the stored password be sent with the new URLs: it goes to no device it was not
    typed for. A changed path, or a sub stream added on the main stream's device, keeps it.
    """
    allowed = {origin for url in stored_urls if (origin := stream_origin(url)) is not None}
    return all(origin in allowed for url in new_urls if (origin := stream_origin(url)) is not None)


def without_credentials(url: str) -> str:
    """Return the URL with any user:password@ and password query parameters taken out, for showing it."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = "&".join(
        part for part in parts.query.split("&") if part and part.split("=")[0].lower() not in SECRET_QUERY_KEYS
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def url_with_credentials(url: str, username: str, password: str) -> str:
    """Return the URL with the username and password percent-encoded in it (@ : / # % included)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    if not username and not password:
        return urlunsplit(parts._replace(netloc=host))
    userinfo = quote(username, safe="")
    if password:
        userinfo += ":" + quote(password, safe="")
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


def stream_url_with_credentials(camera: Camera, *, sub: bool = False) -> str:
    """Return the camera's main (or sub) stream URL with its username and password percent-encoded in it."""
    url = camera.sub_url if sub and camera.sub_url else camera.main_url
    return url_with_credentials(url, camera.username, camera.password)


def _stream_url(value: str) -> str:
    """Check a stream URL inside a pydantic model: the problem becomes a per-field error with a key."""
    try:
        return check_stream_url(value)
    except InvalidStreamUrl as exc:
        # the web layer translates "error.field.<type>" into the caller's language
        raise PydanticCustomError(exc.key.removeprefix("error.field."), t(exc.key, "en")) from None


def _optional_stream_url(value: str) -> str:
    return _stream_url(value) if value else ""


def _none_as_empty(value: object) -> object:
    return "" if value is None else value


# --- input -------------------------------------------------------------------------------------

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
StreamUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=URL_MAX_LENGTH), AfterValidator(_stream_url)
]
OptionalStreamUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=URL_MAX_LENGTH),
    AfterValidator(_optional_stream_url),
    BeforeValidator(_none_as_empty),  # last, so that it runs first and the length check stays a string's
]
Username = Annotated[str, Field(max_length=128, pattern=NO_CONTROL_CHARACTERS)]
Password = Annotated[str, Field(max_length=256, pattern=NO_CONTROL_CHARACTERS)]
RetentionDays = Annotated[int, Field(ge=1, le=3650)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SiteInput(_Input):
    """A new site: a street point such as an alley or an intersection."""

    name: Name = Field(title="Name", description="What staff call the street point, e.g. Hẻm 12 Nguyễn Trãi")
    address: str = Field(default="", max_length=255, title="Address")
    latitude: Latitude | None = Field(default=None, title="Latitude", description="For the map; −90 to 90")
    longitude: Longitude | None = Field(default=None, title="Longitude", description="For the map; −180 to 180")
    notes: str = Field(default="", max_length=4000, title="Notes")


class SitePatch(_Input):
    """Changes to a site: only the fields given change; null clears latitude or longitude."""

    name: Name | None = None
    address: str | None = Field(default=None, max_length=255)
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    notes: str | None = Field(default=None, max_length=4000)


class CameraInput(_Input):
    """A new camera; the password is stored for the recorder and never shown again."""

    name: Name = Field(title="Name")
    site_id: int | None = Field(default=None, title="Site", description="The street point the camera is filed under")
    main_url: StreamUrl = Field(title="Main stream URL", description="rtsp://, rtsps://, http:// or https://")
    sub_url: OptionalStreamUrl = Field(default="", title="Sub stream URL", description="Smaller stream for live view")
    username: Username = Field(default="", title="Username")
    password: Password | None = Field(default=None, title="Password", description="Write-only")
    enabled: bool = Field(default=True, title="Record")
    retention_days: RetentionDays = Field(default=30, title="Keep recordings (days)")
    audio_policy: AudioPolicy = Field(default=AudioPolicy.COPY, title="Audio")


class CameraPatch(_Input):
    """Changes to a camera: only the fields given change.

    A null or empty password keeps the current one, unless main_url or sub_url now connects to another
    scheme, host or port (then it is dropped: type it again); clear_password removes it. A null site_id
    or sub_url clears it; null on any other field keeps its value.
    """

    name: Name | None = None
    site_id: int | None = None
    main_url: StreamUrl | None = None
    sub_url: OptionalStreamUrl | None = None
    username: Username | None = None
    password: Password | None = None
    clear_password: bool = False
    enabled: bool | None = None
    retention_days: RetentionDays | None = None
    audio_policy: AudioPolicy | None = None


NULLABLE_SITE_FIELDS = frozenset({"latitude", "longitude"})
NULLABLE_CAMERA_FIELDS = frozenset({"site_id", "sub_url"})


def _given(changes: BaseModel, nullable: frozenset[str]) -> dict[str, Any]:
    """Return the fields a patch sets; null on a field that cannot be empty means 'keep'."""
    return {k: v for k, v in changes.model_dump(exclude_unset=True).items() if v is not None or k in nullable}


# --- reading, as a user may see it -------------------------------------------------------------


def _restricted(who: Principal) -> bool:
    return who.role in SITE_RESTRICTED


async def sites_for(who: Principal) -> list[Site]:
    """Return the sites a user may see: all of them, or only those granted to a site-restricted user."""
    if _restricted(who):
        return await Site.filter(id__in=list(who.site_ids))
    return await Site.all()


async def site_for(who: Principal, site_id: int) -> Site:
    """Return one site the user may see; NotFound for the others, so that their existence does not show."""
    site = await Site.get_or_none(id=site_id)
    if site is None or (_restricted(who) and site.id not in who.site_ids):
        raise NotFound()
    return site


async def cameras_for(who: Principal) -> list[Camera]:
    """Return the cameras a user may see, with their sites; site-restricted users see their sites' only."""
    query = Camera.filter(site_id__in=list(who.site_ids)) if _restricted(who) else Camera.all()
    return await query.prefetch_related("site")


async def camera_for(who: Principal, camera_id: int) -> Camera:
    """Return one camera the user may see, with its site; NotFound for the others."""
    camera = await Camera.get_or_none(id=camera_id).prefetch_related("site")
    if camera is None or (_restricted(who) and _site_id(camera) not in who.site_ids):
        raise NotFound()
    return camera


def _urls(camera: Camera) -> tuple[str, ...]:
    return camera.main_url, camera.sub_url


def _site_id(camera: Camera) -> int | None:
    value: int | None = camera.site_id  # type: ignore[attr-defined]  # Tortoise adds <fk>_id
    return value


# --- changes -----------------------------------------------------------------------------------


async def _refuse_conflicts(name: str | None, site_id: int | None, camera_id: int = 0) -> None:
    """Raise UnknownSite for a site that does not exist, or CameraNameTaken for another camera's name."""
    if site_id is not None and not await Site.exists(id=site_id):
        raise UnknownSite(site_id=site_id)
    if name is not None and await Camera.filter(name=name).exclude(id=camera_id).exists():
        raise CameraNameTaken(name=name)


@dataclass
class Cameras:
    """Every change to sites and cameras: checked, written to the audit log, and announced on the bus."""

    audit: AuditLog
    bus: EventBus

    async def list_cameras(self, *, enabled_only: bool = False) -> list[Camera]:
        """Return the cameras by name, each with its site loaded (camera.site); read-only use."""
        query = Camera.filter(enabled=True) if enabled_only else Camera.all()
        return list(await query.order_by("name").prefetch_related("site"))

    async def get_camera(self, camera_id: int) -> Camera | None:
        """Return one camera with its site loaded, or None; read-only use."""
        return await Camera.get_or_none(id=camera_id).prefetch_related("site")

    async def create_site(self, data: SiteInput, *, who: Principal, ip: str = "") -> Site:
        """Create a site."""
        if await Site.exists(name=data.name):
            raise SiteNameTaken(name=data.name)
        try:
            site = await Site.create(**data.model_dump())
        except IntegrityError as exc:  # created by someone else in the meantime
            raise SiteNameTaken(name=data.name) from exc
        await self.audit.record("site.created", who=who, object_type="site", object_id=site.id, ip=ip,
                                detail={"name": site.name})  # fmt: skip
        return site

    async def update_site(self, site_id: int, changes: SitePatch, *, who: Principal, ip: str = "") -> Site:
        """Change the fields a patch gives; audit the names of those that changed."""
        site = await Site.get_or_none(id=site_id)
        if site is None:
            raise NotFound()
        changed = []
        for name, value in _given(changes, NULLABLE_SITE_FIELDS).items():
            if getattr(site, name) != value:
                setattr(site, name, value)
                changed.append(name)
        if not changed:
            return site
        if "name" in changed and await Site.filter(name=site.name).exclude(id=site.id).exists():
            raise SiteNameTaken(name=site.name)
        try:
            await site.save(update_fields=changed)
        except IntegrityError as exc:
            raise SiteNameTaken(name=site.name) from exc
        await self.audit.record("site.updated", who=who, object_type="site", object_id=site.id, ip=ip,
                                detail={"fields": sorted(changed)})  # fmt: skip
        return site

    async def delete_site(self, site_id: int, *, who: Principal, ip: str = "") -> list[int]:
        """Delete a site; its cameras stay, without a site. Return their ids."""
        site = await Site.get_or_none(id=site_id)
        if site is None:
            raise NotFound()
        async with in_transaction():
            camera_ids = sorted([int(c.id) for c in await Camera.filter(site_id=site.id).only("id")])
            await Camera.filter(id__in=camera_ids).update(site_id=None)
            await site.delete()
        await self.audit.record("site.deleted", who=who, object_type="site", object_id=site_id, ip=ip,
                                detail={"name": site.name, "cameras_unassigned": camera_ids})  # fmt: skip
        for camera_id in camera_ids:
            self.bus.publish(CameraChanged(camera_id=camera_id, change="updated"))
        return camera_ids

    async def create_camera(self, data: CameraInput, *, who: Principal, ip: str = "") -> Camera:
        """Create a camera."""
        await _refuse_conflicts(data.name, data.site_id)
        values = data.model_dump()
        values["password"] = values["password"] or ""
        try:
            camera = await Camera.create(**values)
        except IntegrityError:  # the name was taken or the site deleted in the meantime
            await _refuse_conflicts(data.name, data.site_id)
            raise
        await self.audit.record("camera.created", who=who, object_type="camera", object_id=camera.id, ip=ip,
                                detail={"name": camera.name, "site_id": data.site_id})  # fmt: skip
        self.bus.publish(CameraChanged(camera_id=camera.id, change="created"))
        await camera.fetch_related("site")
        return camera

    async def update_camera(self, camera_id: int, changes: CameraPatch, *, who: Principal, ip: str = "") -> Camera:
        """Change the fields a patch gives; audit the names of those that changed, never a value.

        Without a new password, a stream URL moved to another scheme, host or port drops the stored one.
        """
        camera = await Camera.get_or_none(id=camera_id)
        if camera is None:
            raise NotFound()
        given = _given(changes, NULLABLE_CAMERA_FIELDS)
        password = given.pop("password", None) or None
        clear_password = given.pop("clear_password", False)
        if "sub_url" in given:
            given["sub_url"] = given["sub_url"] or ""
        stored = _urls(camera)
        changed = []
        for name, value in given.items():
            if getattr(camera, name) != value:
                setattr(camera, name, value)
                changed.append(name)
        if password is not None and password != camera.password:
            camera.password = password
            changed.append("password")
        elif password is None and camera.password:
            moved = not password_may_follow(stored, _urls(camera))
            if clear_password or moved:
                if moved and not clear_password:
                    log.info("camera %s: stream address moved to another device; stored password dropped", camera.id)
                camera.password = ""
                changed.append("password")
        if not changed:
            await camera.fetch_related("site")
            return camera
        new_name = camera.name if "name" in changed else None
        new_site_id = _site_id(camera) if "site_id" in changed else None
        await _refuse_conflicts(new_name, new_site_id, camera.id)
        try:
            await camera.save(update_fields=[*changed, "updated_at"])
        except IntegrityError:
            await _refuse_conflicts(new_name, new_site_id, camera.id)
            raise
        await self.audit.record("camera.updated", who=who, object_type="camera", object_id=camera.id, ip=ip,
                                detail={"fields": sorted(changed)})  # fmt: skip
        self.bus.publish(CameraChanged(camera_id=camera.id, change="updated"))
        await camera.fetch_related("site")
        return camera

    async def delete_camera(self, camera_id: int, *, who: Principal, ip: str = "") -> None:
        """Delete a camera (its recordings are the recorder's and retention's business)."""
        camera = await Camera.get_or_none(id=camera_id)
        if camera is None:
            raise NotFound()
        if await EvidenceLock.exists(camera_id=camera_id):
            raise CameraHasEvidence(name=camera.name)
        await camera.delete()
        await self.audit.record("camera.deleted", who=who, object_type="camera", object_id=camera_id, ip=ip,
                                detail={"name": camera.name})  # fmt: skip
        self.bus.publish(CameraChanged(camera_id=camera_id, change="deleted"))
        log.info("camera %s deleted by %s", camera.name, who.username)

    async def save_map_settings(self, values: dict[str, Any], *, who: Principal, ip: str = "") -> MapSettings:
        """Validate and store where the sites map gets its tiles; audit the change."""
        return await _save_map_settings(values, self.audit, who=who, ip=ip)


# --- "Test connection" -------------------------------------------------------------------------

PROBE_LIMIT_S = 10.0


class ConnectionTest(_Input):
    """A camera form's current stream settings to try.

    A blank password means the stored camera's one, but only for URLs on the scheme, host and port it
    was stored for (password_may_follow); any other URL is tried without it.
    """

    camera_id: int | None = Field(default=None, title="Camera", description="The camera being edited, if any")
    main_url: StreamUrl = Field(title="Main stream URL")
    sub_url: OptionalStreamUrl = Field(default="", title="Sub stream URL")
    username: Username = Field(default="", title="Username")
    password: Password | None = Field(default=None, title="Password", description="Blank: the stored one")
    clear_password: bool = Field(default=False, description="Try without the stored password")


@dataclass(frozen=True)
class StreamCheck:
    """What one stream answered: its codecs, size and frame rate, or in a word why it could not be read."""

    info: StreamInfo | None = None
    failure: FailureKind | None = None

    @property
    def message_key(self) -> str:
        """Return the translation key of why the stream could not be read (empty when it could)."""
        return "" if self.info is not None else failure_key(self.failure or "unknown")


@dataclass(frozen=True)
class ConnectionReport:
    """The answers of a camera's main stream and, when it has one, its sub stream."""

    main: StreamCheck
    sub: StreamCheck | None = None


async def _check(url: str, limit_s: float) -> StreamCheck:
    try:
        return StreamCheck(info=await probe(url, limit_s))
    except ProbeFailed as exc:
        log.info("connection test failed: %s", exc.kind)  # exc.detail may name the host; never the password
        return StreamCheck(failure=exc.kind)


async def try_connection(data: ConnectionTest, limit_s: float = PROBE_LIMIT_S) -> ConnectionReport:
    """Probe the main and sub streams at once, each for at most limit_s; the password never leaves here.

    The stored password goes only to the scheme, host and port it was stored for.
    """
    password = data.password or ""
    if not password and not data.clear_password and data.camera_id is not None:
        stored = await Camera.get_or_none(id=data.camera_id).only("id", "password", "main_url", "sub_url")
        if stored is None:
            raise NotFound()
        if password_may_follow(_urls(stored), (data.main_url, data.sub_url)):
            password = stored.password
    urls = [url_with_credentials(data.main_url, data.username, password)]
    if data.sub_url:
        urls.append(url_with_credentials(data.sub_url, data.username, password))
    checks = await asyncio.gather(*(_check(url, limit_s) for url in urls))
    return ConnectionReport(main=checks[0], sub=checks[1] if len(checks) > 1 else None)


# --- the map -----------------------------------------------------------------------------------

MAP_SETTINGS_KEY = "map"
TILE_PLACEHOLDERS = ("{z}", "{x}", "{y}")


def _tile_url(value: str) -> str:
    """Accept an empty value (no tiles) or an http(s) URL template with {z}, {x} and {y}."""
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or not all(p in value for p in TILE_PLACEHOLDERS):
        # the web layer translates "error.field.tile_url_invalid"; pydantic's own message stays plain
        raise PydanticCustomError("tile_url_invalid", "not an http(s) tile URL template with z, x and y")
    return value


TileUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=URL_MAX_LENGTH, pattern=NO_CONTROL_CHARACTERS),
    AfterValidator(_tile_url),
]


class MapSettings(BaseModel):
    """Where the sites map gets its background tiles; none by default, for an appliance without internet."""

    model_config = ConfigDict(extra="forbid")

    tile_url: TileUrl = Field(default="", title="sites.map.tile_url", description="sites.map.tile_url_help")
    attribution: str = Field(default="", max_length=300, pattern=NO_CONTROL_CHARACTERS,
                             title="sites.map.attribution", description="sites.map.attribution_help")  # fmt: skip


class MapSettingsInvalid(WardCamError):
    """A map setting did not validate; each field gets its own translated message."""

    key = "error.invalid_request"
    status = 422

    def __init__(self, errors: ValidationError) -> None:
        super().__init__()
        self.errors = errors.errors()

    def field_messages(self, message: str, lang: str | None = None) -> dict[str, str]:
        """Return one translated message per field that did not validate."""
        return field_errors(self.errors, lang)


async def map_settings() -> MapSettings:
    """Return the stored map settings (the defaults when none are stored or they no longer validate)."""
    row = await Setting.get_or_none(key=MAP_SETTINGS_KEY)
    try:
        return MapSettings.model_validate(row.value if row else {})
    except ValidationError:
        log.warning("stored map settings are not valid; using the defaults")
        return MapSettings()


async def _save_map_settings(values: dict[str, Any], audit: AuditLog, *, who: Principal, ip: str = "") -> MapSettings:
    """Validate and store the map settings, and audit the change."""
    try:
        new = MapSettings.model_validate(values)
    except ValidationError as exc:
        raise MapSettingsInvalid(exc) from exc
    await Setting.update_or_create(key=MAP_SETTINGS_KEY, defaults={"value": new.model_dump(mode="json")})
    await audit.record("map.settings_changed", who=who, object_type="setting", object_id=MAP_SETTINGS_KEY, ip=ip,
                       detail={"tile_url": new.tile_url})  # fmt: skip
    return new
