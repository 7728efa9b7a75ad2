"""Child processes: stop them politely, then for good."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

log = logging.getLogger(__name__)

REAP_WAIT_S = 5.0  # a killed child is gone in milliseconds; the event loop must have seen it by then


async def kill(proc: asyncio.subprocess.Process) -> int:
    """Kill a child at once and reap it; return its exit code.

    The wait is bounded: if the event loop has not seen the exit after REAP_WAIT_S (a lost child-exit
    notification left a test run's teardown waiting forever once), the child is reaped here instead.
    """
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    try:
        return await asyncio.wait_for(proc.wait(), REAP_WAIT_S)
    except TimeoutError:
        code = reap_by_hand(proc.pid)
        log.warning("pid %d: its exit was not seen %.0f s after SIGKILL; reaped by hand (%s)", proc.pid,
                    REAP_WAIT_S, "still running" if code is None else f"code {code}")  # fmt: skip
        return -9 if code is None else code


def reap_by_hand(pid: int) -> int | None:
    """Reap a child that has exited; return its exit code, -1 when already reaped, None while it runs."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return -1
    return os.waitstatus_to_exitcode(status) if done else None


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
