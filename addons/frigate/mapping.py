"""Which WardCam camera a Frigate camera is: linked by hand on the add-on's page, or matched by name.

Frigate's camera names are ASCII (letters, digits, _ and -); WardCam's are what staff typed, often
Vietnamese ("Cổng trước"). Both are normalised the same way before they are compared: diacritics
and đ dropped, lower case, and any run of spaces, underscores, dashes or dots made one "_", so that
"Cổng trước", "cong_truoc" and "Cong-Truoc" are the same camera. The config WardCam generates for
Frigate names each camera by this normal form too (made unique), so it maps back by itself.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

MAX_NAME = 60
How = Literal["manual", "auto", "none"]


def normalise(name: str) -> str:
    """Return a camera name's normal form: cong_truoc for "Cổng trước"."""
    text = name.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def frigate_names(cameras: Iterable[tuple[int, str]]) -> dict[int, str]:
    """Return the Frigate name of each WardCam camera (id, name): its normal form, made unique by id order."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    for camera_id, name in sorted(cameras):
        base = normalise(name)[:MAX_NAME] or f"camera_{camera_id}"
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        taken.add(candidate)
        names[camera_id] = candidate
    return names


@dataclass
class CameraMap:
    """WardCam's cameras and the links set by hand; resolves a Frigate camera name to a camera id."""

    cameras: dict[int, str] = field(default_factory=dict)  # WardCam id -> name
    links: dict[str, int | None] = field(default_factory=dict)  # Frigate name -> id, or None for "not linked"
    _auto: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.set_cameras(self.cameras)

    def set_cameras(self, cameras: dict[int, str]) -> None:
        """Take WardCam's cameras as they are now (after one was added, renamed or deleted)."""
        self.cameras = dict(cameras)
        self._auto = {name: camera_id for camera_id, name in frigate_names(self.cameras.items()).items()}

    def resolve(self, frigate_camera: str) -> tuple[int | None, How]:
        """Return the WardCam camera a Frigate camera is, and how it was found."""
        if frigate_camera in self.links:
            linked = self.links[frigate_camera]
            return (linked, "manual") if linked in self.cameras else (None, "none")
        camera_id = self._auto.get(normalise(frigate_camera)[:MAX_NAME])
        return (camera_id, "auto") if camera_id is not None else (None, "none")

    def camera_id(self, frigate_camera: str) -> int | None:
        """Return the WardCam camera id of a Frigate camera, or None when it is not one of WardCam's."""
        return self.resolve(frigate_camera)[0]


def parse_links(entries: Iterable[str]) -> dict[str, int | None]:
    """Read the options' links, "frigate_name=camera_id" or "frigate_name=" (not linked); later ones win."""
    links: dict[str, int | None] = {}
    for entry in entries:
        name, _, value = entry.partition("=")
        links[name.strip()] = int(value) if value.strip() else None
    return links


def format_links(links: dict[str, int | None]) -> list[str]:
    """Write links as the options keep them, sorted by Frigate name."""
    return [f"{name}={'' if camera_id is None else camera_id}" for name, camera_id in sorted(links.items())]
