"""Numbers made readable: sizes and durations."""

from __future__ import annotations

from appliance.i18n import t


def size(n: float) -> str:
    """Return a byte count as B, KB, MB, GB or TB."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def duration(seconds: float) -> str:
    """Return a duration as days, hours and minutes, in the user's language."""
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return t("time.days_hours", days=days, hours=hours)
    if hours:
        return t("time.hours_minutes", hours=hours, minutes=mins)
    return t("time.minutes", minutes=mins)
