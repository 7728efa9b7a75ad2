"""/events: what the cameras detected (people, motorbikes, cars, motion), newest first, with snapshots.

Filters (camera, site, label, time, not yet acknowledged) ask appliance.detections.query for a page at
a time; "load more" follows its cursor. New and changed detections appear without a reload: each open
page listens to the bus's Detection event, which only notes the row's id (no work per event, however
fast Frigate reports), and a timer redraws the noted rows once a second, one query for all of them.
Opening a detection is audited (detections.viewed); operators acknowledge one or several.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from nicegui import context as ng_context
from nicegui import ui

from appliance.audit_export import local_timezone
from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.bus import Detection as DetectionEvent
from appliance.cameras import cameras_for, sites_for
from appliance.db.models.cameras import Camera, Site
from appliance.detections import query
from appliance.detections.query import MAX_PAGE, EventFilter, EventRow
from appliance.i18n import t
from web import context, design
from web.access import page
from web.api.events import visible_sites
from web.components.events_list import KNOWN_LABELS, event_card, event_dialog, label_text
from web.guard import acting, client_ip
from web.theme import frame

PAGE_SIZE = 48
LIVE_EVERY_S = 1.0  # how often noted changes are drawn (nothing is done when nothing changed)
NIGHT_FROM = time(20)  # the night patrol: 20:00 to 04:00
NIGHT_TO = time(4)
GRID = "w-full grid grid-cols-1 sm:grid-cols-2 lg:grid-cols-3 xl:grid-cols-4 gap-3"


class Period(StrEnum):
    """The time filter's presets."""

    ALL = "all"
    TODAY = "today"
    NIGHT = "night"  # last night's patrol
    WEEK = "week"
    DAYS = "days"  # from one day to another, chosen by the user


def period_window(period: Period, now: datetime, first: date | None = None,
                  last: date | None = None) -> tuple[datetime | None, datetime | None]:  # fmt: skip
    """Return (since, until) of a preset in the box's time zone; `first`/`last` are the chosen days (inclusive)."""
    zone = local_timezone()
    today = now.astimezone(zone).date()

    def at(day: date, clock: time = time(0)) -> datetime:
        return datetime.combine(day, clock, tzinfo=zone)

    if period == Period.TODAY:
        return at(today), at(today + timedelta(days=1))
    if period == Period.NIGHT:  # the patrol that ended (or ends) this morning
        return at(today - timedelta(days=1), NIGHT_FROM), at(today, NIGHT_TO)
    if period == Period.WEEK:
        return now - timedelta(days=7), None
    if period == Period.DAYS:
        return (at(first) if first else None), (at(last + timedelta(days=1)) if last else None)
    return None, None


def parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return None


@dataclass
class Choices:
    """What the filters offer: the user's cameras and sites, and every label."""

    cameras: list[Camera]
    sites: list[Site]
    labels: list[str]


class EventsView:
    """The filters, the list, live updates and acknowledging, for one open page."""

    def __init__(self, who: Principal, choices: Choices) -> None:
        self.who = who
        self.can_ack = who.can(Permission.ACK_EVENTS)
        self.filter = EventFilter(limit=PAGE_SIZE)
        self.rows: dict[int, EventRow] = {}
        self.cards: dict[int, ui.card] = {}
        self.selected: set[int] = set()
        self.cursor: str | None = None
        self.changed: set[int] = set()  # ids the bus announced, drawn by the next tick
        self._busy = asyncio.Lock()  # one change of the list at a time (a filter changed while rows are redrawn)
        self._filters(choices)
        with ui.row().classes("w-full items-center gap-2"):
            self.summary = ui.label().classes(design.MUTED).mark("summary")
            ui.space()
            if self.can_ack:
                ui.button(t("events.select_all"), icon="select_all", on_click=self.select_all).props(
                    "flat").mark("select-all")  # fmt: skip
                self.ack_button = ui.button(icon="done_all", on_click=self.acknowledge_selected)
                self.ack_button.mark("acknowledge-selected")
                self.ack_button.disable()
        self.grid = ui.element("div").classes(GRID).mark("events")
        self.empty = ui.label(t("events.none")).classes(design.MUTED).mark("no-events")
        self.more = ui.button(t("events.load_more"), icon="expand_more", on_click=self.load_more).props(
            "outline").classes("self-center").mark("load-more")  # fmt: skip
        self._listen()

    # --- filters -------------------------------------------------------------------------------------

    def _select(self, options: dict[int, str] | dict[str, str], key: str, marker: str, *, multiple: bool = False,
                width: str = "min-w-48") -> ui.select:  # fmt: skip
        select = ui.select(options, multiple=multiple, clearable=True, label=t(key), on_change=self.reload)
        return select.classes(width).props("use-chips" if multiple else "").mark(marker)

    def _filters(self, choices: Choices) -> None:
        cameras = {c.id: f"{c.name} · {c.site.name}" if c.site else c.name for c in choices.cameras}
        periods = {p.value: t(f"events.period.{p.value}") for p in Period}
        with ui.row().classes("w-full items-end gap-2"):
            self.camera = self._select(cameras, "events.filter.camera", "camera", multiple=True, width="min-w-56")
            self.site = self._select({s.id: s.name for s in choices.sites}, "events.filter.site", "site")
            labels = {name: label_text(name) for name in choices.labels}
            self.label = self._select(labels, "events.filter.label", "label", multiple=True)
            self.period = ui.select(periods, value=Period.ALL.value, label=t("events.filter.period"),
                                    on_change=self.period_changed).classes("min-w-48").mark("period")  # fmt: skip
            self.first = ui.date_input(t("events.filter.from_day"), on_change=self.reload).classes("w-40").mark("from")
            self.last = ui.date_input(t("events.filter.to_day"), on_change=self.reload).classes("w-40").mark("to")
            self.unacknowledged = ui.checkbox(t("events.filter.unacknowledged"), on_change=self.reload)
            self.unacknowledged.mark("unacknowledged")
        self.filter_error = ui.label().classes(design.ERROR_TEXT).mark("filter-error")
        self._show_days(False)

    def _show_days(self, visible: bool) -> None:
        self.first.set_visibility(visible)
        self.last.set_visibility(visible)

    async def period_changed(self) -> None:
        self._show_days(self.period.value == Period.DAYS)
        await self.reload()

    def _read_filter(self) -> EventFilter | None:
        """Return the filter the controls describe, or None (with a message) when the days make no sense."""
        self.filter_error.set_text("")
        first, last = parse_day(self.first.value), parse_day(self.last.value)
        since, until = period_window(Period(self.period.value), datetime.now(local_timezone()), first, last)
        if since is not None and until is not None and until <= since:
            self.filter_error.set_text(t("events.error.range"))
            return None
        return EventFilter(
            cameras=list(self.camera.value or []), site_id=self.site.value, labels=list(self.label.value or []),
            since=since, until=until, acknowledged=False if self.unacknowledged.value else None, limit=PAGE_SIZE,
        )  # fmt: skip

    # --- the list ------------------------------------------------------------------------------------

    async def reload(self) -> None:
        """Show the first page of what the filters ask for."""
        f = self._read_filter()
        if f is None:
            return
        async with self._busy:
            page = await query.search(f, visible_sites=visible_sites(self.who))
            self.filter = f
            self.grid.clear()
            self.rows.clear()
            self.cards.clear()
            self.selected.clear()
            self.changed.clear()
            self._append(page)

    async def load_more(self) -> None:
        async with self._busy:
            if self.cursor:
                page = await query.search(self.filter.model_copy(update={"cursor": self.cursor}),
                                          visible_sites=visible_sites(self.who))  # fmt: skip
                self._append(page)

    def _append(self, page: query.EventPage) -> None:
        for row in page.rows:
            if row.id not in self.rows:
                self._draw(row)
        self.cursor = page.next_cursor
        self._update_counts()

    def _draw(self, row: EventRow, index: int | None = None) -> None:
        self.rows[row.id] = row
        with self.grid:
            card = event_card(row, on_open=self.open, selected=(row.id in self.selected) if self.can_ack else None,
                              on_select=self.select)  # fmt: skip
        if index is not None:
            card.move(target_index=index)
        self.cards[row.id] = card

    def _update_counts(self) -> None:
        shown = len(self.rows)
        self.empty.set_visibility(shown == 0)
        self.more.set_visibility(self.cursor is not None)
        self.summary.set_text(t("events.shown", count=shown) if shown else "")
        if self.can_ack:
            self.selected &= {i for i, r in self.rows.items() if r.acknowledged_at is None}
            self.ack_button.set_text(t("events.acknowledge_selected", count=len(self.selected)))
            self.ack_button.set_enabled(bool(self.selected))

    # --- live updates --------------------------------------------------------------------------------

    def _listen(self) -> None:
        bus = context.appliance().bus
        unsubscribe = bus.subscribe(DetectionEvent, lambda event: self.changed.add(event.detection_id))
        ng_context.client.on_delete(unsubscribe)
        ui.timer(LIVE_EVERY_S, self.draw_changes)

    async def draw_changes(self) -> None:
        """Redraw the rows that changed and add new ones that the filters let through, where they belong."""
        if not self.changed:
            return
        ids = sorted(self.changed)[-MAX_PAGE:]  # the newest first; a flood of changes takes a few ticks
        self.changed.difference_update(ids)
        await self.refresh_rows(ids)

    async def refresh_rows(self, ids: list[int]) -> None:
        """Draw these rows again as they are now (added where they belong, removed when they no longer fit)."""
        async with self._busy:
            found = await query.search(self.filter.model_copy(update={"ids": ids, "cursor": "", "limit": MAX_PAGE}),
                                       visible_sites=visible_sites(self.who))  # fmt: skip
            oldest = min(self.rows.values(), key=lambda r: (r.start, r.id), default=None)
            for row in found.rows:
                if row.id in self.cards:
                    self.cards.pop(row.id).delete()
                elif self.cursor is not None and oldest is not None and (row.start, row.id) < (oldest.start, oldest.id):
                    continue  # older than what is shown: the next page brings it
                newer = sum(1 for r in self.rows.values() if r.id != row.id and (r.start, r.id) > (row.start, row.id))
                self._draw(row, newer)
            for gone in set(ids) - {row.id for row in found.rows}:  # no longer fits the filters (acknowledged)
                if gone in self.cards:
                    self.cards.pop(gone).delete()
                    self.rows.pop(gone, None)
            self._update_counts()

    # --- opening and acknowledging -------------------------------------------------------------------

    async def open(self, row: EventRow) -> None:
        """Open a detection's dialog; the look is audited."""
        who = await acting(Permission.VIEW_EVENTS)
        if who is None:
            return
        fresh = await query.get(row.id, visible_sites=visible_sites(who))  # as it is now, not as it was drawn
        if fresh is None:
            ui.notify(t("error.not_found"), type="warning")
            return
        await query.viewed(fresh, who, client_ip(), context.appliance().audit)
        event_dialog(fresh, can_play=who.can(Permission.VIEW_PLAYBACK),
                     on_acknowledge=self.acknowledge_one if self.can_ack else None)  # fmt: skip

    def select(self, detection_id: int, on: bool) -> None:
        if on:
            self.selected.add(detection_id)
        else:
            self.selected.discard(detection_id)
        self._update_counts()

    async def select_all(self) -> None:
        """Tick every shown detection that is not acknowledged yet."""
        self.selected = {i for i, r in self.rows.items() if r.acknowledged_at is None}
        await self.refresh_rows(sorted(self.selected))

    async def acknowledge_one(self, row: EventRow) -> bool:
        return await self._acknowledge([row.id])

    async def acknowledge_selected(self) -> None:
        await self._acknowledge(sorted(self.selected))

    async def _acknowledge(self, ids: list[int]) -> bool:
        who = await acting(Permission.ACK_EVENTS)
        if who is None or not ids:
            return False
        count = await query.acknowledge(ids, who, client_ip(), context.appliance().audit)
        ui.notify(t("events.acknowledged", count=count), type="positive")
        self.selected -= set(ids)
        await self.refresh_rows(ids)
        return True


@page("/events", Permission.VIEW_EVENTS)
async def events_page(id: int | None = None) -> None:
    """List detections with their snapshots; open one, play back that moment, acknowledge.

    `/events?id=N` (the link in notifications) opens detection N's dialog at once.
    """
    who = context.principal()
    if who is None:
        return
    cameras = await cameras_for(who)
    sites = await sites_for(who)
    labels = sorted(set(KNOWN_LABELS) | set(await query.labels_seen()), key=lambda name: label_text(name).lower())
    with frame("nav.events"):
        view = EventsView(who, Choices(cameras, sites, labels))
        await view.reload()
        if id is not None:
            linked = await query.get(id, visible_sites=visible_sites(who))
            if linked is None:
                ui.notify(t("error.not_found"), type="warning")
            else:
                await view.open(linked)
