"""The notification system of one appliance: it follows the bus, applies rules and mutes, and queues deliveries.

- A `Detection` on the bus is checked against every enabled rule (cameras or sites, labels, score, zones,
  time windows at the detection's start, in local time); a rule announces a detection once, and the same
  rule, camera and label at most once per cooldown. A rule that attaches the snapshot waits up to
  SNAPSHOT_WAIT_S for the detection's picture (sources report it just after the detection).
- `CameraOffline`/`CameraOnline`, `DiskWarning`, `RequestStateChanged` and the recorder's restart counts make
  the system notifications (appliance.notify.watch).
- Every message to every target is a queued row (appliance.notify.delivery).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from appliance.addons.manager import AddonManager
from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.bus import CameraChanged, Detection, EventBus
from appliance.db.models.cameras import Camera
from appliance.db.models.notify import DeliveryState, NotificationDelivery
from appliance.i18n import t
from appliance.notify.delivery import RETRY_DELAYS_S, DeliveryQueue
from appliance.notify.mutes import Mutes
from appliance.notify.rulebook import Rulebook, RuleView
from appliance.notify.rules import Cooldowns, Seen, matches
from appliance.notify.sender import Sender
from appliance.notify.system import NotifySettings, default_panel_url, load_settings, save_settings
from appliance.notify.targets import Targets
from appliance.notify.templates import MessageFacts, label_text, render
from appliance.notify.watch import SystemWatch
from appliance.recorder.supervisor import CameraStatus
from appliance.settings import Settings

if TYPE_CHECKING:
    from appliance.recorder.manager import Recorder

log = logging.getLogger(__name__)

SNAPSHOT_WAIT_S = 3.0
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _statuses(recorder: Recorder) -> Callable[[], Iterable[CameraStatus]]:
    """Return a reader of the recording status of every camera the recorder runs."""
    return lambda: [r.status for r in recorder.recorders.values()]


@dataclass(frozen=True)
class CameraInfo:
    """A camera's name and site, as messages say them."""

    id: int | None
    name: str
    site_id: int | None
    site: str


@dataclass
class _Waiting:
    """Deliveries of a detection held for its snapshot."""

    rules: list[tuple[RuleView, MessageFacts]]
    timer: asyncio.TimerHandle | None = None


class Notifications:
    """Targets, rules, system notifications, mutes and the delivery queue of one appliance."""

    def __init__(self, settings: Settings, bus: EventBus, audit: AuditLog, addons: AddonManager | None = None,
                 recorder: Recorder | None = None, clock: Clock = _utcnow,
                 retry_delays_s: tuple[float, ...] | None = None) -> None:  # fmt: skip
        self.data_dir = settings.data_dir
        self.bus = bus
        self.audit = audit
        self.addons = addons
        self.clock = clock
        self.default_panel_url = default_panel_url(settings.host, settings.port)
        self.plugin_paths: list[str] = []
        self.addon_schemes: dict[str, str] = {}  # scheme -> title key, from running add-ons
        self.addon_schemes_seen: set[str] = set()
        self.sender = Sender(lambda: self.plugin_paths, stopped=self._scheme_stopped)
        self.queue = DeliveryQueue(self.data_dir, self.sender, retry_delays_s=retry_delays_s or RETRY_DELAYS_S)
        self.targets = Targets(audit, self.sender, lambda: self.plugin_paths, lambda: set(self.addon_schemes))
        self.rules = Rulebook(audit)
        self.mutes = Mutes(audit)
        self.settings = NotifySettings()
        self.cooldowns = Cooldowns()
        self.watch = SystemWatch(self, _statuses(recorder) if recorder is not None else None)
        self._cameras: dict[int, CameraInfo] = {}
        self._announced: dict[tuple[int, int], None] = {}  # (rule, detection): announced already
        self._waiting: dict[int, _Waiting] = {}
        self._snapshots: dict[int, str] = {}  # detections whose snapshot came lately, newest last
        self._unsubscribe: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    # lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the settings, rules and mutes, take up pending deliveries, and follow the bus."""
        self.settings = await load_settings()
        await self.rules.load()
        await self.mutes.load()
        await self.refresh_services()
        await self.queue.start()
        self._unsubscribe = [
            self.bus.subscribe(Detection, self._on_detection),
            self.bus.subscribe(CameraChanged, self._on_camera_changed),
            *self.watch.subscribe(self.bus),
        ]
        if self.addons is not None:
            self.addons.listeners.append(self._addon_changed)
        self.watch.start()

    async def stop(self) -> None:
        """Stop following the bus and sending; pending deliveries stay in the database."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self.addons is not None and self._addon_changed in self.addons.listeners:
            self.addons.listeners.remove(self._addon_changed)
        await self.watch.stop()
        for waiting in self._waiting.values():
            if waiting.timer is not None:
                waiting.timer.cancel()
        self._waiting.clear()
        for task in list(self._tasks):
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await self.queue.stop()
        self.sender.close()

    # add-on services ----------------------------------------------------------------------------

    async def refresh_services(self) -> None:
        """Collect the Apprise plugins of the running add-ons (wardcam_notification_services)."""
        if self.addons is None:
            return
        services = await self.addons.notification_services()
        self.plugin_paths = sorted({s.plugin_path for s in services})
        self.addon_schemes = {s.scheme: s.title_key for s in services}
        self.addon_schemes_seen |= set(self.addon_schemes)

    def _scheme_stopped(self, scheme: str) -> bool:
        """Return whether a scheme belongs to an add-on that is not running now."""
        return scheme in self.addon_schemes_seen and scheme not in self.addon_schemes

    def _addon_changed(self, _addon: object) -> None:
        self.spawn(self.refresh_services())

    # settings -----------------------------------------------------------------------------------

    async def save_settings(self, values: dict[str, Any], who: Principal | None, ip: str = "") -> NotifySettings:
        """Validate and store the system notifications and the panel address; applied at once."""
        for kind in ("camera_offline", "disk", "recorder_failing", "request_pending"):
            if kind in values and isinstance(values[kind], dict):
                values[kind] = {**getattr(self.settings, kind).model_dump(), **values[kind]}
        self.settings = await save_settings(values, self.settings)
        await self.audit.record("notify.settings_changed", who=who, object_type="setting",
                                object_id="notifications", ip=ip, detail={"changed": sorted(values)})  # fmt: skip
        return self.settings

    def panel_url(self) -> str:
        """Return the address links in messages point to."""
        return self.settings.panel_url or self.default_panel_url

    # detections ---------------------------------------------------------------------------------

    async def camera(self, camera_id: int | None) -> CameraInfo:
        """Return a camera's name and site (cached; camera changes clear the cache)."""
        if camera_id is None:
            return CameraInfo(None, t("notify.unknown_camera", self.settings.language), None, "")
        info = self._cameras.get(camera_id)
        if info is None:
            row = await Camera.get_or_none(id=camera_id).prefetch_related("site")
            if row is None:
                return CameraInfo(camera_id, f"#{camera_id}", None, "")
            info = CameraInfo(row.id, row.name, row.site.id if row.site else None, row.site.name if row.site else "")
            self._cameras[camera_id] = info
        return info

    def _on_camera_changed(self, event: CameraChanged) -> None:
        self._cameras.pop(event.camera_id, None)

    async def _on_detection(self, event: Detection) -> None:
        try:
            await self._apply_rules(event)
        finally:
            if event.phase == "snapshot":  # after the rules: the report's own handler may have started waiting
                self._snapshot_arrived(event)

    async def _apply_rules(self, event: Detection) -> None:
        rules = self.rules.enabled
        if not rules:
            return
        camera = await self.camera(event.camera_id)
        now = self.clock()
        if self.mutes.muted(camera.id, camera.site_id, now):
            return
        seen = Seen(camera.id, camera.site_id, event.label, event.score, event.zones)
        local_start = event.start.astimezone()
        for rule in rules:
            key = (rule.id, event.detection_id)
            if key in self._announced or not matches(rule.config, seen, local_start):
                continue
            self._announced[key] = None
            if len(self._announced) > 20000:
                for old in list(self._announced)[:10000]:
                    del self._announced[old]
            if not self.cooldowns.claim(rule.id, camera.id, event.label, rule.config.cooldown_s, now):
                continue
            facts = self._facts(event, camera, rule.config.language)
            if rule.config.attach_snapshot and not event.snapshot_path:
                self._wait_for_snapshot(event, rule, facts)
            else:
                await self._announce(event, rule, facts, event.snapshot_path)

    def _facts(self, event: Detection, camera: CameraInfo, lang: str) -> MessageFacts:
        return MessageFacts(
            camera=camera.name,
            site=camera.site or "-",
            label=label_text(event.label, lang),
            time=event.start.astimezone().strftime("%H:%M:%S %d/%m/%Y"),
            link=f"{self.panel_url()}/events?id={event.detection_id}",
            score=f"{round(event.score * 100)}%",
            zones=", ".join(event.zones) or "-",
        )

    def _wait_for_snapshot(self, event: Detection, rule: RuleView, facts: MessageFacts) -> None:
        arrived = self._snapshots.get(event.detection_id)
        if arrived:  # the picture's own announcement was handled first
            self.spawn(self._announce(event, rule, facts, arrived))
            return
        waiting = self._waiting.get(event.detection_id)
        if waiting is None:
            waiting = self._waiting[event.detection_id] = _Waiting([])
            loop = asyncio.get_running_loop()
            waiting.timer = loop.call_later(SNAPSHOT_WAIT_S, self._snapshot_late, event)
        waiting.rules.append((rule, facts))

    def _snapshot_arrived(self, event: Detection) -> None:
        self._snapshots[event.detection_id] = event.snapshot_path
        if len(self._snapshots) > 1000:
            for old in list(self._snapshots)[:500]:
                del self._snapshots[old]
        waiting = self._waiting.pop(event.detection_id, None)
        if waiting is None:
            return
        if waiting.timer is not None:
            waiting.timer.cancel()
        for rule, facts in waiting.rules:
            self.spawn(self._announce(event, rule, facts, event.snapshot_path))

    def _snapshot_late(self, event: Detection) -> None:
        waiting = self._waiting.pop(event.detection_id, None)
        if waiting is None:
            return
        for rule, facts in waiting.rules:  # no picture in time: the message goes without it
            self.spawn(self._announce(event, rule, facts, ""))

    async def _announce(self, event: Detection, rule: RuleView, facts: MessageFacts, snapshot: str) -> None:
        lang = rule.config.language
        title = t("notify.title.detection", lang, label=facts.label, camera=facts.camera)
        body = render(rule.config.template(), facts, lang)
        await self.enqueue("detection", rule.config.target_ids, title, body, event_at=event.start,
                           rule=rule, camera_id=event.camera_id, detection_id=event.detection_id,
                           attachment=snapshot if rule.config.attach_snapshot else "")  # fmt: skip

    # the queue ----------------------------------------------------------------------------------

    async def enqueue(self, kind: str, target_ids: Iterable[int], title: str, body: str, *, event_at: datetime,
                      rule: RuleView | None = None, camera_id: int | None = None, detection_id: int | None = None,
                      attachment: str = "") -> list[NotificationDelivery]:  # fmt: skip
        """Write one delivery per target and queue them."""
        from appliance.db.models.notify import NotificationTarget

        targets = {row.id: row.name for row in await NotificationTarget.filter(id__in=list(target_ids))}
        now = datetime.now(UTC)  # the real time: the queue runs on it, whatever clock the rules are shown
        rows = []
        for target_id, name in targets.items():
            row = await NotificationDelivery.create(
                target_id=target_id, target_name=name, rule_id=rule.id if rule else None,
                rule_name=rule.name if rule else kind, kind=kind, camera_id=camera_id, detection_id=detection_id,
                title=title[:255], body=body, attachment=attachment, state=DeliveryState.PENDING,
                next_attempt_at=now, event_at=event_at,
            )  # fmt: skip
            rows.append(row)
        await self.queue.add(rows)
        return rows

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
