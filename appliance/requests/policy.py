"""The settings of footage requests: the longest range a request may cover, and how long evidence is held."""

from __future__ import annotations

from pydantic import BaseModel, Field

from appliance.db.models.settings import Setting

SETTING_KEY = "footage_requests"


class RequestPolicy(BaseModel):
    """Limits of footage requests, stored as the Setting `footage_requests`."""

    max_range_s: int = Field(default=2 * 3600, ge=60, le=24 * 3600, title="Longest time range of a request (seconds)")
    hold_days: int = Field(default=90, ge=0, le=3650, title="Days evidence stays locked after a request is closed")


async def load_policy() -> RequestPolicy:
    """Return the stored policy, or the defaults."""
    row = await Setting.get_or_none(key=SETTING_KEY)
    return RequestPolicy.model_validate(row.value) if row is not None else RequestPolicy()
