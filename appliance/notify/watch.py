"""System notifications: a camera offline for N minutes (and back), the disk, a recorder failing again and
again, a footage request waiting for approval. Each goes to its own targets, in the system language.

- Offline: the recorder announces `CameraOffline` (after its own offline setting, 2 minutes by default);
  the notification goes once the camera has been failing for N minutes, and "back online" follows only
  an offline notification.
- Disk: every `DiskWarning`, at most once an hour for the same reason.
- Recorder failing: the recorder's restart counts are read every RECORDER_CHECK_S; N restarts within M
  minutes make one notification (then none for that camera for an hour). A camera that is unreachable
  is the offline notification's business, not this one's.
- Footage request: `RequestStateChanged` to a state that waits for an approver.
- Backup: every `BackupFailed` of the scheduled backups (at most one a day), with the reason in plain words.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from appliance.bus import BackupFailed, CameraOffline, CameraOnline, DiskWarning, EventBus, RequestStateChanged
from appliance.i18n import t
from appliance.notify.system import SystemKind
from appliance.recorder.supervisor import CameraStatus

if TYPE_CHECKING:
    from appliance.notify.service import Notifications

log = logging.getLogger(__name__)

RECORDER_CHECK_S = 15.0
REPEAT_HOLD = timedelta(hours=1)
WAITING_STATES = frozenset({"pending", "submitted", "waiting_approval", "awaiting_approval"})


def _gib(size: int) -> str:
    return f"{size / 1024**3:.1f}"


class SystemWatch:
    """Turn appliance events into system notifications."""

    def __init__(self, owner: Notifications, statuses: Callable[[], Iterable[CameraStatus]] | None) -> None:
        self.owner = owner
        self.statuses = statuses
        self._offline_timers: dict[int, asyncio.TimerHandle] = {}
        self._offline_notified: set[int] = set()
        self._held: dict[tuple[str, object], datetime] = {}
        self._restarts: dict[int, deque[tuple[datetime, int]]] = {}
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, bus: EventBus) -> list[Callable[[], None]]:
        """Follow the events that make system notifications; return the unsubscribers."""
        return [
            bus.subscribe(CameraOffline, self.on_offline),
            bus.subscribe(CameraOnline, self.on_online),
            bus.subscribe(DiskWarning, self.on_disk),
            bus.subscribe(RequestStateChanged, self.on_request),
            bus.subscribe(BackupFailed, self.on_backup),
        ]

    def start(self) -> None:
        """Start reading the recorder's restart counts."""
        if self.statuses is not None:
            self._task = asyncio.get_running_loop().create_task(self._recorder_loop())

    async def stop(self) -> None:
        """Stop the timers and the recorder check."""
        for timer in self._offline_timers.values():
            timer.cancel()
        self._offline_timers.clear()
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    # helpers ------------------------------------------------------------------------------------

    def _hold(self, key: tuple[str, object], now: datetime) -> bool:
        """Return True when the same notification went out less than an hour ago (and note this one otherwise)."""
        last = self._held.get(key)
        if last is not None and now - last < REPEAT_HOLD:
            return True
        self._held[key] = now
        return False

    async def _send(self, kind: SystemKind, title_key: str, body_key: str, event_at: datetime,
                    camera_id: int | None = None, **params: object) -> None:  # fmt: skip
        settings = self.owner.settings
        notice = settings.notice(kind)
        if not notice.enabled or not notice.target_ids:
            return
        lang = settings.language
        await self.owner.enqueue(kind, notice.target_ids, t(title_key, lang, **params), t(body_key, lang, **params),
                                 event_at=event_at, camera_id=camera_id)  # fmt: skip

    async def _camera_words(self, camera_id: int) -> tuple[dict[str, object], bool]:
        """Return the camera and site as messages name them, and whether the camera is muted now."""
        info = await self.owner.camera(camera_id)
        muted = self.owner.mutes.muted(info.id, info.site_id, self.owner.clock())
        return {"camera": info.name, "site": info.site or "-"}, muted

    # camera offline and back --------------------------------------------------------------------

    async def on_offline(self, event: CameraOffline) -> None:
        """Schedule the offline notification for N minutes after the camera stopped recording."""
        notice = self.owner.settings.camera_offline
        due = event.since + timedelta(minutes=notice.minutes)
        delay = max(0.0, (due - self.owner.clock()).total_seconds())
        old = self._offline_timers.pop(event.camera_id, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._offline_timers[event.camera_id] = loop.call_later(delay, self._offline_due, event)

    def _offline_due(self, event: CameraOffline) -> None:
        self._offline_timers.pop(event.camera_id, None)
        self.owner.spawn(self._offline_now(event))

    async def _offline_now(self, event: CameraOffline) -> None:
        words, muted = await self._camera_words(event.camera_id)
        if muted:
            return
        self._offline_notified.add(event.camera_id)
        since = event.since.astimezone().strftime("%H:%M %d/%m/%Y")
        minutes = self.owner.settings.camera_offline.minutes
        await self._send("camera_offline", "notify.system.offline_title", "notify.system.offline_body",
                         event.since, event.camera_id, since=since, minutes=minutes, **words)  # fmt: skip

    async def on_online(self, event: CameraOnline) -> None:
        """Cancel a pending offline notification, or say the camera is back."""
        timer = self._offline_timers.pop(event.camera_id, None)
        if timer is not None:
            timer.cancel()
        if event.camera_id not in self._offline_notified:
            return
        self._offline_notified.discard(event.camera_id)
        if not self.owner.settings.camera_offline.back_online:
            return
        words, muted = await self._camera_words(event.camera_id)
        if muted:
            return
        at = event.at.astimezone().strftime("%H:%M %d/%m/%Y")
        await self._send("camera_offline", "notify.system.online_title", "notify.system.online_body",
                         event.at, event.camera_id, at=at, **words)  # fmt: skip

    # disk ---------------------------------------------------------------------------------------

    async def on_disk(self, event: DiskWarning) -> None:
        """Say the disk is nearly full, or that the guard deleted footage early."""
        if self._hold(("disk", event.reason), self.owner.clock()):
            return
        free_pct = round(100 * event.free_bytes / event.total_bytes) if event.total_bytes else 0
        await self._send("disk", "notify.system.disk_title", f"notify.system.disk_{event.reason}", event.at,
                         free=_gib(event.free_bytes), total=_gib(event.total_bytes), percent=free_pct)  # fmt: skip

    # footage requests ---------------------------------------------------------------------------

    async def on_request(self, event: RequestStateChanged) -> None:
        """Tell the approvers that a footage request waits for them."""
        if event.state not in WAITING_STATES:
            return
        link = f"{self.owner.panel_url()}/requests?id={event.request_id}"
        await self._send("request_pending", "notify.system.request_title", "notify.system.request_body", event.at,
                         request=event.request_id, link=link)  # fmt: skip

    # scheduled backups --------------------------------------------------------------------------

    async def on_backup(self, event: BackupFailed) -> None:
        """Say that last night's backup was not written, and why."""
        lang = self.owner.settings.language
        await self._send("backup_failed", "notify.system.backup_title", "notify.system.backup_body", event.at,
                         target=event.target or "—", reason=t(event.reason, lang))  # fmt: skip

    # recorder failing ---------------------------------------------------------------------------

    async def _recorder_loop(self) -> None:
        while True:
            await asyncio.sleep(RECORDER_CHECK_S)
            try:
                await self.check_recorders()
            except Exception:
                log.exception("notifications: recorder check failed")

    async def check_recorders(self) -> None:
        """Compare each camera's restart count with the one M minutes ago; notify at N restarts or more."""
        if self.statuses is None:
            return
        notice = self.owner.settings.recorder_failing
        now = self.owner.clock()
        window = timedelta(minutes=notice.minutes)
        for status in list(self.statuses()):
            samples = self._restarts.setdefault(status.camera_id, deque())
            samples.append((now, status.restarts))
            while samples and now - samples[0][0] > window:
                samples.popleft()
            restarts = status.restarts - samples[0][1]
            if restarts < notice.restarts or status.error == "unreachable":
                continue
            if self._hold(("recorder", status.camera_id), now):
                continue
            words, muted = await self._camera_words(status.camera_id)
            if muted:
                continue
            reason = t(f"notify.recorder_reason.{status.error or 'unknown'}", self.owner.settings.language)
            await self._send("recorder_failing", "notify.system.recorder_title", "notify.system.recorder_body",
                             now, status.camera_id, restarts=restarts, minutes=notice.minutes, reason=reason,
                             **words)  # fmt: skip
