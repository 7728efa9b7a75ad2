"""Logging to stdout (journald on the image), with secrets masked and recent lines kept for the panel."""

from __future__ import annotations

import logging
import re
import sys
from collections import deque
from datetime import UTC, datetime

_SECRET_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # credentials inside URLs: rtsp://user:pass@host, postgres://u:p@h
    (re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s]+(?P<post>@)"), r"\g<pre>***\g<post>"),
    # bearer tokens and our own token formats
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1***"),
    (re.compile(r"\bwc[st]_[A-Za-z0-9_-]{8,}"), "wc*_***"),
    # key=value and "key": "value" pairs whose key names a secret
    (re.compile(r"(?i)((?:password|passwd|secret|token|api_key|apikey)[\"']?\s*[:=]\s*[\"']?)[^\s\"',&}]+"), r"\1***"),
]


def redact(text: str) -> str:
    """Mask passwords, tokens and URL credentials in a text."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """Format a record, then mask any secret in the result."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RecentLines(logging.Handler):
    """Keep the last lines in memory for the System page."""

    def __init__(self, capacity: int = 500) -> None:
        super().__init__()
        self.lines: deque[tuple[datetime, str, str]] = deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a broken log call must never break the caller
            return
        self.lines.append((datetime.fromtimestamp(record.created, UTC), record.levelname, text))


recent = RecentLines()
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(level: str) -> None:
    """Send logs to stdout and to the recent-lines buffer, with secrets masked."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, RecentLines) or getattr(handler, "_wardcam", False):
            root.removeHandler(handler)
    stream = logging.StreamHandler(sys.stdout)
    stream._wardcam = True  # type: ignore[attr-defined]
    stream.setFormatter(RedactingFormatter(FORMAT))
    recent.setFormatter(RedactingFormatter("%(name)s: %(message)s"))
    root.addHandler(stream)
    root.addHandler(recent)
    root.setLevel(level)
    for noisy in ("aiosqlite", "tortoise", "asyncio", "httpx", "httpcore", "watchfiles", "multipart"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
