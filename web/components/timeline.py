"""timeline(): a day (or one hour) of a camera's recordings as a bar, for the Recordings page.

Recorded ranges are filled, gaps are left empty, and the segment being written now is marked. The bar
is drawn here; web/static/playback.js makes it work: a click plays from that moment, a drag selects a
range for a clip, the playhead follows the video, and the time under the pointer is shown. Times are
the appliance's local time. Events (detections) are markers above the ranges: events too close to tell
apart at the scale shown share one marker, and a click (or Enter) on a marker plays from a few seconds
before it, so that one sees what led to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from html import escape

from nicegui import ui

from appliance.playback.ranges import RecordedRange
from web import design

STYLE = f"""
.wardcam-timeline {{ position: relative; width: 100%; height: 64px; user-select: none; touch-action: none;
  cursor: pointer; }}
.wardcam-timeline-track {{ position: absolute; left: 0; right: 0; top: 0; height: 40px; background: #eceff1;
  border: 1px solid #cfd8dc; border-radius: 4px; overflow: hidden; }}
.wardcam-range {{ position: absolute; top: 0; bottom: 0; min-width: 2px; background: {design.SECONDARY}; }}
.wardcam-range-now {{ background: repeating-linear-gradient(45deg, {design.NEGATIVE} 0 6px, #e57373 6px 12px); }}
.wardcam-event {{ position: absolute; top: 0; width: 14px; height: 18px; margin-left: -7px; cursor: pointer;
  z-index: 1; }}
.wardcam-event::before {{ content: ""; position: absolute; left: 5px; top: 0; width: 4px; height: 18px;
  background: {design.ACCENT}; border-radius: 0 0 2px 2px; box-shadow: 0 0 0 1px rgba(0, 0, 0, 0.35); }}
.wardcam-event:hover::before, .wardcam-event:focus::before {{ left: 3px; width: 8px; }}
.wardcam-timeline-ticks {{ position: absolute; left: 0; right: 0; top: 42px; height: 20px; font-size: 11px;
  color: #607d8b; pointer-events: none; }}
.wardcam-tick {{ position: absolute; top: 0; transform: translateX(-50%); white-space: nowrap; }}
.wardcam-tick::before {{ content: ""; position: absolute; left: 50%; top: -4px; height: 4px; border-left: 1px solid
  #90a4ae; }}
.wardcam-playhead {{ position: absolute; top: -4px; height: 48px; width: 2px; margin-left: -1px;
  background: {design.PRIMARY}; display: none; pointer-events: none; }}
.wardcam-selection {{ position: absolute; top: 0; height: 40px; background: rgba(31, 78, 121, 0.25);
  border: 1px solid {design.PRIMARY}; display: none; pointer-events: none; }}
.wardcam-hover {{ position: absolute; top: -26px; transform: translateX(-50%); background: #263238; color: #fff;
  font-size: 12px; padding: 1px 6px; border-radius: 3px; display: none; pointer-events: none; white-space: nowrap; }}
"""


EVENT_LEAD = timedelta(seconds=5)  # a click on an event plays from this much before it
EVENTS_PER_VIEW = 300  # events closer than 1/300 of the view share a marker (a few pixels on a screen)
# One listener for every marker: a press on a marker plays from its moment, and does not start the
# timeline's own click or drag (web/static/playback.js listens on the document, after this).
EVENT_PRESS = """(e) => {
  const marker = e.target.closest && e.target.closest('[data-play-from]');
  if (!marker || (e.type === 'keydown' && e.key !== 'Enter' && e.key !== ' ')) return;
  e.stopPropagation();
  e.preventDefault();
  if (window.WardCamPlayback) window.WardCamPlayback.play(Number(marker.dataset.playFrom));
}"""


@dataclass(frozen=True)
class TimelineEvent:
    """Something that happened at a moment (a detection), with its label in the user's language."""

    at: datetime
    label: str


@dataclass(frozen=True)
class EventMarker:
    """One marker on the timeline: the first of the events it stands for, and what they were."""

    at: datetime
    labels: tuple[tuple[str, int], ...]  # each label with how many times it occurred, in order of first sight

    def text(self, tz: tzinfo | None = None) -> str:
        """Return 'HH:MM:SS · Người ×2, Xe máy' in a time zone (the view's)."""
        local = self.at.astimezone(tz)
        what = ", ".join(f"{label} ×{count}" if count > 1 else label for label, count in self.labels)
        return f"{local:%H:%M:%S} · {what}"


def markers(events: Sequence[TimelineEvent], finer_than: timedelta) -> list[EventMarker]:
    """Group events by time: each marker takes the events within `finer_than` of its first one."""
    groups: list[list[TimelineEvent]] = []
    for event in sorted(events, key=lambda e: e.at):
        if groups and event.at - groups[-1][0].at < finer_than:
            groups[-1].append(event)
        else:
            groups.append([event])
    return [EventMarker(group[0].at, tuple(Counter(e.label for e in group).items())) for group in groups]


def epoch_ms(value: datetime) -> int:
    """Return a time as milliseconds since 1970, as JavaScript counts."""
    return round(value.timestamp() * 1000)


def ticks(start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    """Return the labelled marks of a view: every 2 hours over a day, every 5 minutes over an hour."""
    span = end - start
    step = timedelta(hours=2) if span > timedelta(hours=3) else timedelta(minutes=5)
    out = []
    at = start
    while at <= end:
        out.append((at, f"{at:%H:%M}" if at < end or span <= timedelta(hours=3) else "24:00"))
        at += step
    return out


def shown(ranges: Sequence[RecordedRange], finer_than: timedelta) -> list[RecordedRange]:
    """Join ranges whose gap is too short to see at this scale (a flapping camera makes thousands of them)."""
    out: list[RecordedRange] = []
    for recorded in ranges:
        last = out[-1] if out else None
        if last and not recorded.recording_now and not last.recording_now and recorded.start - last.end < finer_than:
            out[-1] = RecordedRange(last.start, max(last.end, recorded.end), last.segments + recorded.segments)
        else:
            out.append(recorded)
    return out


class Timeline(ui.element):
    """The bar of one camera's recordings over a view (a day or an hour)."""

    def __init__(self, camera_id: int) -> None:
        super().__init__("div")
        ui.add_css(STYLE, shared=True)
        self.classes("wardcam-timeline").props(f"data-playback-timeline data-camera={camera_id}")
        with self:
            self.track = ui.element("div").classes("wardcam-timeline-track")
            self.track.on("pointerdown", js_handler=EVENT_PRESS).on("keydown", js_handler=EVENT_PRESS)
            self.marks = ui.element("div").classes("wardcam-timeline-ticks")
            ui.element("div").classes("wardcam-selection").props("data-playback-selection")
            ui.element("div").classes("wardcam-playhead").props("data-playback-playhead")
            ui.element("div").classes("wardcam-hover").props("data-playback-hover")

    def show(self, camera_id: int, start: datetime, end: datetime, ranges: Sequence[RecordedRange],
             events: Sequence[TimelineEvent] = (), lead: timedelta = EVENT_LEAD) -> None:  # fmt: skip
        """Draw the ranges (and events) of a view from `start` to `end` (local times with their zone).

        A click on an event's marker plays from `lead` before it.
        """
        offset = start.utcoffset() or timedelta(0)
        self.props(f"data-camera={camera_id} data-view-start={epoch_ms(start)} data-view-end={epoch_ms(end)} "
                   f"data-tz-offset={round(offset.total_seconds() / 60)}")  # fmt: skip
        span = (end - start).total_seconds()

        def left(at: datetime) -> float:
            return max(0.0, min(100.0, (at - start).total_seconds() / span * 100))

        self.track.clear()
        with self.track:
            for recorded in shown(ranges, timedelta(seconds=span / 2000)):
                a, b = left(recorded.start), left(recorded.end)
                if b <= 0 or a >= 100:
                    continue
                local_a, local_b = recorded.start.astimezone(start.tzinfo), recorded.end.astimezone(start.tzinfo)
                title = escape(f"{local_a:%H:%M:%S} – {local_b:%H:%M:%S}")
                now = " wardcam-range-now" if recorded.recording_now else ""
                ui.element("div").classes("wardcam-range" + now).style(f"left:{a:.4f}%;width:{b - a:.4f}%").props(
                    f"data-range-start={epoch_ms(recorded.start)} data-range-end={epoch_ms(recorded.end)} "
                    f'title="{title}"' + (" data-recording-now" if now else "")
                )
            in_view = [e for e in events if start <= e.at < end]
            for marker in markers(in_view, timedelta(seconds=span) / EVENTS_PER_VIEW):
                text = escape(marker.text(start.tzinfo))
                ui.element("div").classes("wardcam-event").style(f"left:{left(marker.at):.4f}%").props(
                    f"data-event-at={epoch_ms(marker.at)} data-play-from={epoch_ms(marker.at - lead)} "
                    f'title="{text}" aria-label="{text}" role=button tabindex=0'
                )
        self.marks.clear()
        with self.marks:
            for at, label in ticks(start, end):
                ui.label(label).classes("wardcam-tick").style(f"left:{left(at):.4f}%")
