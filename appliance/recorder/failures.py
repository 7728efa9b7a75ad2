"""Tell from the end of a recording ffmpeg's stderr why it stopped, so that the UI can say it plainly.

The patterns are what ffmpeg 5.1 prints at `-loglevel level+warning` (tests/appliance/recorder holds
the real messages, recorded against a real RTSP server), for example:

    [rtsp @ 0x55…] [error] method DESCRIBE failed: 401 Unauthorized
    [error] rtsp://user:***@10.0.0.5:554/live: Server returned 401 Unauthorized (authorization failed)
    [tcp @ 0x55…] [error] Connection to tcp://10.0.0.5:554?timeout=5000000 failed: Connection refused
    [error] rtsp://10.0.0.5:554/live: Connection timed out

A camera that accepts the connection and then says nothing gives the same "Invalid data found when
processing input" as a server that is not a camera at all; only the time ffmpeg waited tells them apart.
"""

from __future__ import annotations

import re
from typing import Literal

FailureKind = Literal["auth", "unreachable", "not_found", "timeout", "not_video", "dropped", "unknown"]

_AUTH = re.compile(r"\b(401 Unauthorized|403 Forbidden)\b|authorization failed", re.IGNORECASE)
_NOT_FOUND = re.compile(r"\b404 Not Found\b", re.IGNORECASE)
_UNREACHABLE = re.compile(
    r"Connection to \S+ failed: "  # any connect failure: refused, timed out (no answer), no route
    r"|Failed to resolve hostname|Connection refused|No route to host|Network is unreachable",
    re.IGNORECASE,
)
_TIMEOUT = re.compile(r"Connection timed out|Operation timed out", re.IGNORECASE)
_NO_VIDEO = re.compile(r"Stream map '[^']*v[^']*' matches no streams", re.IGNORECASE)
_NOT_A_STREAM = re.compile(r"://\S*: Invalid data found when processing input", re.IGNORECASE)
_AUDIO_BLOCKED = re.compile(r"Too many packets buffered for output stream", re.IGNORECASE)
_PROBE_TOO_SHORT = re.compile(r"Could not find codec parameters|unspecified (size|pixel format|sample rate)",
                              re.IGNORECASE)  # fmt: skip


def classify_failure(stderr_tail: str, *, waited_s: float | None = None, timeout_s: float = 5.0) -> FailureKind:
    """Return why ffmpeg stopped, from the last lines of its stderr.

    waited_s is how long ffmpeg ran; when it reached timeout_s (the -timeout given), a camera that
    answered "Invalid data" counts as hung ("timeout") rather than as not being a camera ("not_video").
    """
    if _AUTH.search(stderr_tail):
        return "auth"
    if _NOT_FOUND.search(stderr_tail):
        return "not_found"
    if _UNREACHABLE.search(stderr_tail):
        return "unreachable"
    if _TIMEOUT.search(stderr_tail):
        return "timeout"
    if _NO_VIDEO.search(stderr_tail):
        return "not_video"
    if _NOT_A_STREAM.search(stderr_tail):
        return "timeout" if waited_s is not None and waited_s >= 0.9 * timeout_s else "not_video"
    return "unknown"


def probe_too_short(stderr_tail: str) -> bool:
    """Return True when ffmpeg stopped looking at the stream before it knew its parameters: analyse longer."""
    return bool(_PROBE_TOO_SHORT.search(stderr_tail))


def audio_blocked(stderr_tail: str) -> bool:
    """Return True when ffmpeg gave up waiting for the camera's audio: restart it with audio dropped."""
    return bool(_AUDIO_BLOCKED.search(stderr_tail))
