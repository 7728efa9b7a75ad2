"""Footage requests on the appliance: the workflow, the export queue and the signing key, started together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.bus import EventBus
from appliance.db.models.requests import FootageRequest, RequestStatus
from appliance.errors import Forbidden

from .errors import WrongState
from .export import ExportJob, ExportQueue
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
        self.exports = ExportQueue(data_dir / "recordings", data_dir / "evidence", self.key,
                                   lambda: appliance_id(data_dir / "secrets"), self._exported)  # fmt: skip

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FootageRequests]:
        """Load the settings and the signing key (made at first start), run the export queue, stop it after."""
        self.workflow.policy = await load_policy()
        await asyncio.to_thread(self.key.load)
        await asyncio.to_thread(appliance_id, self.data_dir / "secrets")
        self.exports.start()
        try:
            yield self
        finally:
            await self.exports.stop()

    def public_key(self) -> PublicKeyInfo:
        """Return the signing key's public half and fingerprint, for the System page."""
        return self.key.info()

    async def export(self, who: Principal, request_id: int) -> ExportJob:
        """Queue the export of an approved request's evidence package."""
        if not who.can(Permission.APPROVE_FOOTAGE):
            raise Forbidden()
        request = await self.workflow.get(request_id)
        if request.status not in (RequestStatus.APPROVED, RequestStatus.EXPORTED):
            raise WrongState(status=str(request.status))
        return self.exports.submit(request.id)

    async def _exported(self, request_id: int, package: Path, manifest_sha256: str, size: int) -> FootageRequest:
        relative = str(package.relative_to(self.data_dir))
        return await self.workflow.exported(request_id, relative, manifest_sha256, size)
