"""/sites: admins manage the street points cameras are filed under, on a map coloured by their cameras.

The map draws each site with coordinates as a dot: green when all its cameras record, orange when some
are offline, red when all are, grey when it has no camera that should record. Its tiles come from the
map setting, empty by default: the appliance may have no internet, and the dots then sit on a plain
background. Clicking a dot opens a popup with a link to the site's cameras (/cameras?site=ID).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from html import escape
from typing import Any

from nicegui import ui
from pydantic import ValidationError

from appliance.auth.roles import Permission
from appliance.cameras import MapSettings, MapSettingsInvalid, SiteInput, SitePatch, map_settings
from appliance.db.models.cameras import Camera, Site
from appliance.errors import WardCamError
from appliance.i18n import t
from appliance.validation import field_errors
from web import context, design
from web.access import page
from web.components.dialogs import open_once
from web.guard import acting, client_ip
from web.pages.cameras import Health, camera_health, recorder_status
from web.theme import frame

STATUS_EVERY_S = 5.0
MAP_BACKGROUND = "#e6ecf2"  # what shows where no tile is: a plain, light background
FALLBACK_CENTER = (16.0, 106.0)  # Vietnam, for a map without any located site
PAIR = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[,;]\s*(-?\d+(?:\.\d+)?)\s*$")  # "21.0231, 105.8440" pasted at once


class Colour(StrEnum):
    """A site's colour on the map and in the list."""

    GREEN = "#2E7D32"
    ORANGE = "#EF6C00"
    RED = "#C62828"
    GREY = "#757575"


COLOUR_KEY = {Colour.GREEN: "sites.status.all_recording", Colour.ORANGE: "sites.status.some_offline",
              Colour.RED: "sites.status.all_offline", Colour.GREY: "sites.status.no_camera"}  # fmt: skip


def site_colour(healths: Sequence[Health]) -> Colour:
    """Colour a site by its cameras: all recording, some offline, all offline, or none that should record."""
    active = [h for h in healths if h != Health.DISABLED]
    offline = sum(1 for h in active if h == Health.OFFLINE)
    if not active:
        return Colour.GREY
    if offline == 0:
        return Colour.GREEN
    return Colour.RED if offline == len(active) else Colour.ORANGE


@dataclass
class SiteState:
    """A site with its cameras' health, as the map and the list show it."""

    site: Site
    cameras: list[Camera]

    @property
    def healths(self) -> list[Health]:
        return [camera_health(c, recorder_status(c)) for c in self.cameras]

    @property
    def colour(self) -> Colour:
        return site_colour(self.healths)

    @property
    def located(self) -> bool:
        return self.site.latitude is not None and self.site.longitude is not None

    def summary(self) -> str:
        """Return '3 cameras: 2 recording, 1 offline' in the user's language."""
        if not self.cameras:
            return t("sites.summary.no_cameras")
        healths = self.healths
        return t("sites.summary.cameras", count=len(healths), recording=healths.count(Health.RECORDING),
                 offline=healths.count(Health.OFFLINE))  # fmt: skip


async def site_states() -> list[SiteState]:
    """Return every site with its cameras."""
    cameras = await Camera.all()
    return [SiteState(s, [c for c in cameras if c.site_id == s.id]) for s in await Site.all()]  # type: ignore[attr-defined]


# --- the page ------------------------------------------------------------------------------------


@page("/sites", Permission.MANAGE_CAMERAS)
async def sites_page() -> None:
    """Show the sites on a map and in a list; add, edit and delete them; set the map's tiles."""
    view = SitesView()
    with frame("nav.sites"):
        with ui.row().classes("w-full items-center gap-2"):
            ui.button(t("sites.add"), icon="add_location_alt", on_click=lambda: site_dialog(None, view.refresh)).mark(
                "add-site"
            )
        view.container = ui.column().classes("w-full gap-4")
        await view.fill()
        await map_settings_card(view.refresh)
    ui.timer(STATUS_EVERY_S, view.update_colours)


class SitesView:
    """The map and the list of sites, whose colours follow the recorder."""

    def __init__(self) -> None:
        self.container: ui.column | None = None
        self.states: list[SiteState] = []
        self.drawn: dict[int, Colour] = {}
        self.markers: dict[int, str] = {}  # site id -> map layer id
        self.leaflet: ui.leaflet | None = None
        self.dots: dict[int, ui.icon] = {}
        self.summaries: dict[int, ui.label] = {}

    async def refresh(self) -> None:
        """Read the sites again and redraw the map and the list."""
        if self.container is not None:
            self.container.clear()
            await self.fill()

    async def fill(self) -> None:
        assert self.container is not None
        self.states = await site_states()
        settings = await map_settings()
        self.drawn = {s.site.id: s.colour for s in self.states}
        with self.container:
            with ui.card().classes(design.CARD + " p-0 overflow-hidden"):
                self.draw_map(settings)
                legend()
            self.draw_list()

    def draw_map(self, settings: MapSettings) -> None:
        located = [s for s in self.states if s.located]
        center = FALLBACK_CENTER
        if located:
            center = (sum(s.site.latitude or 0 for s in located) / len(located),
                      sum(s.site.longitude or 0 for s in located) / len(located))  # fmt: skip
        m = ui.leaflet(center=center, zoom=16 if located else 5, options={"maxZoom": 19, "minZoom": 2})
        m.classes("w-full h-[28rem]").style(f"background-color: {MAP_BACKGROUND}").mark("site-map")
        m.clear_layers()  # NiceGUI adds OpenStreetMap's tiles, which an appliance without internet cannot load
        if settings.tile_url:
            m.tile_layer(url_template=settings.tile_url,
                         options={"attribution": escape(settings.attribution), "maxZoom": 19})  # fmt: skip
        self.markers = {}
        for state in located:
            layer = m.generic_layer(name="circleMarker", args=[[state.site.latitude, state.site.longitude],
                                                               marker_style(state.colour)])  # fmt: skip
            self.markers[state.site.id] = layer.id
        self.leaflet = m
        m.on("init", lambda: self.decorate(m, located))

    def decorate(self, m: ui.leaflet, located: list[SiteState]) -> None:
        """Give each dot its name and its popup, and fit the map around the dots (once the browser drew it)."""
        for state in located:
            layer_id = self.markers.get(state.site.id)
            if layer_id is None:
                continue
            m.run_layer_method(layer_id, "bindTooltip", escape(state.site.name),
                               {"permanent": True, "direction": "top", "offset": [0, -12]})  # fmt: skip
            m.run_layer_method(layer_id, "bindPopup", popup_html(state))
        if len(located) > 1:
            bounds = [[s.site.latitude, s.site.longitude] for s in located]
            m.run_map_method("fitBounds", bounds, {"padding": [60, 60], "maxZoom": 17})

    def draw_list(self) -> None:
        self.dots, self.summaries = {}, {}
        with ui.column().classes("w-full gap-2"):
            if not self.states:
                ui.label(t("sites.none")).classes(design.MUTED)
            for state in self.states:
                self.card(state)

    def card(self, state: SiteState) -> None:
        site = state.site
        with (
            ui.card().classes("w-full").props(f"data-site={site.id}"),
            ui.row().classes("w-full items-center gap-3 no-wrap"),
        ):
            self.dots[site.id] = ui.icon("place").classes("text-3xl").style(f"color: {state.colour}")
            with ui.column().classes("gap-0 grow min-w-0"):
                ui.label(site.name).classes("font-semibold")
                if site.address:
                    ui.label(site.address).classes(design.MUTED)
                where = (t("sites.coordinates", lat=f"{site.latitude:.5f}", lon=f"{site.longitude:.5f}")
                         if state.located else t("sites.no_coordinates"))  # fmt: skip
                ui.label(where).classes(design.MUTED)
                self.summaries[site.id] = ui.label(state.summary()).classes("text-sm")
            ui.link(t("sites.show_cameras"), f"/cameras?site={site.id}").mark(f"cameras-{site.id}")
            ui.button(icon="edit", on_click=lambda s=site: site_dialog(s, self.refresh)).props(
                f'flat round aria-label="{t("sites.edit")}"'
            ).mark(f"edit-{site.id}")
            ui.button(icon="delete", on_click=lambda s=state: delete_dialog(s, self.refresh)).props(
                f'flat round color=negative aria-label="{t("sites.delete")}"'
            ).mark(f"delete-{site.id}")

    def update_colours(self) -> None:
        """Recolour the dots and summaries of the sites whose cameras changed state."""
        for state in self.states:
            colour = state.colour
            if self.drawn.get(state.site.id) == colour:
                continue
            self.drawn[state.site.id] = colour
            if state.site.id in self.dots:
                self.dots[state.site.id].style(f"color: {colour}")
                self.summaries[state.site.id].set_text(state.summary())
            layer_id = self.markers.get(state.site.id)
            if self.leaflet is not None and layer_id is not None:
                self.leaflet.run_layer_method(layer_id, "setStyle", marker_style(colour))


def marker_style(colour: Colour) -> dict[str, Any]:
    """Return the look of a site's dot."""
    return {"radius": 11, "color": "#ffffff", "weight": 3, "fillColor": colour.value, "fillOpacity": 0.95}


def popup_html(state: SiteState) -> str:
    """Return the popup of a site's dot: its name, address, cameras in a sentence, and a link to them."""
    site = state.site
    parts = [f"<b>{escape(site.name)}</b>"]
    if site.address:
        parts.append(escape(site.address))
    parts.append(escape(state.summary()))
    parts.append(f'<a href="/cameras?site={site.id}">{escape(t("sites.show_cameras"))}</a>')
    return "<br>".join(parts)


def legend() -> None:
    """Explain the colours of the dots."""
    with ui.row().classes("w-full gap-4 px-4 py-2 items-center"):
        for colour, key in COLOUR_KEY.items():
            with ui.row().classes("items-center gap-1 no-wrap"):
                ui.icon("circle").style(f"color: {colour.value}")
                ui.label(t(key)).classes("text-sm")


# --- add, edit and delete ------------------------------------------------------------------------


def coordinate(text: str | None) -> float | str | None:
    """Read a latitude or longitude typed with a dot or a decimal comma; keep anything else for pydantic."""
    value = (text or "").strip()
    if not value:
        return None
    try:
        return float(value.replace(",", ".")) if value.count(",") <= 1 and "." not in value else float(value)
    except ValueError:
        return value


def _text(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}".rstrip("0").rstrip(".")


def site_dialog(site: Site | None, done: Callable[[], Any]) -> None:
    """Ask for a site's name, address, coordinates and notes, and save it."""
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-lg"):
        ui.label(t("sites.edit_title", name=site.name) if site else t("sites.add")).classes(design.H2)
        inputs: dict[str, Any] = {
            "name": ui.input(t("field.site_name"), value=site.name if site else "").mark("name"),
            "address": ui.input(t("field.site_address"), value=site.address if site else "").mark("address"),
        }
        with ui.row().classes("w-full gap-4 no-wrap"):
            inputs["latitude"] = ui.input(t("field.site_latitude"), value=_text(site.latitude if site else None),
                                          placeholder="21.0285").classes("grow").mark("latitude")  # fmt: skip
            inputs["longitude"] = ui.input(t("field.site_longitude"), value=_text(site.longitude if site else None),
                                           placeholder="105.8542").classes("grow").mark("longitude")  # fmt: skip
        ui.label(t("sites.hint.coordinates")).classes(design.MUTED)
        inputs["notes"] = ui.textarea(t("field.site_notes"), value=site.notes if site else "").mark("notes")
        for name in ("name", "address", "notes"):
            inputs[name].classes(design.FORM_FIELD)

        def split_pair() -> None:
            match = PAIR.match(inputs["latitude"].value or "")
            if match and "." in (inputs["latitude"].value or ""):
                inputs["latitude"].value, inputs["longitude"].value = match[1], match[2]

        inputs["latitude"].on("blur", split_pair)  # "21.0285, 105.8542" pasted into latitude fills both

        async def save() -> None:
            who = await acting(Permission.MANAGE_CAMERAS)
            if who is None:
                return
            split_pair()
            given = {name: element.value for name, element in inputs.items()}
            given["latitude"], given["longitude"] = coordinate(given["latitude"]), coordinate(given["longitude"])
            if not (given["name"] or "").strip():
                del given["name"]  # reads as missing
            errors: dict[str, str] = {}
            try:
                data = SiteInput.model_validate(given)
            except ValidationError as exc:
                errors = field_errors(exc.errors())
            else:
                if (data.latitude is None) != (data.longitude is None):
                    missing = "longitude" if data.longitude is None else "latitude"
                    errors = {missing: t("sites.error.coordinates_pair")}
            for name, element in inputs.items():
                element.error = errors.get(name)
            if errors:
                return
            service = context.appliance().cameras
            try:
                if site is None:
                    await service.create_site(data, who=who, ip=client_ip())
                else:
                    await service.update_site(site.id, SitePatch(**data.model_dump()), who=who, ip=client_ip())
            except WardCamError as exc:
                if exc.field in inputs:
                    inputs[exc.field].error = t(exc.key, **exc.params)
                else:
                    ui.notify(t(exc.key, **exc.params), type="negative")
                return
            ui.notify(t("sites.saved", name=data.name), type="positive")
            dialog.close()
            await done()

        with ui.row().classes("w-full justify-end"):
            ui.button(t("action.cancel"), on_click=dialog.close).props("flat")
            ui.button(t("action.save"), on_click=save).mark("save-site")
    open_once(dialog)


def delete_dialog(state: SiteState, done: Callable[[], Any]) -> None:
    """Delete a site after saying what becomes of its cameras."""
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-md"):
        ui.label(t("sites.delete_title", name=state.site.name)).classes(design.H2)
        ui.label(t("sites.delete_cameras_stay", count=len(state.cameras))).classes(design.MUTED)

        async def confirm() -> None:
            who = await acting(Permission.MANAGE_CAMERAS)
            if who is None:
                return
            try:
                await context.appliance().cameras.delete_site(state.site.id, who=who, ip=client_ip())
            except WardCamError as exc:
                ui.notify(t(exc.key, **exc.params), type="negative")
                return
            ui.notify(t("sites.deleted", name=state.site.name), type="positive")
            dialog.close()
            await done()

        with ui.row().classes("w-full justify-end"):
            ui.button(t("action.cancel"), on_click=dialog.close).props("flat")
            ui.button(t("sites.delete"), on_click=confirm).props("color=negative").mark("confirm-delete")
    open_once(dialog)


# --- the map's tiles -----------------------------------------------------------------------------


async def map_settings_card(done: Callable[[], Any]) -> None:
    """Let admins set where the map gets its tiles, or leave it empty for a map without internet."""
    current = await map_settings()
    with ui.expansion(t("sites.map.title"), icon="map").classes("w-full").mark("map-settings"):
        ui.label(t("sites.map.intro")).classes(design.MUTED)
        tile_url = ui.input(t("sites.map.tile_url"), value=current.tile_url,
                            placeholder="https://tile.openstreetmap.org/{z}/{x}/{y}.png").classes(
            design.FORM_FIELD).mark("tile_url")  # fmt: skip
        ui.label(t("sites.map.tile_url_help")).classes(design.MUTED)
        attribution = ui.input(t("sites.map.attribution"), value=current.attribution, placeholder="© OpenStreetMap")
        attribution.classes(design.FORM_FIELD).mark("attribution")
        ui.label(t("sites.map.attribution_help")).classes(design.MUTED)

        async def save() -> None:
            who = await acting(Permission.MANAGE_CAMERAS)
            if who is None:
                return
            values = {"tile_url": tile_url.value or "", "attribution": attribution.value or ""}
            try:
                await context.appliance().cameras.save_map_settings(values, who=who, ip=client_ip())
            except MapSettingsInvalid as exc:
                errors = exc.field_messages("")
                tile_url.error, attribution.error = errors.get("tile_url"), errors.get("attribution")
                return
            tile_url.error = attribution.error = None
            ui.notify(t("sites.map.saved"), type="positive")
            await done()

        ui.button(t("action.save"), on_click=save).mark("save-map")
