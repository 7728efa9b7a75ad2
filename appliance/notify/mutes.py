"""Maintenance mutes: nothing about a camera, or about any camera of a site, until a chosen time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.db.models.cameras import Camera, Site
from appliance.db.models.notify import NotificationMute
from appliance.errors import NotFound
from appliance.notify.errors import field_error


@dataclass(frozen=True)
class MuteView:
    """A mute as the panel and the API show it."""

    id: int
    camera_id: int | None
    site_id: int | None
    until: datetime
    reason: str
    created_by: str


class Mutes:
    """Keep the mutes in memory (a detection must not wait for the database) and in the database."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit
        self._active: list[MuteView] = []

    async def load(self) -> None:
        """Read the mutes that have not ended."""
        rows = await NotificationMute.filter(until__gt=datetime.now(UTC)).order_by("until")
        self._active = [_view(row) for row in rows]

    def muted(self, camera_id: int | None, site_id: int | None, now: datetime) -> bool:
        """Return whether notifications about this camera (at this site) are held back now."""
        for mute in self._active:
            if mute.until <= now:
                continue
            if (camera_id is not None and mute.camera_id == camera_id) or (
                site_id is not None and mute.site_id == site_id
            ):
                return True
        return False

    def active(self, now: datetime | None = None) -> list[MuteView]:
        """Return the mutes in force."""
        now = now or datetime.now(UTC)
        return [m for m in self._active if m.until > now]

    async def create(self, camera_id: int | None, site_id: int | None, until: datetime, reason: str,
                     who: Principal | None, ip: str = "") -> MuteView:  # fmt: skip
        """Mute a camera or a site until a time in the future."""
        if (camera_id is None) == (site_id is None):
            raise field_error("camera_id", "notify.error.mute_what")
        if camera_id is not None and not await Camera.exists(id=camera_id):
            raise field_error("camera_id", "notify.error.camera_unknown")
        if site_id is not None and not await Site.exists(id=site_id):
            raise field_error("site_id", "notify.error.site_unknown")
        if until.tzinfo is None:
            until = until.astimezone()
        if until <= datetime.now(UTC):
            raise field_error("until", "notify.error.mute_past")
        by = who.username if who else ""
        row = await NotificationMute.create(camera_id=camera_id, site_id=site_id, until=until,
                                            reason=reason.strip()[:255], created_by=by)  # fmt: skip
        await self.audit.record("notify.mute_created", who=who, object_type="notification_mute", object_id=row.id,
                                ip=ip, detail={"camera_id": camera_id, "site_id": site_id,
                                               "until": until.isoformat(timespec="minutes")})  # fmt: skip
        await self.load()
        return _view(row)

    async def delete(self, mute_id: int, who: Principal | None, ip: str = "") -> None:
        """End a mute now."""
        row = await NotificationMute.get_or_none(id=mute_id)
        if row is None:
            raise NotFound()
        await row.delete()
        await self.audit.record("notify.mute_ended", who=who, object_type="notification_mute", object_id=mute_id,
                                ip=ip, detail={"camera_id": row.camera_id, "site_id": row.site_id})  # fmt: skip
        await self.load()


def _view(row: NotificationMute) -> MuteView:
    return MuteView(row.id, row.camera_id, row.site_id, row.until, row.reason, row.created_by)
