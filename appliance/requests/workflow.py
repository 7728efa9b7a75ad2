"""The life of a footage request: create, approve (placing evidence locks) or reject, deliver, close.

Every step checks the user's permission and the request's state, is written to the audit log, and is
published on the bus as RequestStateChanged (the notifications service announces new ones).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.auth.roles import SITE_RESTRICTED, Permission
from appliance.bus import EventBus, RequestStateChanged
from appliance.db.models.cameras import Camera
from appliance.db.models.recordings import EvidenceLock
from appliance.db.models.requests import FootageRequest, RequestStatus, Urgency
from appliance.db.models.users import Role, User
from appliance.errors import Forbidden, NotFound

from .errors import InvalidRange, InvalidRequestField, NoCameras, NoteRequired, RangeTooLong, WrongState
from .policy import RequestPolicy

log = logging.getLogger(__name__)

S = RequestStatus
NEXT: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.PENDING: frozenset({S.APPROVED, S.REJECTED}),
    S.APPROVED: frozenset({S.EXPORTED, S.CLOSED}),
    S.REJECTED: frozenset({S.CLOSED}),
    S.EXPORTED: frozenset({S.EXPORTED, S.DELIVERED, S.CLOSED}),  # exported again: a new package
    S.DELIVERED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}
TEXT_FIELDS = {"officer_name": 128, "officer_unit": 128, "officer_badge": 64, "case_number": 128, "reason": 4000}


@dataclass(frozen=True)
class RequestInput:
    """What an officer asks for (typed by the officer, or by staff on the officer's behalf)."""

    officer_name: str
    officer_unit: str
    officer_badge: str
    case_number: str
    reason: str
    start: datetime
    end: datetime
    camera_ids: tuple[int, ...] = ()
    site_id: int | None = None  # a whole site: all its cameras
    urgency: Urgency = Urgency.NORMAL
    officer_user_id: int | None = None  # staff entering it for a police user: the request becomes theirs


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def summary(request: FootageRequest) -> dict[str, Any]:
    """Return what the audit log keeps of a request."""
    return {"case": request.case_number, "officer": request.officer_name, "badge": request.officer_badge,
            "cameras": list(request.camera_ids), "start": _aware(request.start).isoformat(),
            "end": _aware(request.end).isoformat(), "status": str(request.status)}  # fmt: skip


class RequestWorkflow:
    """Move footage requests through their states."""

    def __init__(self, bus: EventBus, audit: AuditLog, policy: RequestPolicy) -> None:
        self.bus = bus
        self.audit = audit
        self.policy = policy

    async def _cameras(self, who: Principal, data: RequestInput) -> list[int]:
        if data.site_id is not None:
            ids = [c.id for c in await Camera.filter(site_id=data.site_id).order_by("id")]
        else:
            ids = sorted({c.id for c in await Camera.filter(id__in=list(data.camera_ids))})
            if len(ids) != len(set(data.camera_ids)):
                raise NoCameras()
        if not ids:
            raise NoCameras()
        if who.role in SITE_RESTRICTED:
            sites = {c.site_id for c in await Camera.filter(id__in=ids)}  # type: ignore[attr-defined]
            if not sites <= who.site_ids:
                raise Forbidden()
        return ids

    async def create(self, who: Principal, data: RequestInput, ip: str = "") -> FootageRequest:
        """Record a new request (pending); raise a field's error when the input is wrong."""
        if not who.can(Permission.REQUEST_FOOTAGE):
            raise Forbidden()
        texts: dict[str, str] = {}
        for name, limit in TEXT_FIELDS.items():
            value = str(getattr(data, name)).strip()
            if not value:
                raise InvalidRequestField(name)
            if len(value) > limit:
                raise InvalidRequestField(name, "requests.error.field_too_long", max=limit)
            texts[name] = value
        start, end = _aware(data.start), _aware(data.end)
        if end <= start:
            raise InvalidRange()
        if (end - start).total_seconds() > self.policy.max_range_s:
            raise RangeTooLong(hours=round(self.policy.max_range_s / 3600, 2))
        camera_ids = await self._cameras(who, data)
        officer_user_id = await self._officer(who, data.officer_user_id)
        request = await FootageRequest.create(
            officer_name=texts["officer_name"], officer_unit=texts["officer_unit"],
            officer_badge=texts["officer_badge"], case_number=texts["case_number"], reason=texts["reason"],
            site_id=data.site_id, camera_ids=camera_ids, start=start, end=end, urgency=data.urgency,
            status=S.PENDING, created_by_id=who.user_id, created_by=who.username[:64], officer_user_id=officer_user_id,
        )  # fmt: skip
        await self._announce(request, "requests.created", who, ip)
        return request

    async def _officer(self, who: Principal, officer_user_id: int | None) -> int | None:
        """Return the police user the request belongs to: its maker if police, else the one staff named."""
        if who.role == Role.POLICE:
            return who.user_id
        if officer_user_id is None:
            return None
        if not await User.filter(id=officer_user_id, role=Role.POLICE, is_active=True).exists():
            raise InvalidRequestField("officer_user_id", "requests.error.not_a_police_user")
        return officer_user_id

    async def get(self, request_id: int) -> FootageRequest:
        """Return a request; NotFound when there is none."""
        request = await FootageRequest.get_or_none(id=request_id)
        if request is None:
            raise NotFound()
        return request

    async def approve(self, who: Principal, request_id: int, note: str = "", ip: str = "") -> FootageRequest:
        """Approve a pending request and lock its footage on every camera at once."""
        if not who.can(Permission.APPROVE_FOOTAGE):
            raise Forbidden()
        now = datetime.now(UTC)
        async with in_transaction():
            request = await self._move(request_id, S.APPROVED)
            request.decided_by, request.decided_at, request.decision_note = who.username[:64], now, note.strip()
            await request.save()
            await EvidenceLock.bulk_create([
                EvidenceLock(camera_id=camera_id, start=request.start, end=request.end, until=None,
                             reason=f"footage request {request.id} ({request.case_number})"[:255],
                             request_id=request.id, created_by=who.username[:64])
                for camera_id in request.camera_ids
            ])  # fmt: skip
        log.info("footage request %d approved by %s: %d cameras locked", request.id, who.username,
                 len(request.camera_ids))  # fmt: skip
        await self._announce(request, "requests.approved", who, ip, note=request.decision_note)
        return request

    async def reject(self, who: Principal, request_id: int, note: str, ip: str = "") -> FootageRequest:
        """Reject a pending request; the note says why."""
        if not who.can(Permission.APPROVE_FOOTAGE):
            raise Forbidden()
        if not note.strip():
            raise NoteRequired()
        request = await self._move(request_id, S.REJECTED)
        request.decided_by, request.decided_at = who.username[:64], datetime.now(UTC)
        request.decision_note = note.strip()
        await request.save()
        await self._announce(request, "requests.rejected", who, ip, note=request.decision_note)
        return request

    async def exported(self, request_id: int, package_path: str, manifest_sha256: str, size: int) -> FootageRequest:
        """Note that the request's evidence package is made."""
        request = await self._move(request_id, S.EXPORTED)
        request.package_path, request.package_sha256, request.package_size = package_path, manifest_sha256, size
        request.exported_at, request.export_error, request.export_queued_at = datetime.now(UTC), "", None
        await request.save()
        await self._announce(request, "requests.exported", None, "", package=package_path, manifest=manifest_sha256)
        return request

    async def delivered(self, who: Principal, request_id: int, ip: str = "") -> FootageRequest:
        """Note that the package was handed to the police."""
        if not who.can(Permission.APPROVE_FOOTAGE):
            raise Forbidden()
        request = await self._move(request_id, S.DELIVERED)
        request.delivered_at = datetime.now(UTC)
        await request.save()
        await self._announce(request, "requests.delivered", who, ip)
        return request

    async def close(self, who: Principal, request_id: int, ip: str = "") -> FootageRequest:
        """Close a request; its evidence locks end after the hold period."""
        if not who.can(Permission.APPROVE_FOOTAGE):
            raise Forbidden()
        now = datetime.now(UTC)
        async with in_transaction():
            request = await self._move(request_id, S.CLOSED)
            request.closed_at, request.hold_until = now, now + timedelta(days=self.policy.hold_days)
            await request.save()
            await EvidenceLock.filter(request_id=request.id).update(until=request.hold_until)
        await self._announce(request, "requests.closed", who, ip, hold_until=request.hold_until.isoformat())
        return request

    async def _move(self, request_id: int, to: RequestStatus) -> FootageRequest:
        request = await self.get(request_id)
        if to not in NEXT[request.status]:
            raise WrongState(status=str(request.status))
        request.status = to
        return request

    async def _announce(self, request: FootageRequest, action: str, who: Principal | None, ip: str,
                        **extra: Any) -> None:  # fmt: skip
        await self.audit.record(action, who=who, actor="" if who else "system", object_type="footage_request",
                                object_id=request.id, detail={**summary(request), **extra}, ip=ip)  # fmt: skip
        self.bus.publish(RequestStateChanged(request_id=request.id, state=str(request.status)))
