"""Helpers for the live-view tests: what runs, and waiting for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psutil

from appliance.live.worker import CameraStreams


def ffmpegs_reading(url: str) -> list[psutil.Process]:
    """Return this process's ffmpeg children that read `url`."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.name() == "ffmpeg" and url in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def fixed_streams(main: str, sub: str = "") -> Callable[[int], Any]:
    """Return a streams provider that gives every camera these URLs (no database needed)."""

    async def streams(camera_id: int) -> CameraStreams:
        return CameraStreams(camera_id, main, sub)

    return streams
