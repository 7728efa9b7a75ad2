"""Helpers for the playback tests: the footage a test works on, and what ffprobe reads from a file."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.audit_export import local_timezone
from appliance.db.models.cameras import Camera
from appliance.db.models.recordings import Segment


@dataclass
class Footage:
    """A test's copy of the recorded footage, indexed in its database as camera 1's."""

    dir: Path  # the recordings folder
    camera: Camera
    segments: list[Segment]  # oldest first

    async def place(self, like: Segment, start: datetime) -> Segment:
        """Copy a recorded segment's file to where a segment starting at `start` lies, and index it there."""
        local = start.astimezone(local_timezone())
        relative = f"{self.camera.id}/{local:%Y-%m-%d}/{local:%H-%M-%S}.mp4"
        (self.dir / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.dir / like.path, self.dir / relative)
        return await Segment.create(
            camera_id=self.camera.id, start=start, end=start + timedelta(seconds=like.duration_s),
            duration_s=like.duration_s, size=like.size, path=relative, video_codec=like.video_codec,
            width=like.width, height=like.height, keyframes=like.keyframes,
        )  # fmt: skip


def ffprobe_packets(path: Path, stream: str = "v:0") -> list[dict[str, Any]]:
    """Return the packets of a stream (video by default) as ffprobe reads them: pts_time, duration_time, flags."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time,duration_time,flags",
         "-of", "json", str(path)], capture_output=True, text=True, check=True,
    )  # fmt: skip
    packets: list[dict[str, Any]] = json.loads(result.stdout)["packets"]
    return packets


def ffprobe_duration(path: Path) -> float:
    """Return a file's duration as ffprobe reads it."""
    result = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                            capture_output=True, text=True, check=True)  # fmt: skip
    return float(result.stdout.strip())


def decode_errors(path: Path) -> str:
    """Return what a full decode by ffmpeg complains about (empty when every frame decodes)."""
    argv = ["ffmpeg", "-v", "error", "-i", str(path), "-fps_mode", "passthrough", "-f", "null", "-"]
    result = subprocess.run(argv, capture_output=True, text=True)
    return result.stderr.strip()


def utc_now() -> datetime:
    """Return the time now, in UTC."""
    return datetime.now(UTC)
