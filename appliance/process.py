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


def die_with_parent() -> None:
    """In a child, ask Linux to send it SIGTERM when WardCam dies (so no ffmpeg is left orphaned)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the service manager stops the whole group instead
        pass
