"""Detection snapshots on disk: checked to be JPEG, written whole (never half a file), found again safely."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from appliance.errors import WardCamError

SNAPSHOTS = "snapshots"  # the folder under the data directory
MAX_SNAPSHOT = 8 * 1024 * 1024
JPEG_START = b"\xff\xd8\xff"


class SnapshotRefused(WardCamError):
    """The picture a source sent is not a JPEG, or is too large to be one."""

    key = "detections.error.snapshot"
    status = 422


def check_jpeg(data: bytes) -> None:
    """Refuse anything that does not start like a JPEG, or is empty or larger than MAX_SNAPSHOT."""
    if not data.startswith(JPEG_START) or len(data) > MAX_SNAPSHOT:
        raise SnapshotRefused(size=len(data))


def relative_path(camera_id: int | None, start: datetime, detection_id: int) -> str:
    """Return where a detection's snapshot goes, relative to the data directory: by camera and day."""
    folder = str(camera_id) if camera_id is not None else "unknown"
    return f"{SNAPSHOTS}/{folder}/{start:%Y-%m-%d}/{detection_id}.jpg"


def write(data_dir: Path, relative: str, data: bytes) -> None:
    """Write the file under a temporary name, then rename it into place (blocking; run in a thread)."""
    target = data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    with partial.open("wb") as out:
        out.write(data)
    os.replace(partial, target)


def resolve(data_dir: Path, relative: str) -> Path | None:
    """Return the absolute path of a stored snapshot, or None when it is missing or outside the snapshots folder."""
    if not relative:
        return None
    root = (data_dir / SNAPSHOTS).resolve()
    path = (data_dir / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def remove(data_dir: Path, relative: str) -> None:
    """Delete a snapshot file if it is there (blocking; run in a thread)."""
    path = resolve(data_dir, relative)
    if path is not None:
        path.unlink(missing_ok=True)
