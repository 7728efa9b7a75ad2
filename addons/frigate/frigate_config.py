"""A Frigate config (YAML) made from WardCam's cameras, and merged into the config Frigate already has.

What it asks of Frigate: object detection on each camera's sub stream (the main stream when it has
none), role `detect` only; recording off (WardCam records); snapshots on, so that WardCam can
keep a picture of each detection; the objects to track (person, motorcycle, bicycle, car by
default); and MQTT to the broker WardCam listens to.

Passwords: the config staff see and download never holds one. Each camera's password is Frigate's
environment-variable substitution `{FRIGATE_CAM_<id>_PASSWORD}` (Frigate replaces `{FRIGATE_...}`
in stream paths and MQTT credentials from its environment), and the MQTT password is
`{FRIGATE_MQTT_PASSWORD}`. Only a push that staff confirmed with "include the cameras' passwords"
puts the real ones in, percent-encoded, for Frigate alone.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import yaml

from addons.frigate.config import FrigateOptions
from addons.frigate.mapping import frigate_names
from appliance.cameras import url_with_credentials, without_credentials

MQTT_PASSWORD_VARIABLE = "FRIGATE_MQTT_PASSWORD"
SNAPSHOT_DAYS = 10  # how long Frigate keeps its own snapshots; WardCam keeps its copies with the detection


def password_variable(camera_id: int) -> str:
    """Return the environment variable that holds a camera's password for Frigate."""
    return f"FRIGATE_CAM_{camera_id}_PASSWORD"


@dataclass(frozen=True)
class CameraSource:
    """One WardCam camera as the generated config needs it."""

    id: int
    name: str
    main_url: str
    sub_url: str
    username: str
    password: str  # kept on the server; only a confirmed push puts it in the config

    @property
    def detect_url(self) -> str:
        """Return the stream Frigate detects on: the sub stream, or the main one when there is none."""
        return without_credentials(self.sub_url or self.main_url)


@dataclass(frozen=True)
class Broker:
    """Where Frigate finds the MQTT broker WardCam listens to."""

    host: str
    port: int = 1883
    user: str = ""


def stream_path(camera: CameraSource, *, with_password: bool) -> str:
    """Return the stream URL for Frigate: with the placeholder for the password, or the password itself."""
    url = camera.detect_url
    if with_password:
        return url_with_credentials(url, camera.username, camera.password)
    if not camera.username and not camera.password:
        return url
    parts = urlsplit(url)
    userinfo = quote(camera.username, safe="")
    if camera.password:
        userinfo += ":{" + password_variable(camera.id) + "}"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))


def build(cameras: list[CameraSource], broker: Broker | None, options: FrigateOptions, *,
          with_passwords: bool = False) -> dict[str, Any]:  # fmt: skip
    """Return the Frigate config for these cameras, as data."""
    names = frigate_names((c.id, c.name) for c in cameras)
    mqtt: dict[str, Any] = {"enabled": False}
    if broker is not None:
        mqtt = {"enabled": True, "host": broker.host, "port": broker.port, "topic_prefix": options.topic_prefix,
                "client_id": options.topic_prefix.replace("/", "_")}  # fmt: skip
        if broker.user:
            mqtt["user"] = broker.user
            mqtt["password"] = "{" + MQTT_PASSWORD_VARIABLE + "}"
    return {
        "mqtt": mqtt,
        "record": {"enabled": False},
        "snapshots": {"enabled": True, "retain": {"default": SNAPSHOT_DAYS}},
        "objects": {"track": list(options.objects)},
        "cameras": {
            names[camera.id]: {
                "ffmpeg": {
                    "inputs": [{"path": stream_path(camera, with_password=with_passwords), "roles": ["detect"]}]
                },
                "detect": {"enabled": True, "fps": options.detect_fps},
            }
            for camera in sorted(cameras, key=lambda c: c.id)
        },
    }


def render(config: dict[str, Any]) -> str:
    """Return the config as YAML, in the order it was built."""
    return str(yaml.safe_dump(config, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000))


def merge(existing: str, ours: dict[str, Any]) -> dict[str, Any]:
    """Return Frigate's current config with WardCam's parts put in, and everything else of Frigate's kept.

    WardCam sets: MQTT's address, port and prefix (Frigate's own user and password stay if it has
    them), recording off, snapshots on, the objects to track, and for each of its cameras the
    detect input and detection; a camera's other settings in Frigate (zones, masks, ...) and
    Frigate's cameras that are not WardCam's stay as they are, as do detectors and the rest.
    """
    try:
        loaded = yaml.safe_load(existing) if existing.strip() else {}
    except yaml.YAMLError:
        loaded = {}
    merged: dict[str, Any] = copy.deepcopy(loaded) if isinstance(loaded, dict) else {}

    mqtt = _section(merged, "mqtt")
    theirs = dict(mqtt)
    mqtt.update(ours["mqtt"])
    for key in ("user", "password"):
        if theirs.get(key) and ours["mqtt"].get("enabled"):
            mqtt[key] = theirs[key]
    _section(merged, "record")["enabled"] = False
    snapshots = _section(merged, "snapshots")
    snapshots["enabled"] = True
    snapshots.setdefault("retain", ours["snapshots"]["retain"])
    _section(merged, "objects")["track"] = list(ours["objects"]["track"])

    cameras = _section(merged, "cameras")
    for name, camera in ours["cameras"].items():
        target = cameras.get(name)
        if not isinstance(target, dict):
            cameras[name] = copy.deepcopy(camera)
            continue
        ffmpeg = _section(target, "ffmpeg")
        kept = [i for i in ffmpeg.get("inputs") or [] if isinstance(i, dict) and "detect" not in (i.get("roles") or [])]
        ffmpeg["inputs"] = [*camera["ffmpeg"]["inputs"], *kept]
        _section(target, "detect").update(camera["detect"])
        if isinstance(target.get("record"), dict):
            target["record"]["enabled"] = False
    return merged


def _section(config: dict[str, Any], key: str) -> dict[str, Any]:
    """Return a mapping section of the config, making it (or replacing a non-mapping) when needed."""
    value = config.get(key)
    if not isinstance(value, dict):
        value = config[key] = {}
    return value
