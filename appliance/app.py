"""The Appliance: every long-lived part of WardCam, started and stopped in one place."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import AsyncExitStack, suppress

from appliance import __version__, heap
from appliance.addons.manager import AddonManager
from appliance.audit import audit_log_for
from appliance.auth.accounts import Accounts
from appliance.auth.sessions import purge_expired
from appliance.backup.restore import apply_staged
from appliance.backup.service import Backups
from appliance.bus import EventBus
from appliance.cameras import Cameras
from appliance.db.connection import close_database, migrate, open_database
from appliance.detections import Detections
from appliance.live.service import LiveService
from appliance.mqtt import MqttService
from appliance.notify import Notifications
from appliance.recorder.manager import Recorder
from appliance.recorder.retention import RetentionSummary
from appliance.recorder.storage import Storage
from appliance.requests import FootageRequests
from appliance.settings import Settings
from appliance.update.service import Updates

log = logging.getLogger(__name__)


class Appliance:
    """One WardCam box: database, accounts, audit log and, in later steps, recorder and add-ons."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bus = EventBus()
        self.audit = audit_log_for(settings.data_dir)
        self.accounts = Accounts(self.audit)
        self.addons = AddonManager(settings, self.bus, self.audit)
        self.cameras = Cameras(self.audit, self.bus)
        self.recorder = Recorder(
            settings.data_dir / "recordings", self.bus, volume_limit_bytes=settings.volume_limit_bytes
        )
        self.storage = Storage(self.recorder.retention, self.audit, on_offline_after=self.recorder.set_offline_after)
        self.live = LiveService(self.bus, self.audit)
        self.mqtt = MqttService(self.audit, settings.data_dir)
        self.detections = Detections(settings.data_dir, self.bus)
        self.notify = Notifications(settings, self.bus, self.audit, self.addons, self.recorder)
        self.recorder.retention.on_pass.append(self._forget_old_detections)
        self.started_at = 0.0
        self.demo_camera_urls: list[str] = []
        self._stack = AsyncExitStack()

    async def start(self) -> None:
        """Start every part, in order; a failure stops what had started."""
        s = self.settings
        async with AsyncExitStack() as stack:
            s.prepare()
            await asyncio.to_thread(apply_staged, s.data_dir)  # a restore staged from the System page, if any
            await open_database(s.db_url)
            stack.push_async_callback(close_database)
            await migrate(s.db_url)
            if s.demo:
                from appliance.demo.setup import start_demo  # demo-only dependencies

                self.demo_camera_urls = await start_demo(stack, s)
            await self.storage.load_settings()  # the disk guard's minimum, before the first retention pass
            if not s.trial:  # the updater's trial start (serve --trial): database and pages, no device reached
                await self._start_devices(stack)
            self.requests = await stack.enter_async_context(FootageRequests(s.data_dir, self.bus, self.audit).running())
            self.backups = Backups(s, self.audit, self.bus)
            self.updates = Updates(s, self.audit)  # audits what the updater did (wardcam-update.service)
            if not s.trial:
                await self._start_addons_and_watchers(stack)
            stack.push_async_callback(self._cancel, asyncio.create_task(self._housekeeping()))
            stack.push_async_callback(self._cancel, asyncio.create_task(self.updates.watch()))
            self._stack = stack.pop_all()
        heap.settle()  # what start-up made lives as long as the process: keep the collector off it
        self.started_at = time.time()
        log.info(
            "WardCam %s started (data %s, database %s%s)",
            __version__,
            s.data_dir,
            s.db_backend,
            ", demo" if s.demo else ", trial" if s.trial else "",
        )

    async def _start_devices(self, stack: AsyncExitStack) -> None:
        """Start what reaches cameras, the broker and notification targets, each stopped by the stack."""
        await self.recorder.start()
        stack.push_async_callback(self.recorder.stop)
        await self.live.start()
        stack.push_async_callback(self.live.stop)
        await self.detections.start()  # before MQTT and the add-ons, which report detections
        stack.push_async_callback(self.detections.stop)
        await self.mqtt.start()  # before the add-ons, which subscribe through it
        stack.push_async_callback(self.mqtt.stop)
        await self.notify.start()  # before the add-ons: it follows their Apprise plugins as they start
        stack.push_async_callback(self.notify.stop)

    async def _start_addons_and_watchers(self, stack: AsyncExitStack) -> None:
        """Start the add-ons, the disk sampler and the scheduled backups (to a disk or share outside the data)."""
        await self.addons.start()
        stack.push_async_callback(self.addons.stop)
        stack.push_async_callback(self._cancel, asyncio.create_task(self.storage.run_sampler()))
        stack.push_async_callback(self._cancel, asyncio.create_task(self.backups.run()))

    async def stop(self) -> None:
        """Stop every part, newest first."""
        await self._stack.aclose()
        log.info("WardCam stopped")

    async def _housekeeping(self) -> None:
        """Purge expired sessions every ten minutes."""
        while True:
            try:
                removed = await purge_expired(self.accounts.session_policy)
                if removed:
                    log.debug("purged %d expired sessions", removed)
            except Exception:
                log.exception("session purge failed")
            await asyncio.sleep(600)

    async def _forget_old_detections(self, _summary: RetentionSummary) -> None:
        """After each retention pass, forget the detections whose footage is gone."""
        await self.detections.prune()

    @staticmethod
    async def _cancel(task: asyncio.Task[None]) -> None:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
