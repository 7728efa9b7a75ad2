"""The Notifications page's rules: the list, and one form to add or change a rule (time windows with a
"patrol shifts" preset, days, labels, score, zones, cooldown, snapshot, targets, templates)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from appliance.auth.roles import Permission
from appliance.db.models.cameras import Camera, Site
from appliance.i18n import current_language, t
from appliance.notify import Notifications, NotifyInputInvalid
from appliance.notify.rulebook import RuleView
from appliance.notify.rules import COMMON_LABELS, DEFAULT_COOLDOWN_S, RuleConfig
from appliance.notify.templates import PLACEHOLDERS, label_text
from appliance.notify.windows import PATROL_SHIFTS, TimeWindow
from web import design
from web.guard import acting, client_ip

Refresh = Callable[[], Awaitable[None]]
DAYS = (0, 1, 2, 3, 4, 5, 6)


def rule_summary(config: RuleConfig, targets: dict[int, str]) -> str:
    """Return a rule in one line: what, when, to whom."""
    labels = ", ".join(label_text(x, current_language()) for x in config.labels)
    windows = ", ".join(w.label() for w in config.windows) or t("notify.rules.all_day")
    to = ", ".join(targets.get(i, "?") for i in config.target_ids) or "-"
    return t("notify.rules.summary", labels=labels or t("notify.rules.any_label"), windows=windows, targets=to,
             cooldown=config.cooldown_s // 60)  # fmt: skip


class WindowsEditor:
    """Several time windows, each a row of start and end; a button puts in the patrol shifts."""

    def __init__(self) -> None:
        self.rows: list[tuple[ui.input, ui.input]] = []
        self.column = ui.column().classes("w-full gap-1").mark("rule-windows")
        with ui.row().classes("gap-2"):
            ui.button(t("notify.rules.add_window"), icon="add", on_click=lambda: self.add("", "")).props(
                "flat dense"
            ).mark("rule-add-window")
            ui.button(t("notify.rules.patrol_preset"), icon="nightlight", on_click=self.patrol).props(
                "flat dense"
            ).mark("rule-patrol")
        self.error = ui.label("").classes(design.ERROR_TEXT)

    def set(self, windows: list[TimeWindow]) -> None:
        self.column.clear()
        self.rows = []
        for window in windows:
            self.add(window.start, window.end)

    def add(self, start: str, end: str) -> None:
        with self.column, ui.row().classes("items-center gap-2 no-wrap") as row:
            a = ui.input(t("notify.field.window_start"), value=start, placeholder="20:00").props("dense mask=##:##")
            b = ui.input(t("notify.field.window_end"), value=end, placeholder="04:00").props("dense mask=##:##")
            pair = (a, b)
            self.rows.append(pair)

            def remove() -> None:
                self.rows.remove(pair)
                row.delete()

            ui.button(icon="close", on_click=remove).props(f'flat round dense aria-label="{t("notify.delete")}"')

    def patrol(self) -> None:
        self.set(list(PATROL_SHIFTS))

    def values(self) -> list[dict[str, str]]:
        return [{"start": a.value or "", "end": b.value or ""} for a, b in self.rows if a.value or b.value]


class RuleForm:
    """Add a rule, or change the one being edited."""

    def __init__(self, notify: Notifications, on_saved: Refresh) -> None:
        self.notify = notify
        self.on_saved = on_saved
        self.editing: int | None = None

    async def draw(self) -> None:
        cameras = {c.id: c.name for c in await Camera.all()}
        sites = {s.id: s.name for s in await Site.all()}
        self.targets = {v.id: v.name for v in await self.notify.targets.list()}
        labels = {x: label_text(x, current_language()) for x in COMMON_LABELS}
        with ui.card().classes(design.CARD), ui.column().classes("w-full gap-2"):
            self.heading = ui.label(t("notify.rules.add")).classes("font-semibold")
            f = design.FORM_FIELD
            self.name = ui.input(t("notify.field.rule_name")).classes(f).mark("rule-name")
            with ui.row().classes("w-full gap-4 no-wrap"):
                self.cameras = ui.select(cameras, multiple=True, label=t("notify.field.cameras")).classes(
                    "grow").props("use-chips clearable").mark("rule-cameras")  # fmt: skip
                self.sites = ui.select(sites, multiple=True, label=t("notify.field.sites")).classes("grow").props(
                    "use-chips clearable").mark("rule-sites")  # fmt: skip
            ui.label(t("notify.help.cameras")).classes(design.MUTED)
            self.labels = ui.select(labels, multiple=True, new_value_mode="add-unique", label=t("notify.field.labels"),
                                    value=["person"]).classes(f).props("use-chips").mark("rule-labels")  # fmt: skip
            with ui.row().classes("w-full gap-4 no-wrap"):
                self.score = ui.number(t("notify.field.min_score_pct"), value=50, min=0, max=100, precision=0).classes(
                    "grow").mark("rule-score")  # fmt: skip
                self.cooldown = ui.number(t("notify.field.cooldown_min"), value=DEFAULT_COOLDOWN_S // 60, min=0,
                                          max=1440, precision=0).classes("grow").mark("rule-cooldown")  # fmt: skip
            self.zones = ui.input_chips(t("notify.field.zones"), value=[]).classes(f).mark("rule-zones")
            ui.label(t("notify.field.windows")).classes("text-sm font-medium")
            self.windows = WindowsEditor()
            day_names = {d: t(f"notify.day.{d}") for d in DAYS}
            self.days = ui.select(day_names, multiple=True, label=t("notify.field.days"), value=[]).classes(f).props(
                "use-chips clearable").mark("rule-days")  # fmt: skip
            ui.label(t("notify.help.days")).classes(design.MUTED)
            self.target_ids = ui.select(self.targets, multiple=True, label=t("notify.field.targets")).classes(f).props(
                "use-chips").mark("rule-targets")  # fmt: skip
            self.attach = ui.switch(t("notify.field.attach_snapshot"), value=True).mark("rule-attach")
            self.language = ui.select({"vi": "Tiếng Việt", "en": "English"}, value="vi",
                                      label=t("notify.field.language")).classes(f).mark("rule-language")  # fmt: skip
            hint = t("notify.help.template", placeholders=", ".join("{" + p + "}" for p in PLACEHOLDERS))
            self.template_vi = ui.textarea(t("notify.field.template_vi"), placeholder=t("notify.template.detection",
                                           "vi")).classes(f).props("rows=2").mark("rule-template-vi")  # fmt: skip
            self.template_en = ui.textarea(t("notify.field.template_en"), placeholder=t("notify.template.detection",
                                           "en")).classes(f).props("rows=2").mark("rule-template-en")  # fmt: skip
            ui.label(hint).classes(design.MUTED)
            with ui.row().classes("gap-2"):
                ui.button(t("action.save"), icon="save", on_click=self.save).mark("rule-save")
                self.cancel = ui.button(t("action.cancel"), on_click=self.clear).props("flat")
                self.cancel.set_visibility(False)

    def _widgets(self) -> dict[str, Any]:
        return {"name": self.name, "camera_ids": self.cameras, "site_ids": self.sites, "labels": self.labels,
                "min_score": self.score, "cooldown_s": self.cooldown, "zones": self.zones, "days": self.days,
                "target_ids": self.target_ids, "template_vi": self.template_vi, "template_en": self.template_en,
                "language": self.language}  # fmt: skip

    def edit(self, view: RuleView) -> None:
        """Fill the form with a rule to change it."""
        c = view.config
        self.editing = view.id
        self.heading.set_text(t("notify.rules.edit", name=view.name))
        self.name.value = view.name
        self.cameras.value, self.sites.value, self.labels.value = list(c.camera_ids), list(c.site_ids), list(c.labels)
        self.score.value, self.cooldown.value = round(c.min_score * 100), c.cooldown_s // 60
        self.zones.value, self.days.value, self.target_ids.value = list(c.zones), list(c.days), list(c.target_ids)
        self.attach.value, self.language.value = c.attach_snapshot, c.language
        self.template_vi.value, self.template_en.value = c.template_vi, c.template_en
        self.windows.set(list(c.windows))
        self.cancel.set_visibility(True)

    def clear(self) -> None:
        self.editing = None
        self.heading.set_text(t("notify.rules.add"))
        self.name.value = ""
        self.windows.set([])
        self.cancel.set_visibility(False)

    def config(self) -> dict[str, Any]:
        return {
            "camera_ids": list(self.cameras.value or []),
            "site_ids": list(self.sites.value or []),
            "labels": list(self.labels.value or []),
            "min_score": (self.score.value or 0) / 100,
            "zones": list(self.zones.value or []),
            "windows": self.windows.values(),
            "days": list(self.days.value or []),
            "cooldown_s": int((self.cooldown.value or 0) * 60),
            "attach_snapshot": bool(self.attach.value),
            "target_ids": list(self.target_ids.value or []),
            "language": self.language.value or "vi",
            "template_vi": self.template_vi.value or "",
            "template_en": self.template_en.value or "",
        }

    async def save(self) -> None:
        who = await acting(Permission.MANAGE_NOTIFICATIONS)
        if who is None:
            return
        try:
            if self.editing is None:
                view = await self.notify.rules.create(self.name.value, self.config(), who, client_ip())
            else:
                view = await self.notify.rules.update(self.editing, self.config(), who, client_ip(),
                                                      name=self.name.value)  # fmt: skip
        except NotifyInputInvalid as exc:
            errors = exc.field_messages(t(exc.key))
            for name, widget in self._widgets().items():
                widget.error = errors.get(name)
            window_errors = [m for k, m in errors.items() if k.startswith("windows")]
            self.windows.error.set_text(window_errors[0] if window_errors else "")
            ui.notify(t("notify.not_saved"), type="warning")
            return
        for widget in self._widgets().values():
            widget.error = None
        self.windows.error.set_text("")
        ui.notify(t("notify.rules.saved", name=view.name), type="positive")
        self.clear()
        await self.on_saved()


async def rules_section(notify: Notifications) -> Refresh:
    """Draw the rules and the form; return a refresh (targets may have changed)."""
    listing = ui.column().classes("w-full gap-2").mark("rules")
    form = RuleForm(notify, lambda: refresh())
    holder = ui.column().classes("w-full")

    async def refresh() -> None:
        targets = {v.id: v.name for v in await notify.targets.list()}
        views = await notify.rules.list()
        listing.clear()
        with listing:
            if not views:
                ui.label(t("notify.rules.none")).classes(design.MUTED)
            for view in views:
                with ui.card().classes(design.CARD).props(f"data-rule={view.id}"), \
                        ui.row().classes("w-full items-center gap-3 no-wrap"):  # fmt: skip
                    ui.icon("rule").classes("text-2xl text-primary")
                    with ui.column().classes("gap-0 grow"):
                        ui.label(view.name).classes("font-medium")
                        ui.label(rule_summary(view.config, targets)).classes(design.MUTED)
                    ui.button(t("notify.edit"), icon="edit", on_click=lambda v=view: form.edit(v)).props("flat dense")
                    ui.button(icon="delete", on_click=lambda v=view: _delete(notify, v, refresh)).props(
                        f'flat round color=negative aria-label="{t("notify.delete")}"'
                    )
        holder.clear()
        with holder:
            await form.draw()

    await refresh()
    return refresh


async def _delete(notify: Notifications, view: RuleView, refresh: Refresh) -> None:
    who = await acting(Permission.MANAGE_NOTIFICATIONS)
    if who is None:
        return
    await notify.rules.delete(view.id, who, client_ip())
    ui.notify(t("notify.rules.deleted", name=view.name))
    await refresh()
