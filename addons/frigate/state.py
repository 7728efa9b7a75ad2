"""What the add-on knows about Frigate while it runs: availability, last API contact, cameras, counters."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from addons.frigate.events import CAMERA_NAME, CameraState, FrigateReview

MAX_CAMERAS = 256  # Frigate camera names remembered; a flood of made-up names cannot grow the state
API_FRESH = timedelta(minutes=3)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ApiContact:
    """The last time WardCam asked Frigate's API, and what came of it."""

    at: datetime | None = None
    ok: bool = False
    version: str = ""
    error_key: str = ""
    error_params: dict[str, Any] = field(default_factory=dict)
    cameras: tuple[str, ...] = ()  # Frigate's cameras, from its config


@dataclass
class FrigateCamera:
    """One Frigate camera as MQTT told of it."""

    last_event: datetime | None = None
    status: dict[str, CameraState] = field(default_factory=dict)  # role -> state
    last_review: FrigateReview | None = None


@dataclass
class FrigateState:
    """Frigate's availability (MQTT and API), its cameras, and what the consumer did."""

    available: bool | None = None  # frigate/available: None until Frigate said anything
    available_since: datetime | None = None
    api: ApiContact = field(default_factory=ApiContact)
    cameras: dict[str, FrigateCamera] = field(default_factory=dict)
    remembered: tuple[str, ...] = ()  # Frigate's cameras as its API last listed them, kept across restarts
    events_received: int = 0
    events_stored: int = 0
    false_positives: int = 0
    reviews_received: int = 0
    malformed: int = 0
    store_failures: int = 0

    def camera(self, name: str) -> FrigateCamera | None:
        """Return a Frigate camera's entry, made on first sight (None once MAX_CAMERAS are known)."""
        entry = self.cameras.get(name)
        if entry is None and len(self.cameras) < MAX_CAMERAS:
            entry = self.cameras[name] = FrigateCamera()
        return entry

    def set_available(self, available: bool) -> None:
        """Take Frigate's online/offline message."""
        if available != self.available:
            self.available_since = now()
        self.available = available

    @property
    def api_fresh(self) -> bool:
        """Return whether the API answered recently."""
        return self.api.ok and self.api.at is not None and now() - self.api.at < API_FRESH

    @property
    def reachable(self) -> bool:
        """Return whether Frigate looks alive: online on MQTT, or its API answered recently."""
        return bool(self.available) or self.api_fresh

    def known_cameras(self) -> list[str]:
        """Return every Frigate camera name seen: in its config, or in its messages."""
        listed = self.api.cameras if self.api.ok else self.remembered
        return sorted(set(listed) | set(self.cameras))


def load_remembered(path: Path) -> tuple[str, ...]:
    """Return the Frigate camera names kept in a file (none when it is missing or not what was written)."""
    try:
        names = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    if not isinstance(names, list):
        return ()
    return tuple(n for n in names[:MAX_CAMERAS] if isinstance(n, str) and CAMERA_NAME.fullmatch(n))


def save_remembered(path: Path, names: tuple[str, ...]) -> None:
    """Keep Frigate's camera names for the next start (written whole, never half a file)."""
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(list(names)), encoding="utf-8")
    partial.replace(path)
