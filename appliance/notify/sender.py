"""Send one message to one Apprise URL, in a thread of the target's own, and say what went wrong in plain words.

Apprise services are blocking (requests, smtplib). Each target gets a small thread pool of its own, so a
target that hangs ties up only its own threads, never another target's (Apprise's shared pools are not
used: the asset runs services in the calling thread).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apprise

from appliance.i18n import t
from appliance.logs import redact

log = logging.getLogger(__name__)

THREADS_PER_TARGET = 2
ATTEMPT_TIMEOUT_S = 30.0
_HTTP_CODE = re.compile(r"error=(\d{3})")


@dataclass(frozen=True)
class Outcome:
    """How one try went: sent, or the reason as a translation key, its parameters and the service's own words."""

    ok: bool
    error_key: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    detail: str = ""
    elapsed_s: float = 0.0

    def text(self, lang: str | None = None) -> str:
        """Return the outcome in the user's words."""
        return t("notify.sent", lang) if self.ok else t(self.error_key or "notify.error.unknown", lang, **self.params)


def asset(plugin_paths: list[str]) -> apprise.AppriseAsset:
    """Return the Apprise asset WardCam uses: add-on plugins loaded, services run in the calling thread."""
    return apprise.AppriseAsset(plugin_paths=plugin_paths, async_mode=False)


def check_url(url: str, plugin_paths: list[str]) -> str | None:
    """Return the name of the Apprise service a URL is for, or None when Apprise cannot use it."""
    service = apprise.Apprise.instantiate(url, asset=asset(plugin_paths))
    if service is None:
        return None
    return str(getattr(service, "service_name", "") or url.split("://", 1)[0])


def classify(result: apprise.AppriseResult, elapsed_s: float, timeout_s: float) -> Outcome:
    """Turn Apprise's result into an Outcome: the kind of failure, from the HTTP code or the service's words."""
    if result:
        return Outcome(True, elapsed_s=elapsed_s)
    if result.status == apprise.AppriseResultStatus.NOMATCH or len(result) == 0:
        return Outcome(False, "notify.error.invalid_url", elapsed_s=elapsed_s)
    warnings = [e.message for r in result for e in r.logs() if e.level in ("WARNING", "ERROR", "CRITICAL")]
    detail = redact(" ".join(warnings))[:500]
    text = " ".join(warnings).lower()
    found = _HTTP_CODE.search(" ".join(warnings))
    if found:
        code = int(found.group(1))
        if code in (401, 403):
            return Outcome(False, "notify.error.auth", {"code": code}, detail, elapsed_s)
        if code == 404:
            return Outcome(False, "notify.error.not_found", {"code": code}, detail, elapsed_s)
        if code == 429:
            return Outcome(False, "notify.error.rate_limited", {"code": code}, detail, elapsed_s)
        if code >= 500:
            return Outcome(False, "notify.error.server", {"code": code}, detail, elapsed_s)
        return Outcome(False, "notify.error.rejected", {"code": code}, detail, elapsed_s)
    if result.status == apprise.AppriseResultStatus.TIMEOUT or "timed out" in text or "timeout" in text:
        return Outcome(False, "notify.error.timeout", {"seconds": round(elapsed_s)}, detail, elapsed_s)
    if "connection error" in text or ("connection" in text and "refused" in text):
        if elapsed_s >= min(3.5, timeout_s * 0.9):  # requests says "connection error" for a read timeout too
            return Outcome(False, "notify.error.timeout", {"seconds": round(elapsed_s)}, detail, elapsed_s)
        return Outcome(False, "notify.error.unreachable", detail=detail, elapsed_s=elapsed_s)
    if "authentication" in text or "login" in text or "unauthorized" in text:
        return Outcome(False, "notify.error.auth", {"code": "-"}, detail, elapsed_s)
    return Outcome(False, "notify.error.unknown", {"detail": detail or "-"}, detail, elapsed_s)


def _send_blocking(url: str, title: str, body: str, attachment: Path | None, plugin_paths: list[str],
                   timeout_s: float) -> Outcome:  # fmt: skip
    started = time.monotonic()
    sender = apprise.Apprise(asset=asset(plugin_paths))
    if not sender.add(url):
        return Outcome(False, "notify.error.invalid_url")
    attach = None
    if attachment is not None and attachment.is_file():
        attach = apprise.AppriseAttachment(str(attachment))
    result = sender.notify(body=body, title=title, attach=attach)
    try:
        return classify(result, time.monotonic() - started, timeout_s)
    finally:
        result.close()


def _consume(future: asyncio.Future[Outcome]) -> None:
    """Read a finished try's exception, so that one nobody waited for is not reported as never retrieved."""
    if not future.cancelled():
        future.exception()


class Sender:
    """Send messages through Apprise; each target has its own threads."""

    def __init__(self, plugin_paths: Callable[[], list[str]], timeout_s: float = ATTEMPT_TIMEOUT_S,
                 stopped: Callable[[str], bool] = lambda scheme: False) -> None:  # fmt: skip
        self.plugin_paths = plugin_paths
        self.stopped = stopped  # an add-on's scheme whose add-on is not running (Apprise keeps plugins loaded)
        self.timeout_s = timeout_s
        self._pools: dict[int | str, ThreadPoolExecutor] = {}

    def _pool(self, key: int | str) -> ThreadPoolExecutor:
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = ThreadPoolExecutor(THREADS_PER_TARGET, thread_name_prefix=f"notify-{key}")
        return pool

    async def send(self, key: int | str, url: str, title: str, body: str, attachment: Path | None = None) -> Outcome:
        """Send one message; never raises: a failure is an Outcome with its reason."""
        if self.stopped(url.split("://", 1)[0].lower()):
            return Outcome(False, "notify.error.service_stopped")
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        future = loop.run_in_executor(self._pool(key), _send_blocking, url, title, body, attachment,
                                      self.plugin_paths(), self.timeout_s)  # fmt: skip
        future.add_done_callback(_consume)
        # asyncio.wait, not wait_for: a cancelled caller (the appliance stopping) must not wait for a hung thread
        done, _ = await asyncio.wait({future}, timeout=self.timeout_s)
        if not done:
            return Outcome(False, "notify.error.timeout", {"seconds": round(self.timeout_s)},
                           elapsed_s=time.monotonic() - started)  # fmt: skip
        try:
            return future.result()
        except Exception as exc:  # a plugin that raises is a failed try, not a crash
            log.warning("notification plugin failed: %s", redact(str(exc)))
            return Outcome(False, "notify.error.unknown", {"detail": type(exc).__name__},
                           elapsed_s=time.monotonic() - started)  # fmt: skip

    def forget(self, key: int | str) -> None:
        """Drop a deleted target's threads (those still running finish on their own)."""
        pool = self._pools.pop(key, None)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Let every target's threads go."""
        for key in list(self._pools):
            self.forget(key)
