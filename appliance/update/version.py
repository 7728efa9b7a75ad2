"""Compare WardCam release versions (N.N.N with an optional aN/bN/rcN pre-release), without dependencies."""

from __future__ import annotations

import re

VERSION_RE = re.compile(r"^(\d+(?:\.\d+){0,3})(?:(a|b|rc)(\d+))?$")
_PRE_RANK = {"a": 0, "b": 1, "rc": 2}


def is_release(text: str) -> bool:
    """Tell whether a version string is one a release may carry."""
    return VERSION_RE.match(text) is not None


def version_key(text: str) -> tuple[tuple[int, ...], tuple[int, int]]:
    """Return a sort key of a release version; a local part (+source) is ignored; ValueError when malformed."""
    match = VERSION_RE.match(text.split("+", 1)[0])
    if match is None:
        raise ValueError(f"not a release version: {text!r}")
    release = tuple(int(p) for p in match.group(1).split("."))
    release = release + (0,) * (4 - len(release))
    pre = (_PRE_RANK[match.group(2)], int(match.group(3))) if match.group(2) else (3, 0)  # a final release sorts last
    return release, pre


def newer(candidate: str, installed: str) -> bool:
    """Tell whether candidate is a newer version than installed."""
    return version_key(candidate) > version_key(installed)
