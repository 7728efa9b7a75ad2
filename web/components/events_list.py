"""The pieces of the Events page: a detection's card in the list, and the dialog that opens it.

A card shows the snapshot as a lazy-loaded thumbnail (the browser fetches it only when it scrolls into
view), the label in the user's language, the score, camera, site, zones and time in the box's time zone.
The dialog shows the picture large with every detail, jumps to playback at that moment, and lets
operators acknowledge it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from html import escape

from nicegui import ui

from appliance.audit_export import local_timezone
from appliance.detections.query import EventRow
from appliance.i18n import catalog, current_language, t
from web import design
from web.api.events import playback_url, snapshot_url
from web.components.dialogs import open_once

KNOWN_LABELS = ("person", "motorcycle", "car", "bicycle", "motion")
THUMBNAIL = "w-full aspect-video object-cover rounded bg-grey-3 cursor-pointer"
PICTURE = "w-full max-h-[60vh] object-contain rounded bg-grey-10"


def label_text(label: str) -> str:
    """Return a label in the user's language (person → người); an unknown label as it is."""
    key = f"events.label.{label}"
    return t(f"events.label.{label}") if key in catalog(current_language()) else label


def when(value: datetime) -> str:
    """Return a time as HH:MM:SS dd/mm/yyyy in the box's time zone."""
    return f"{value.astimezone(local_timezone()):%H:%M:%S %d/%m/%Y}"


def score_text(score: float) -> str:
    return f"{round(score * 100)} %"


def camera_text(row: EventRow) -> str:
    """Return 'camera · site', or the source's own camera name when WardCam does not know the camera."""
    camera = row.camera_name or t("events.unknown_camera", name=row.source_camera or "?")
    return f"{camera} · {row.site_name}" if row.site_name else camera


def picture(row: EventRow, classes: str, *, lazy: bool) -> None:
    """Show a detection's snapshot, or a placeholder when it has none."""
    url = snapshot_url(row)
    if url is None:
        with ui.element("div").classes(f"{classes} flex items-center justify-center"):
            ui.icon("no_photography").classes("text-4xl text-grey-6")
        return
    alt = escape(t("events.snapshot_of", label=label_text(row.label), camera=camera_text(row)))
    loading = "lazy" if lazy else "eager"
    ui.element("img").classes(classes).props(f'src="{url}" loading={loading} alt="{alt}" data-snapshot={row.id}')


def status_badges(row: EventRow) -> None:
    if row.ongoing:
        ui.badge(t("events.ongoing"), color="negative").props("data-ongoing")
    if row.acknowledged_at is not None:
        ui.badge(t("events.acknowledged_badge"), color="positive").props("outline")


def event_card(row: EventRow, *, on_open: Callable[[EventRow], Awaitable[None]],
               selected: bool | None, on_select: Callable[[int, bool], None]) -> ui.card:  # fmt: skip
    """Draw one detection; `selected` is None for users who may not acknowledge (no checkbox)."""
    with ui.card().classes("w-full p-2 gap-1").props(f"data-event={row.id} flat bordered") as card:
        with ui.column().classes("w-full gap-1 cursor-pointer").on("click", lambda: on_open(row)):
            picture(row, THUMBNAIL, lazy=True)
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                ui.label(label_text(row.label)).classes("text-base font-semibold").props("data-label")
                if row.sub_label:
                    ui.label(row.sub_label).classes("text-sm text-grey-8 truncate")
                ui.space()
                ui.label(score_text(row.score)).classes("text-sm text-primary font-semibold")
            ui.label(camera_text(row)).classes("text-sm text-grey-8 truncate")
            ui.label(when(row.start)).classes(design.MUTED)
        with ui.row().classes("w-full items-center gap-1"):
            for zone in row.zones:
                ui.badge(zone, color="grey-7").props("outline")
            status_badges(row)
            if selected is not None and row.acknowledged_at is None:
                ui.space()
                ui.checkbox(t("events.select"), value=selected,
                            on_change=lambda e: on_select(row.id, bool(e.value))).props("dense")  # fmt: skip
    return card


def _detail(name: str, value: str, marker: str) -> None:
    ui.label(name).classes("text-sm text-grey-7")
    ui.label(value).classes("text-sm").mark(marker)


def event_dialog(
    row: EventRow, *, can_play: bool, on_acknowledge: Callable[[EventRow], Awaitable[bool]] | None
) -> None:
    """Open a detection: its picture, details, playback at that moment, and (for operators) acknowledging."""
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-4xl gap-3").props("data-event-dialog"):
        with ui.row().classes("w-full items-center"):
            ui.label(f"{label_text(row.label)} · {camera_text(row)}").classes(design.H2)
            ui.space()
            ui.button(icon="close", on_click=dialog.close).props(f'flat round aria-label="{t("events.close")}"')
        picture(row, PICTURE, lazy=False)
        with ui.element("div").classes("grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 w-full"):
            _detail(t("events.detail.label"), label_text(row.label) + (f" · {row.sub_label}" if row.sub_label else ""),
                    "detail-label")  # fmt: skip
            _detail(t("events.detail.score"), score_text(row.score), "detail-score")
            _detail(t("events.detail.camera"), camera_text(row), "detail-camera")
            _detail(t("events.detail.zones"), ", ".join(row.zones) or "—", "detail-zones")
            _detail(t("events.detail.start"), when(row.start), "detail-start")
            _detail(t("events.detail.end"), when(row.end) if row.end else t("events.ongoing"), "detail-end")
            _detail(t("events.detail.source"), row.source, "detail-source")
            acknowledged = (t("events.acknowledged_by", who=row.acknowledged_by or "?", when=when(row.acknowledged_at))
                            if row.acknowledged_at else t("events.not_acknowledged"))  # fmt: skip
            _detail(t("events.detail.acknowledged"), acknowledged, "detail-acknowledged")
        with ui.row().classes("w-full gap-2"):
            url = playback_url(row)
            if can_play and url is not None:
                ui.button(t("events.play_back"), icon="history", on_click=lambda: ui.navigate.to(url)).props(
                    "data-play-back")  # fmt: skip
            if on_acknowledge is not None and row.acknowledged_at is None:
                callback = on_acknowledge

                async def acknowledge() -> None:
                    if await callback(row):
                        dialog.close()

                ui.button(t("events.acknowledge"), icon="done", on_click=acknowledge).props(
                    "outline data-acknowledge")  # fmt: skip
    open_once(dialog)
