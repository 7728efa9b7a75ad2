"""/recordings: pick a camera and a day, see what was recorded, play from any moment, download a clip.

The timeline (web/components/timeline.py) shows the day's recorded ranges and, for those who may see
events, the camera's detections as markers; clicking the timeline plays from that moment (a marker: from
a few seconds before it) in a <video> fed by /api/recordings/play, and web/static/playback.js shows the
wall-clock time of the frame on screen. /recordings?camera=ID&day=YYYY-MM-DD&at=HH:MM:SS (the Events
page's link) plays from that moment at once. A clip is made by stream copy with its progress shown, then
downloaded through /api/recordings/clips/{id}/file (which writes the audit entry) and deleted.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from html import escape

from nicegui import events, ui

from appliance import __version__
from appliance.audit_export import local_timezone
from appliance.auth.roles import Permission, has_permission
from appliance.cameras import camera_for, cameras_for
from appliance.db.models.cameras import Camera
from appliance.db.models.detections import Detection
from appliance.errors import WardCamError
from appliance.i18n import catalog, current_language, t
from appliance.playback.clip import Clip, ClipState
from web import context, design, format
from web.access import page
from web.api.recordings import playback
from web.components.timeline import Timeline, TimelineEvent
from web.guard import acting
from web.theme import frame

REFRESH_S = 10.0  # today's timeline grows while cameras record
EVENTS_MAX = 5000  # detections read for one view; a camera with more in a day shows its first ones
CLIP_POLL_S = 0.3
PLAYER_STYLE = """
.wardcam-playback-player { position: relative; width: 100%; max-width: 960px; aspect-ratio: 16 / 9;
  background: #111; border-radius: 6px; overflow: hidden; }
.wardcam-playback-player video { width: 100%; height: 100%; object-fit: contain; background: #111; }
.wardcam-playback-message { position: absolute; left: 0; right: 0; top: 45%; text-align: center; color: #eee;
  pointer-events: none; padding: 0 12px; }
"""


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return the start and end of a day in the appliance's local time."""
    start = datetime.combine(day, time(0), tzinfo=local_timezone())
    return start, start + timedelta(days=1)


def parse_clock(text: str, day: date) -> datetime | None:
    """Read HH:MM or HH:MM:SS on a day (24:00 is the next midnight); None when it is not a time."""
    parts = (text or "").strip().split(":")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return None
    hours, minutes, seconds = (int(p) for p in [*parts, "0"][:3])
    if (hours, minutes, seconds) == (24, 0, 0):
        return day_bounds(day)[1]
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    return datetime.combine(day, time(hours, minutes, seconds), tzinfo=local_timezone())


def clock(value: datetime) -> str:
    """Return a time as HH:MM:SS in the appliance's local time."""
    return f"{value.astimezone(local_timezone()):%H:%M:%S}"


def label_text(label: str) -> str:
    """Return a detection's label in the user's language (person → Người); an unknown label as it is."""
    key = f"events.label.{label}"
    return t(key) if key in catalog(current_language()) else label


async def timeline_events(camera_id: int, start: datetime, end: datetime) -> list[TimelineEvent]:
    """Return the camera's detections that start in a view, with their labels translated."""
    rows = (
        await Detection.filter(camera_id=camera_id, start__gte=start, start__lt=end)
        .order_by("start")
        .limit(EVENTS_MAX)
        .values_list("start", "label")
    )
    return [TimelineEvent(at, label_text(label)) for at, label in rows]


@dataclass
class View:
    """What the page shows: a camera, a day, and the whole day or one hour of it."""

    camera_id: int
    day: date
    hour: int | None = None


class RecordingsPanel:
    """The camera and day pickers, the timeline, the player and the clip form of one open page."""

    def __init__(self, cameras: list[Camera], view: View, *, with_events: bool = False) -> None:
        self.cameras = {c.id: c for c in cameras}
        self.view = view
        self.with_events = with_events  # only roles that may see detections get their markers
        self.played_at: datetime | None = None  # the moment last played, from the browser
        self.newest: datetime | None = None  # the end of the day's newest recording
        self.clip: Clip | None = None
        options = {c.id: f"{c.name} · {c.site.name}" if c.site else c.name for c in cameras}
        with ui.row().classes("w-full items-end gap-2"):
            ui.select(options, value=view.camera_id, label=t("recordings.camera"),
                      on_change=self.camera_changed).classes("min-w-64").mark("camera")  # fmt: skip
            ui.button(icon="chevron_left", on_click=lambda: self.move_day(-1)).props(
                f'flat round aria-label="{t("recordings.previous_day")}"').mark("previous-day")  # fmt: skip
            self.day_input = ui.date_input(t("recordings.day"), value=view.day.isoformat(),
                                           on_change=self.day_changed).classes("w-44").mark("day")  # fmt: skip
            ui.button(icon="chevron_right", on_click=lambda: self.move_day(1)).props(
                f'flat round aria-label="{t("recordings.next_day")}"').mark("next-day")  # fmt: skip
            ui.button(t("recordings.today"), on_click=lambda: self.set_day(date.today())).props("flat").mark("today")
            ui.space()
            self.hour_back = ui.button(icon="chevron_left", on_click=lambda: self.move_hour(-1)).props(
                f'flat round aria-label="{t("recordings.previous_hour")}"')  # fmt: skip
            self.zoom = ui.toggle({"day": t("recordings.zoom_day"), "hour": t("recordings.zoom_hour")}, value="day",
                                  on_change=self.zoom_changed).mark("zoom")  # fmt: skip
            self.hour_on = ui.button(icon="chevron_right", on_click=lambda: self.move_hour(1)).props(
                f'flat round aria-label="{t("recordings.next_hour")}"')  # fmt: skip
        self.summary = ui.label().classes(design.MUTED).mark("summary")
        self.timeline = Timeline(view.camera_id)
        ui.label(t("recordings.timeline_hint")).classes(design.MUTED)
        if with_events:
            ui.label(t("recordings.events_hint")).classes(design.MUTED).mark("events-hint")
        self._player()
        self._clip_form()
        ui.on("wardcam-clip-range", self.range_selected)
        ui.on("wardcam-playing", self.playing)
        ui.timer(REFRESH_S, self.refresh_today)

    def _player(self) -> None:
        texts = {"loading": t("recordings.loading"), "ended": t("recordings.ended"),
                 "failed": t("recordings.play_failed"), "clock": t("recordings.playing_at", time="{time}")}  # fmt: skip
        data = " ".join(f'data-text-{key}="{escape(value)}"' for key, value in texts.items())
        with ui.element("div").classes("wardcam-playback-player"):
            ui.element("video").props(f"data-playback-video {data} controls playsinline preload=none")
            ui.label(t("recordings.click_to_play")).classes("wardcam-playback-message").props(
                "data-playback-message aria-live=polite")  # fmt: skip
        ui.label("").classes("text-lg font-semibold text-primary").props("data-playback-clock")

    def _clip_form(self) -> None:
        with ui.card().classes(design.CARD):
            ui.label(t("recordings.clip.title")).classes(design.H2)
            ui.label(t("recordings.clip.hint")).classes(design.MUTED)
            with ui.row().classes("items-end gap-3"):
                self.clip_from = ui.input(t("recordings.clip.from"), placeholder="HH:MM:SS").props(
                    'mask="##:##:##"').classes("w-32").mark("clip-from")  # fmt: skip
                self.clip_to = ui.input(t("recordings.clip.to"), placeholder="HH:MM:SS").props(
                    'mask="##:##:##"').classes("w-32").mark("clip-to")  # fmt: skip
                self.clip_button = ui.button(t("recordings.clip.download"), icon="download",
                                             on_click=self.make_clip).mark("clip-download")  # fmt: skip
            self.clip_progress = ui.linear_progress(value=0, show_value=False).props("instant-feedback")
            self.clip_progress.mark("clip-progress").set_visibility(False)
            self.clip_message = ui.label().mark("clip-message")
        self.clip_timer = ui.timer(CLIP_POLL_S, self._follow_clip, active=False)

    # --- the view ------------------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Draw the timeline of the camera and day (or hour) in view."""
        day_start, day_end = day_bounds(self.view.day)
        found = await playback().recordings(self.view.camera_id, day_start, day_end, with_segments=False)
        start, end = day_start, day_end
        if self.view.hour is not None:
            start = day_start + timedelta(hours=self.view.hour)
            end = start + timedelta(hours=1)
        events = await timeline_events(self.view.camera_id, start, end) if self.with_events else []
        self.timeline.show(self.view.camera_id, start, end, found.ranges, events)
        self.newest = found.ranges[-1].end - timedelta(seconds=1) if found.ranges else None
        recorded = sum((r.end - r.start).total_seconds() for r in found.ranges)
        if found.ranges:
            self.summary.set_text(t("recordings.summary", recorded=format.duration(recorded),
                                    first=clock(found.ranges[0].start), last=clock(found.ranges[-1].end)))  # fmt: skip
        else:
            self.summary.set_text(t("recordings.nothing_this_day"))
        zoomed = self.view.hour is not None
        self.hour_back.set_visibility(zoomed)
        self.hour_on.set_visibility(zoomed)
        ui.navigate.history.replace(f"/recordings?camera={self.view.camera_id}&day={self.view.day.isoformat()}")

    async def refresh_today(self) -> None:
        if self.view.day == date.today():
            await self.refresh()

    async def camera_changed(self, e: events.ValueChangeEventArguments) -> None:
        if e.value in self.cameras:
            self.view.camera_id = int(e.value)
            ui.run_javascript("window.WardCamPlayback && WardCamPlayback.stop()")
            await self.refresh()

    async def set_day(self, day: date) -> None:
        if day != self.view.day:
            self.view.day = day
            self.day_input.value = day.isoformat()  # day_changed refreshes
        else:
            await self.refresh()

    async def move_day(self, days: int) -> None:
        await self.set_day(self.view.day + timedelta(days=days))

    async def day_changed(self, e: events.ValueChangeEventArguments) -> None:
        try:
            self.view.day = date.fromisoformat(str(e.value))
        except ValueError:
            return
        await self.refresh()

    async def zoom_changed(self, e: events.ValueChangeEventArguments) -> None:
        if e.value == "hour":  # the hour last played, else the day's newest recording
            candidates = [self.played_at, self.newest]
            on_day = [a.astimezone(local_timezone()) for a in candidates if a is not None]
            on_day = [a for a in on_day if a.date() == self.view.day]
            self.view.hour = on_day[0].hour if on_day else 0
        else:
            self.view.hour = None
        await self.refresh()

    async def move_hour(self, hours: int) -> None:
        if self.view.hour is not None:
            self.view.hour = min(23, max(0, self.view.hour + hours))
            await self.refresh()

    def play_at(self, moment: datetime) -> None:
        """Play from a moment as soon as the page's player script is ready."""
        ms = round(moment.timestamp() * 1000)
        ui.run_javascript(
            f"(function go(n) {{ if (window.WardCamPlayback) WardCamPlayback.play({ms});"
            f" else if (n > 0) setTimeout(() => go(n - 1), 100); }})(50)"
        )

    def playing(self, e: events.GenericEventArguments) -> None:
        """Remember the moment the browser plays from (the hour view zooms there)."""
        with contextlib.suppress(KeyError, TypeError, ValueError):
            self.played_at = datetime.fromtimestamp(float(e.args["at"]) / 1000, local_timezone())

    def range_selected(self, e: events.GenericEventArguments) -> None:
        """Fill the clip's start and end with the range dragged across the timeline."""
        try:
            a, b = sorted(float(e.args[k]) / 1000 for k in ("start", "end"))
        except (KeyError, TypeError, ValueError):
            return
        day_start, day_end = day_bounds(self.view.day)
        start = max(day_start, datetime.fromtimestamp(a, local_timezone()))
        end = min(day_end - timedelta(seconds=1), datetime.fromtimestamp(b, local_timezone()))
        self.clip_from.value, self.clip_to.value = clock(start), clock(end)

    # --- clips ---------------------------------------------------------------------------------------

    async def make_clip(self) -> None:
        """Make a clip of the range in the form, show its progress, then download it."""
        who = await acting(Permission.VIEW_PLAYBACK)
        if who is None:
            return
        start = parse_clock(self.clip_from.value, self.view.day)
        end = parse_clock(self.clip_to.value, self.view.day)
        if start is None or end is None:
            self._say(t("recordings.clip.bad_time"), error=True)
            return
        try:
            camera = await camera_for(who, self.view.camera_id)
            self.clip = await playback().clips.create(camera.id, start, end, owner_id=who.user_id)
        except WardCamError as exc:
            self._say(t(exc.key, **exc.params), error=True)
            return
        self.clip_button.disable()
        self.clip_progress.value = 0
        self.clip_progress.set_visibility(True)
        self._say(t("recordings.clip.making", begins=clock(self.clip.begins)))
        self.clip_timer.activate()

    def _follow_clip(self) -> None:
        clip = self.clip
        if clip is None:
            return
        self.clip_progress.value = clip.progress
        if clip.state == ClipState.WORKING:
            return
        self.clip_timer.deactivate()
        self.clip_button.enable()
        self.clip = None
        if clip.state == ClipState.READY:
            self._say(t("recordings.clip.ready", begins=clock(clip.begins), end=clock(clip.end),
                        duration=format.duration(clip.duration_s) if clip.duration_s >= 60 else
                        t("recordings.seconds", seconds=round(clip.duration_s))))  # fmt: skip
            ui.download.from_url(f"/api/recordings/clips/{clip.id}/file")
        else:
            self.clip_progress.set_visibility(False)
            self._say(t("recordings.error.clip_failed"), error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.clip_message.set_text(text)
        self.clip_message.classes(replace=design.ERROR_TEXT if error else "text-sm text-grey-8")


def playback_assets() -> None:
    """Load the Recordings page's script (a file of the project, never a CDN)."""
    ui.add_css(PLAYER_STYLE, shared=True)
    ui.add_head_html(f'<script src="/static/playback.js?v={__version__}" defer></script>')


@page("/recordings", Permission.VIEW_PLAYBACK)
async def recordings_page(camera: int | None = None, day: str | None = None, at: str | None = None) -> None:
    """Play back recordings and download clips; `at` (HH:MM:SS on the day) plays from that moment."""
    who = context.principal()
    cameras = await cameras_for(who) if who else []
    playback_assets()
    with frame("nav.recordings"):
        if not cameras:
            ui.label(t("recordings.no_cameras")).classes(design.MUTED).mark("no-cameras")
            return
        try:
            shown_day = date.fromisoformat(day) if day else date.today()
        except ValueError:
            shown_day = date.today()
        ids = [c.id for c in cameras]
        with_events = who is not None and has_permission(who.role, Permission.VIEW_EVENTS)
        panel = RecordingsPanel(cameras, View(camera if camera in ids else ids[0], shown_day), with_events=with_events)
        await panel.refresh()
        moment = parse_clock(at or "", shown_day)
        if moment is not None and camera in ids:
            ui.timer(0.1, lambda: panel.play_at(moment), once=True)
