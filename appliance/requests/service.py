"""Footage requests on the appliance: the workflow, the export queue and the signing key, started together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.bus import EventBus
from appliance.db.models.requests import FootageRequest, RequestStatus
from appliance.errors import Forbidden

from .errors import InvalidRequestField, WrongState
from .export import BURNED_IN, ORIGINAL, STOPPED, ExportJob, ExportQueue, JobState
from .identity import appliance_id
from .keys import PublicKeyInfo, SigningKey
from .policy import RequestPolicy, load_policy
from .workflow import RequestWorkflow

log = logging.getLogger(__name__)


class FootageRequests:
    """Everything footage requests keep while the appliance runs."""

    def __init__(self, data_dir: Path, bus: EventBus, audit: AuditLog) -> None:
        self.data_dir = data_dir
        self.key = SigningKey(data_dir / "secrets")
        self.workflow = RequestWorkflow(bus, audit, RequestPolicy())
        self._watchers: set[asyncio.Task[None]] = set()
        self.exports = ExportQueue(data_dir / "recordings", data_dir / "evidence", self.key,
                                   lambda: appliance_id(data_dir / "secrets"), self._exported)  # fmt: skip

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FootageRequests]:
        """Load the settings and the signing key (made at first start), run the export queue (again with the
        exports a stop interrupted or left waiting), stop it after."""
        self.workflow.policy = await load_policy()
        await asyncio.to_thread(self.key.load)
        await asyncio.to_thread(appliance_id, self.data_dir / "secrets")
        self.exports.start()
        for request in await FootageRequest.filter(export_queued_at__isnull=False).order_by("export_queued_at"):
            if request.status in (RequestStatus.APPROVED, RequestStatus.EXPORTED):
                log.info("footage request %d: its export was not finished before the stop; queued again", request.id)
                self._watch(self.exports.submit(request.id))
            else:
                await FootageRequest.filter(id=request.id).update(export_queued_at=None)
        try:
            yield self
        finally:
            await self.exports.stop()
            for task in list(self._watchers):
                task.cancel()

    def public_key(self) -> PublicKeyInfo:
        """Return the signing key's public half and fingerprint, for the System page."""
        return self.key.info()

    async def export(self, who: Principal, request_id: int, variant: str = ORIGINAL) -> ExportJob:
        """Queue the export of an approved request's evidence package: stream-copied as recorded, or
        re-encoded with the date, time and camera name drawn in (`burned_in`). The queued export is noted
        on the request, so that a restart before it is made queues it again."""
        if not who.can(Permission.APPROVE_FOOTAGE):
            raise Forbidden()
        if variant not in (ORIGINAL, BURNED_IN):
            raise InvalidRequestField("variant")
        request = await self.workflow.get(request_id)
        if request.status not in (RequestStatus.APPROVED, RequestStatus.EXPORTED):
            raise WrongState(status=str(request.status))
        job = self.exports.jobs.get(request.id)
        if job is not None and job.state in (JobState.QUEUED, JobState.WORKING):
            return job  # one at a time: the one under way goes on as asked
        request.export_variant, request.export_queued_at = variant, datetime.now(UTC)
        await request.save(update_fields=["export_variant", "export_queued_at", "updated_at"])
        job = self.exports.submit(request.id)
        self._watch(job)
        return job

    def _watch(self, job: ExportJob) -> None:
        """Note a failed export on its request (a stop leaves it queued for the next start)."""

        async def watch() -> None:
            await self.exports.wait(job)
            if job.state == JobState.FAILED and job.error != STOPPED:
                await FootageRequest.filter(id=job.request_id).update(export_queued_at=None,
                                                                      export_error=job.error[:255])  # fmt: skip

        task = asyncio.get_running_loop().create_task(watch(), name=f"export-watch-{job.request_id}")
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    async def _exported(self, request_id: int, package: Path, manifest_sha256: str, size: int) -> FootageRequest:
        relative = str(package.relative_to(self.data_dir))
        return await self.workflow.exported(request_id, relative, manifest_sha256, size)
