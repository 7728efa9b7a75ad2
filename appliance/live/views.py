"""Who watched which camera live: audit entries for the roles whose views of footage are audited.

One entry per opening, not per frame: opening a camera's live video writes `live.viewed`; opening
the live grid writes one `live.grid_viewed` naming every camera it shows (and another when the grid
is switched to cameras it did not show yet); fetching a camera's latest frame through the API writes
`live.viewed` (via "frame"). The same user reopening the same view of the same camera within
REPEAT_S of the last one (a page reload, a reconnect) writes nothing new.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.auth.roles import AUDITED_VIEWERS
from appliance.db.models.cameras import Camera

REPEAT_S = 60.0

Via = Literal["video", "frame", "grid"]


class ViewAudit:
    """Write live-view audit entries for police and viewers, once per viewing."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit
        self._last: dict[tuple[int, int, Via], float] = {}  # (user, camera, via) -> monotonic time last seen

    def _fresh(self, who: Principal, camera_id: int, via: Via) -> bool:
        """Note the view; return True when it starts a new viewing (nothing recent for it)."""
        now = time.monotonic()
        key = (who.user_id, camera_id, via)
        last = self._last.get(key)
        self._last[key] = now
        if len(self._last) > 10_000:  # forget old viewings
            self._last = {k: v for k, v in self._last.items() if now - v < REPEAT_S}
        return last is None or now - last >= REPEAT_S

    def still_watching(self, who: Principal, camera_id: int, via: Via) -> None:
        """Note that a viewing goes on (or just ended), so that a reconnect right after is not a new one."""
        self._last[(who.user_id, camera_id, via)] = time.monotonic()

    async def viewed(self, who: Principal, camera: Camera, via: Via, ip: str = "") -> bool:
        """Audit one camera's live view if it starts a viewing; return whether an entry was written."""
        if who.role not in AUDITED_VIEWERS or not self._fresh(who, camera.id, via):
            return False
        await self.audit.record("live.viewed", who=who, object_type="camera", object_id=camera.id, ip=ip,
                                detail={"camera": camera.name, "via": via})  # fmt: skip
        return True

    async def grid_viewed(self, who: Principal, cameras: Sequence[Camera], ip: str = "") -> list[int]:
        """Audit the cameras a grid starts to show, in one entry; return their ids."""
        if who.role not in AUDITED_VIEWERS:
            return []
        new = [c for c in cameras if self._fresh(who, c.id, "grid")]
        if new:
            await self.audit.record(
                "live.grid_viewed", who=who, object_type="camera", object_id=",".join(str(c.id) for c in new)[:64],
                ip=ip, detail={"cameras": [c.id for c in new], "names": [c.name for c in new]},
            )  # fmt: skip
        return [c.id for c in new]
