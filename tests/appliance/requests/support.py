"""Who acts in the footage request tests (an admin of the ward, an operator, an officer granted sites), and the
admin's steps from a request to its package."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from appliance.auth.principal import Principal
from appliance.db.models.requests import FootageRequest
from appliance.db.models.users import Role
from appliance.requests import FootageRequests
from appliance.requests.export import JobState
from appliance.requests.workflow import RequestInput

ADMIN = Principal(1, "quantri", "Quản trị phường", Role.ADMIN, "vi")
OPERATOR = Principal(2, "trucban", "Trực ban", Role.OPERATOR, "vi")


def officer(*site_ids: int) -> Principal:
    """Return a police user granted these sites."""
    return Principal(3, "congan", "Đại úy Lê Văn Tâm", Role.POLICE, "vi", site_ids=frozenset(site_ids))


async def approved_request(requests: FootageRequests, camera_ids: tuple[int, ...], start: datetime, end: datetime,
                           *, case_number: str, reason: str) -> FootageRequest:  # fmt: skip
    """File a request for these cameras as the ward's admin does for an officer, and approve it."""
    request = await requests.workflow.create(ADMIN, RequestInput(
        officer_name="Lê Văn Tâm", officer_unit="Công an phường 7", officer_badge="CA-123456",
        case_number=case_number, reason=reason, start=start, end=end, camera_ids=camera_ids,
    ))  # fmt: skip
    await requests.workflow.approve(ADMIN, request.id, note="Đồng ý")
    return request


async def exported(requests: FootageRequests, request_id: int, variant: str, to: Path) -> Path:
    """Make the request's package in this variant (the job must succeed) and move it to `to`."""
    job = await requests.export(ADMIN, request_id, variant=variant)
    await asyncio.wait_for(requests.exports.wait(job), 60)
    assert job.state == JobState.DONE, job.error
    assert job.package is not None
    return job.package.rename(to)
