"""Waiting in async tests for something real to happen: a recorder to record, an ffmpeg to stop."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


async def until(check: Callable[[], Any], within_s: float, what: str) -> None:
    """Wait until an async or plain check is truthy, or fail saying what did not happen."""
    deadline = time.monotonic() + within_s
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within_s} s")
        await asyncio.sleep(0.1)
