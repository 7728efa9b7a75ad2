"""Time windows of a rule: several a rule, each may cross midnight, on chosen days of the week.

A window runs from `start` to `end` in the appliance's local time. An `end` at or before its `start`
crosses midnight (22:00-02:00), and "00:00" as an end means midnight (20:00-00:00 is 20:00 to 24:00).
The days of the week are those on which a window *starts*: a Friday 22:00-02:00 window also covers
Saturday 01:00.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
ALL_DAYS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)  # Monday = 0, as datetime.weekday()


def parse_hhmm(value: str) -> time:
    """Return HH:MM as a time, or raise the translated validation error."""
    value = value.strip()
    if value == "24:00":
        value = "00:00"
    if not HHMM.fullmatch(value):
        raise PydanticCustomError("notify.error.time", "notify.error.time")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class TimeWindow(BaseModel):
    """From start to end, HH:MM local time; crosses midnight when end <= start."""

    model_config = ConfigDict(extra="forbid")

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        return parse_hhmm(value).strftime("%H:%M")

    @property
    def crosses_midnight(self) -> bool:
        """Return whether the window ends on the next day."""
        return parse_hhmm(self.end) <= parse_hhmm(self.start)

    def started_at(self, moment: datetime) -> datetime | None:
        """Return when the occurrence of this window that holds `moment` started, or None."""
        start, end = parse_hhmm(self.start), parse_hhmm(self.end)
        for day_offset in (0, -1):  # today's occurrence, or yesterday's that crossed midnight
            day = (moment + timedelta(days=day_offset)).date()
            opened = datetime.combine(day, start, moment.tzinfo)
            closed = datetime.combine(day, end, moment.tzinfo)
            if closed <= opened:
                closed += timedelta(days=1)
            if opened <= moment < closed:
                return opened
        return None

    def label(self) -> str:
        """Return the window as people write it: 20:00–24:00."""
        end = "24:00" if self.end == "00:00" else self.end
        return f"{self.start}–{end}"


# The night patrol shifts of the ward (the seed data): 20:00-24:00 and 00:00-04:00.
PATROL_SHIFTS: tuple[TimeWindow, ...] = (TimeWindow(start="20:00", end="00:00"), TimeWindow(start="00:00", end="04:00"))


def in_windows(windows: list[TimeWindow], days: list[int], moment: datetime) -> bool:
    """Return whether a local moment falls in one of the windows, started on one of the days.

    No windows means all day; no days means every day.
    """
    allowed = set(days) if days else set(ALL_DAYS)
    if not windows:
        return moment.weekday() in allowed
    for window in windows:
        opened = window.started_at(moment)
        if opened is not None and opened.weekday() in allowed:
            return True
    return False
