"""The footage request desk: what the page and the API do with requests beyond their workflow.

Opening a request, downloading its package, checking it and reading its handover record are each
written to the audit log (`requests.viewed`, `requests.downloaded`, `requests.verified`,
`requests.handover_viewed`), with who, from where and which request. Every method checks the
visibility rules of appliance/requests/access.py first.
"""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path
from typing import Any

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.db.models.requests import FootageRequest
from appliance.errors import NotFound

from .access import check_role, downloadable, visible_request
from .keys import SigningKey
from .links import DownloadLinks, Link, load_link_policy
from .verify import VerifyResult, verify_package
from .workflow import summary

HANDOVER = "handover.pdf"


class NoPackage(NotFound):
    """The request has no evidence package (not exported yet, or its file is gone)."""

    key = "requests_web.error.no_package"


class NoHandover(NotFound):
    """The package holds no handover record."""

    key = "requests_web.error.no_handover"


class RequestDesk:
    """Open, download, verify and read footage requests, with their audit."""

    def __init__(self, data_dir: Path, audit: AuditLog, key: SigningKey) -> None:
        self.data_dir = data_dir
        self.audit = audit
        self.key = key  # the appliance's own signing key: a stored package is checked against it
        self.links = DownloadLinks(data_dir / "secrets")

    async def _audit(self, action: str, who: Principal, request: FootageRequest, ip: str, **extra: Any) -> None:
        await self.audit.record(action, who=who, object_type="footage_request", object_id=request.id, ip=ip,
                                detail={**summary(request), **extra})  # fmt: skip

    def package_file(self, who: Principal, request: FootageRequest) -> Path:
        """Return the request's package on disk; NoPackage when there is none the user may take."""
        if not downloadable(who, request):
            raise NoPackage()
        path = (self.data_dir / request.package_path).resolve()
        if not path.is_relative_to(self.data_dir.resolve()) or not path.is_file():
            raise NoPackage()
        return path

    async def open(self, who: Principal, request_id: int, ip: str = "") -> FootageRequest:
        """Return a request the user may see, noting the view in the audit log."""
        request = await visible_request(who, request_id)
        await self._audit("requests.viewed", who, request, ip)
        return request

    async def link(self, who: Principal, request_id: int) -> Link:
        """Return a fresh download link for the user, valid for the set time."""
        request = await visible_request(who, request_id)
        self.package_file(who, request)
        if who.user_id is None:
            raise NoPackage()  # a link is made for a user
        policy = await load_link_policy()
        return await asyncio.to_thread(self.links.make, request.id, who.user_id, policy.link_ttl_s)

    async def download(self, who: Principal, token: str, ip: str = "") -> tuple[FootageRequest, Path]:
        """Return the request and package a link is for, if the link holds for this user; audited."""
        check_role(who)
        request_id = await asyncio.to_thread(self.links.check, token, who.user_id)
        request = await visible_request(who, request_id)  # the access rules still hold at download time
        path = self.package_file(who, request)
        await self._audit("requests.downloaded", who, request, ip, package=request.package_path,
                          manifest=request.package_sha256, size=request.package_size)  # fmt: skip
        return request, path

    async def verify(self, who: Principal, request_id: int, ip: str = "") -> VerifyResult:
        """Check the stored package against the appliance's own key; audited with the outcome."""
        request = await visible_request(who, request_id)
        path = self.package_file(who, request)
        public_pem = (await asyncio.to_thread(self.key.info)).pem.encode()
        result = await asyncio.to_thread(verify_package, path, public_key=public_pem)
        await self._audit("requests.verified", who, request, ip, ok=result.ok, fingerprint=result.fingerprint,
                          problems=[f"{p.kind}:{p.name}" for p in result.problems])  # fmt: skip
        return result

    async def handover(self, who: Principal, request_id: int, ip: str = "") -> bytes:
        """Return the handover record (PDF) from the request's package; audited."""
        request = await visible_request(who, request_id)
        path = self.package_file(who, request)

        def read() -> bytes:
            with zipfile.ZipFile(path) as archive:
                if HANDOVER not in archive.namelist():
                    raise NoHandover()
                return archive.read(HANDOVER)

        data = await asyncio.to_thread(read)
        await self._audit("requests.handover_viewed", who, request, ip)
        return data
