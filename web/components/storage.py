"""The Storage section of the System page: recordings per camera, disk use over time, days left, retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from nicegui import ui

from appliance.auth.roles import Permission
from appliance.i18n import t
from appliance.recorder.storage import CameraStorage, Estimate, PassRecord, StorageOverview, StorageSettingsInvalid
from appliance.recorder.storage import samples as disk_samples
from web import context, design
from web.components.stat import stat_card
from web.format import size
from web.guard import acting, client_ip

CHART_DAYS = 30
MANY_DAYS = 1000  # beyond this an estimate says "more than"
GIB = 1024**3


def when(moment: datetime | None) -> str:
    """Return a moment in the appliance's local time, or a dash."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "—"


def pct(value: float) -> str:
    """Return a percentage without a useless decimal (25, 12.5)."""
    return f"{value:g}"


def days_text(estimate: Estimate) -> str:
    """Return the estimated days as a short figure."""
    if estimate.days is None:
        return "—"
    if estimate.days >= MANY_DAYS:
        return t("storage.days_more_than", days=MANY_DAYS)
    return t("storage.days", days=round(estimate.days))


def estimate_text(estimate: Estimate) -> str:
    """Explain the estimate in a sentence: from what it comes, or why there is none yet."""
    if estimate.basis == "none":
        return t("storage.estimate_not_enough_history")
    if estimate.days is None:
        return t("storage.estimate_idle")
    return t(f"storage.estimate_{estimate.basis}", days=days_text(estimate), per_day=size(estimate.bytes_per_day),
             usable=size(estimate.usable_bytes))  # fmt: skip


def camera_rows(cameras: list[CameraStorage]) -> list[dict[str, Any]]:
    """Return the cameras as rows of the table."""
    return [
        {"camera": c.name or t("storage.deleted_cameras"), "size": size(c.bytes), "bytes": c.bytes,
         "oldest": when(c.oldest), "days_kept": c.days_kept}
        for c in cameras
    ]  # fmt: skip


def camera_columns() -> list[dict[str, Any]]:
    """Return the table's columns with translated headings."""
    return [
        {"name": "camera", "label": t("storage.column.camera"), "field": "camera", "align": "left", "sortable": True},
        {"name": "size", "label": t("storage.column.size"), "field": "size", "align": "right"},
        {"name": "oldest", "label": t("storage.column.oldest"), "field": "oldest", "align": "left"},
        {"name": "days_kept", "label": t("storage.column.days_kept"), "field": "days_kept", "align": "right"},
    ]


async def chart_options(now: datetime) -> dict[str, Any]:
    """Return the echart of the recordings volume over the last CHART_DAYS days, in GB."""
    rows = await disk_samples(now - timedelta(days=CHART_DAYS))

    def series(name: str, values: list[list[float]], **extra: Any) -> dict[str, Any]:
        return {"name": name, "type": "line", "showSymbol": False, "data": values, **extra}

    def gb(n: int) -> float:
        return round(n / GIB, 2)

    stamps = [at.timestamp() * 1000 for at, *_ in rows]
    return {
        "animation": False,  # drawn at once, also for a screenshot
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 50, "right": 20, "top": 30, "bottom": 50},
        "xAxis": {"type": "time"},
        "yAxis": {"type": "value", "name": "GB", "min": 0},
        "color": [design.PRIMARY, design.ACCENT, design.NEGATIVE],
        "series": [
            series(t("storage.chart_recordings"), [[s, gb(r[3])] for s, r in zip(stamps, rows, strict=True)],
                   areaStyle={"opacity": 0.25}),
            series(t("storage.chart_used"), [[s, gb(r[1] - r[2])] for s, r in zip(stamps, rows, strict=True)]),
            series(t("storage.chart_total"), [[s, gb(r[1])] for s, r in zip(stamps, rows, strict=True)],
                   lineStyle={"type": "dashed"}),
        ],
    }  # fmt: skip


def pass_lines(latest: PassRecord | None, last: PassRecord | None) -> None:
    """Show when retention last looked, and what its last deletion deleted and why."""
    ui.label(t("storage.last_check", when=when(latest.at)) if latest else t("storage.never_checked")).classes(
        design.MUTED
    )
    if last is None:
        ui.label(t("storage.no_deletion"))
        return
    ui.label(t("storage.last_deletion", when=when(last.at))).classes("font-semibold")
    with ui.column().classes("gap-0 pl-2"):
        if last.deleted_by_age:
            ui.label(t("storage.deleted_by_age", count=last.deleted_by_age))
        if last.deleted_by_guard:
            ui.label(t("storage.deleted_by_guard", count=last.deleted_by_guard, pct=pct(last.min_free_pct)))
        if last.deleted:
            ui.label(t("storage.freed", size=size(last.freed_bytes)))
        if last.kept_locked:
            ui.label(t("storage.kept_locked", count=last.kept_locked))
        if last.only_locked_left:
            ui.label(t("storage.only_locked_left")).classes(design.ERROR_TEXT)


async def storage_figures(fresh: bool = False) -> None:
    """Draw every figure of the Storage section from one overview (measured again now if `fresh`)."""
    o: StorageOverview = await context.appliance().storage.overview(fresh)
    ui.label(t("storage.measured_at", when=when(o.measured_at))).classes(design.MUTED).mark("storage-measured-at")
    with ui.element("div").classes(design.GRID):
        stat_card("video_library", size(o.recordings_bytes), t("storage.recordings_total"))
        stat_card("storage", size(o.usage.free), t("storage.free_of", total=size(o.usage.total)))
        stat_card("event", days_text(o.estimate), t("storage.estimate_label")).mark("storage-days")
        stat_card("shield", f"{pct(o.settings.min_free_pct)}%", t("storage.min_free_short")).mark("storage-min-free")
    with ui.card().classes(design.CARD):
        ui.label(estimate_text(o.estimate)).mark("storage-estimate")
        longest = max((c.days_kept for c in o.cameras if c.camera_id is not None), default=0)
        if o.estimate.days is not None and o.estimate.days < longest:
            ui.label(t("storage.estimate_short", days=longest)).classes(design.ERROR_TEXT).mark("storage-short")
    with ui.card().classes(design.CARD):
        ui.label(t("storage.chart_title")).classes("font-semibold")
        options = await chart_options(datetime.now(UTC))
        if options["series"][0]["data"]:
            ui.echart(options).classes("w-full h-72").mark("storage-chart")
        else:
            ui.label(t("storage.chart_empty")).classes(design.MUTED)
    if o.cameras:
        ui.table(columns=camera_columns(), rows=camera_rows(o.cameras), row_key="camera").classes("w-full").props(
            "flat bordered dense"
        ).mark("storage-cameras")
    else:
        ui.label(t("storage.no_cameras")).classes(design.MUTED)
    with ui.card().classes(design.CARD).mark("storage-retention"):
        ui.label(t("storage.retention_title")).classes("font-semibold")
        pass_lines(o.passes.latest, o.passes.last_deletion)


def min_free_form(saved: Callable[[], object]) -> None:
    """Let an admin change the free space the disk guard keeps; applied at once."""
    storage = context.appliance().storage
    with ui.card().classes(design.CARD), ui.column().classes("w-full gap-2"):
        ui.label(t("storage.settings_title")).classes("font-semibold")
        ui.label(t("storage.min_free_title")).classes("font-medium")
        ui.label(t("storage.min_free_help")).classes(design.MUTED)
        field = (
            ui.number(t("storage.min_free_label"), value=storage.settings.min_free_pct, suffix="%")
            .classes("w-full max-w-xs")
            .mark("min_free_pct")
        )
        ui.label(t("storage.offline_after_help")).classes(design.MUTED)
        offline = (
            ui.number(t("storage.offline_after_label"), value=storage.settings.offline_after_min)
            .classes("w-full max-w-xs")
            .mark("offline_after_min")
        )

        async def save() -> None:
            who = await acting(Permission.MANAGE_SYSTEM)
            if who is None:
                return
            values = {"min_free_pct": field.value, "offline_after_min": offline.value}
            try:
                new = await storage.save_settings(values, who, client_ip())
            except StorageSettingsInvalid as exc:
                errors = exc.field_messages("")
                field.error = errors.get("min_free_pct")
                offline.error = errors.get("offline_after_min")
                ui.notify(t("storage.not_saved"), type="warning")
                return
            field.error = offline.error = None
            ui.notify(t("storage.saved", pct=pct(new.min_free_pct)), type="positive")
            saved()

        ui.button(t("action.save"), icon="save", on_click=save).mark("save-min-free")


async def storage_section() -> None:
    """Show the Storage section: figures refreshed every minute, and the minimum free space form."""
    ui.label(t("storage.title")).classes(design.H2)

    @ui.refreshable
    async def figures(fresh: bool = False) -> None:  # one per open page: a refresh redraws only this page
        await storage_figures(fresh)

    async def measure_now() -> None:
        if await acting(Permission.MANAGE_SYSTEM) is not None:
            figures.refresh(fresh=True)

    ui.button(t("storage.measure_now"), icon="refresh", on_click=measure_now).props("flat").mark("measure-storage")
    await figures()
    min_free_form(lambda: figures.refresh(fresh=False))  # refresh() would keep the last call's fresh=True

    page = ui.context.client  # held here, so a timer tick during the page's removal sees it deleted

    async def refresh_figures() -> None:  # awaited: a refresh left to run later could outlive the page
        if not page.is_deleted:
            await figures.refresh(fresh=False)

    ui.timer(60.0, refresh_figures, immediate=False)
