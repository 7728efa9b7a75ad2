"""The delivery log in words: a delivery's error as the user reads it."""

from __future__ import annotations

import re

from appliance.db.models.notify import NotificationDelivery
from appliance.i18n import t

_PARAM = re.compile(r"^(\w+)=(\S+)")


def error_text(row: NotificationDelivery, lang: str | None = None) -> str:
    """Return the delivery's error in plain words ("" when there is none), its parameters filled from the detail."""
    if not row.error_key:
        return ""
    params: dict[str, str] = {"code": "-", "seconds": "-", "detail": "-"}
    rest = row.error_detail
    while match := _PARAM.match(rest):
        params[match.group(1)] = match.group(2)
        rest = rest[match.end() :].lstrip()
    if rest:
        params["detail"] = rest
    return t(row.error_key, lang, **params)
