"""Child processes: stop them politely, then for good."""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


async def kill(proc: asyncio.subprocess.Process) -> int:
    """Kill a child at once and reap it; return its exit code."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    return await proc.wait()


async def terminate(proc: asyncio.subprocess.Process, grace_s: float, name: str) -> int:
    """Send SIGTERM, wait up to `grace_s` seconds, then SIGKILL; return the exit code."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            return await asyncio.wait_for(proc.wait(), grace_s)
        except TimeoutError:
            log.warning("%s pid %d ignored SIGTERM; killing it", name, proc.pid)
    return await kill(proc)
