"""What staff set for motion detection: the add-on's options, and each camera's settings with its zones and masks.

The add-on's options (frame rate, analysis width, quiet time) are drawn by the Add-ons page's
generated form. A camera's settings hold polygons, which only a drawing can edit, so they are kept
apart, in the add-on's folder (`cameras.json`), and edited on /addon/motion/cameras; saving them
applies at once to the running camera, without restarting its ffmpeg.

Polygon points are normalised (0..1 across and down the picture), so that they fit any stream size.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

log = logging.getLogger("addons.motion")

MAX_POLYGONS = 16
MAX_POINTS = 32
NAME_LENGTH = 40
SETTINGS_FILE = "cameras.json"

Point = tuple[float, float]


class MotionOptions(BaseModel):
    """How often and how large each camera's sub stream is analysed, and when an episode of motion ends."""

    model_config = ConfigDict(extra="forbid")

    fps: int = Field(default=3, ge=2, le=5, title="addon.motion.option.fps", description="addon.motion.option.fps_help")
    width: int = Field(default=320, ge=160, le=640, multiple_of=2, title="addon.motion.option.width",
                       description="addon.motion.option.width_help")  # fmt: skip
    quiet_s: int = Field(default=10, ge=2, le=300, title="addon.motion.option.quiet_s",
                         description="addon.motion.option.quiet_s_help")  # fmt: skip


class Polygon(BaseModel):
    """A zone (named: detections list the zones that saw motion) or a mask (where motion is ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="", max_length=NAME_LENGTH)
    points: tuple[Point, ...] = Field(min_length=3, max_length=MAX_POINTS)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("points")
    @classmethod
    def _inside(cls, value: tuple[Point, ...]) -> tuple[Point, ...]:
        if any(not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0) for x, y in value):
            raise PydanticCustomError("addon.motion.error.point", "addon.motion.error.point")
        return tuple((round(x, 4), round(y, 4)) for x, y in value)


class CameraMotion(BaseModel):
    """One camera's motion settings; every camera starts with these defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    sensitivity: int = Field(default=50, ge=1, le=100)  # higher: smaller changes of brightness count as motion
    min_area_pct: float = Field(default=0.5, ge=0.05, le=50.0)  # of the whole picture
    zones: tuple[Polygon, ...] = Field(default=(), max_length=MAX_POLYGONS)
    masks: tuple[Polygon, ...] = Field(default=(), max_length=MAX_POLYGONS)

    @model_validator(mode="after")
    def _zone_names(self) -> CameraMotion:
        names = [zone.name for zone in self.zones]
        if any(not name for name in names):
            raise PydanticCustomError("addon.motion.error.zone_name", "addon.motion.error.zone_name")
        if len(set(names)) != len(names):
            raise PydanticCustomError("addon.motion.error.zone_twice", "addon.motion.error.zone_twice")
        return self

    @property
    def threshold(self) -> float:
        """Return the change of brightness (0..255) a pixel needs to count as changed: 54 at 1, 30 at 50, 5 at 100."""
        return 5.0 + (100 - self.sensitivity) * 0.5


SettingsMap = dict[int, CameraMotion]
_settings_map = TypeAdapter(SettingsMap)


class CameraSettingsStore:
    """Every camera's motion settings in one JSON file in the add-on's folder, written whole or not at all."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / SETTINGS_FILE
        self._settings: SettingsMap = {}

    def load(self) -> None:
        """Read the file; a missing or unreadable one gives every camera the defaults (and says so in the log)."""
        try:
            self._settings = _settings_map.validate_json(self.path.read_bytes())
        except FileNotFoundError:
            self._settings = {}
        except (OSError, ValidationError, ValueError) as exc:
            log.warning("motion settings in %s are unreadable (%s); using the defaults", self.path, exc)
            self._settings = {}

    def get(self, camera_id: int) -> CameraMotion:
        """Return a camera's settings (the defaults when it has none)."""
        return self._settings.get(camera_id) or CameraMotion()

    def set(self, camera_id: int, settings: CameraMotion) -> None:
        """Keep a camera's settings and write the file."""
        self._settings[camera_id] = settings
        self._write()

    def forget(self, camera_id: int) -> None:
        """Drop a deleted camera's settings."""
        if self._settings.pop(camera_id, None) is not None:
            self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {str(k): v.model_dump(mode="json") for k, v in sorted(self._settings.items())}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".cameras-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, indent=1)
        os.replace(tmp, self.path)
