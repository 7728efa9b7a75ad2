"""/: the dashboard, a live grid of every camera the user may watch.

Each tile shows the camera's latest keyframe (about one a second), its name, its site and whether it
records. The pictures do not go through NiceGUI: web/static/grid.js opens one websocket per page
(/api/live/frames) and asks only for the tiles on screen. The server sends each camera's keyframes as
the camera encoded them (its sub stream), which the browser decodes in a muted video element that plays them; only a
camera whose video the browser cannot decode, or that has nothing smaller than its main stream, comes
as JPEGs that the appliance decodes (appliance/live/frames.py). Wall mode fills the screen with the grid.
"""

from __future__ import annotations

import json
from html import escape

from nicegui import ui

from appliance import __version__
from appliance.auth.roles import Permission
from appliance.cameras import cameras_for
from appliance.db.models.cameras import Camera
from appliance.i18n import t
from web import context, design
from web.access import page
from web.pages.cameras import Health, camera_health
from web.theme import frame

BADGE_EVERY_S = 5.0
ALL_SITES = 0
NO_SITE = -1


def live_assets(script: str) -> None:
    """Load the live view's style sheet and one of its scripts (files of the project, never a CDN)."""
    ui.add_head_html(
        f'<link rel="stylesheet" href="/static/live.css?v={__version__}">'
        f'<script src="/static/{script}?v={__version__}" defer></script>'
    )


def badge_state(camera: Camera) -> tuple[str, str, str]:
    """Return the text, colour and tooltip of a camera's status badge: recording, or offline since when.

    The health is the Cameras page's (camera_health): an enabled camera that the recorder has not
    reported on yet is starting ("Connecting"), not disabled.
    """
    status = context.appliance().recorder.status(camera.id)
    health = camera_health(camera, status)
    if health == Health.DISABLED:
        return t("camera.status.disabled"), "grey-6", t("live.not_recorded")
    if health == Health.RECORDING:
        return t("recorder.state.recording"), "positive", ""
    if status is None:
        return t("recorder.state.connecting"), "grey-7", ""
    reason = t(f"recorder.failure.{status.error}") if status.error else ""
    if health == Health.OFFLINE:
        since = (status.failing_since or status.since).astimezone().strftime("%H:%M")
        return t("recorder.offline_since", time=since), "negative", reason
    return t(f"recorder.state.{status.state.value}"), "grey-7", reason


async def follow_switches(cameras: list[Camera]) -> None:
    """Bring the page's cameras' on/off switches up to date (an admin may have switched one meanwhile)."""
    enabled = dict(await Camera.filter(id__in=[c.id for c in cameras]).values_list("id", "enabled"))
    for camera in cameras:
        camera.enabled = bool(enabled.get(camera.id, camera.enabled))


class StatusBadge:
    """A camera's status badge that follows the recorder."""

    def __init__(self, camera: Camera, classes: str = "") -> None:
        self.camera = camera
        self.state = badge_state(camera)
        text, colour, tip = self.state
        self.badge = ui.badge(text, color=colour).classes(classes).props(f"data-status={camera.id}")
        with self.badge:
            self.tooltip = ui.tooltip(tip)
        self.tooltip.set_visibility(bool(tip))

    async def refresh(self) -> None:
        """Show the camera's current status, if it changed."""
        await follow_switches([self.camera])
        state = badge_state(self.camera)
        if state == self.state:
            return
        self.state = text, colour, tip = state
        self.badge.set_text(text)
        self.badge.props(f"color={colour}")
        self.tooltip.set_text(tip)
        self.tooltip.set_visibility(bool(tip))


# Quasar's badge, drawn as plain HTML (the same look as ui.badge, without a component per tile)
BADGE_CLASSES = "q-badge flex inline items-center no-wrap q-badge--single-line wardcam-tile-badge"


def badge_view(state: tuple[str, str, str]) -> dict[str, str]:
    """Return what grid.js puts on a tile's badge for a status: its text, classes and tooltip."""
    text, colour, tip = state
    return {"text": text, "classes": f"{BADGE_CLASSES} bg-{colour}", "title": tip}


def site_id_of(camera: Camera) -> int:
    """Return the id of a camera's site, for the site filter (NO_SITE for a camera without one)."""
    return camera.site.id if camera.site else NO_SITE


def tile_html(camera: Camera, state: tuple[str, str, str]) -> str:
    """Return one camera's tile: its latest frame, name, site and status; a click opens its live video.

    The whole grid is one HTML element rather than a NiceGUI element (and a Vue component) for each part
    of each tile: 62 tiles made 560 components, and mounting them was half of the dashboard's first
    paint (measured with bench/grid.py's page: 2.2 to 2.6 s, against 1.4 to 1.8 s as HTML). grid.js
    fills the tiles, and updates the badges and the site filter (WardCamGrid.badges, .showSite).
    """
    site_name = camera.site.name if camera.site else t("dashboard.no_site")
    name = escape(camera.name)
    badge = badge_view(state)
    title = f' title="{escape(badge["title"])}"' if badge["title"] else ""
    return (
        f'<a class="wardcam-tile" href="/live/{camera.id}" data-live-tile="{camera.id}"'
        f' data-site="{site_id_of(camera)}"'
        f' data-waiting="{escape(t("live.waiting"))}" title="{escape(t("live.open_camera", name=camera.name))}">'
        f'<img alt="{name}">'  # JPEGs, when it cannot decode the keyframes (grid.js adds their <video>)
        '<div class="wardcam-tile-wait"></div>'
        f'<div class="wardcam-tile-label"><div class="wardcam-tile-name">{name}</div>'
        f'<div class="wardcam-tile-site">{escape(site_name)}</div></div>'
        f'<span class="{badge["classes"]}" role="status" data-status="{camera.id}"{title}>'
        f"{escape(badge['text'])}</span>"
        "</a>"
    )


@page("/", Permission.VIEW_LIVE)
async def dashboard() -> None:
    """Show every camera the user may watch, live."""
    who = context.principal()
    camera_list = await cameras_for(who) if who is not None else []
    live_assets("grid.js")
    with frame("nav.dashboard"):
        if not camera_list:
            ui.label(t("dashboard.no_cameras")).classes(design.MUTED)
            return
        sites = {c.site.id: c.site.name for c in camera_list if c.site is not None}
        options = {ALL_SITES: t("live.all_sites"), **dict(sorted(sites.items(), key=lambda kv: kv[1]))}
        if any(c.site is None for c in camera_list):
            options[NO_SITE] = t("dashboard.no_site")
        with ui.row().classes("w-full items-center gap-4"):
            site_filter = (
                ui.select(options, value=ALL_SITES, label=t("live.filter_site")).classes("min-w-[14rem]").mark("site")
            )
            summary = ui.label().classes(design.MUTED).mark("summary")
            ui.space()
            ui.button(t("live.wall_mode"), icon="fullscreen").props("outline data-wall-mode").on(
                "click", js_handler="() => WardCamGrid.wall(true)"
            )
        states = {camera.id: badge_state(camera) for camera in camera_list}
        site_of = {camera.id: site_id_of(camera) for camera in camera_list}
        tiles = "".join(tile_html(camera, states[camera.id]) for camera in camera_list)
        ui.html(tiles, sanitize=False).classes("wardcam-grid").props("data-live-grid").mark("grid")  # escaped above
        ui.button(icon="fullscreen_exit").props(f'round color=grey-9 aria-label="{t("live.exit_wall")}"').classes(
            "wardcam-wall-exit"
        ).on("click", js_handler="() => WardCamGrid.wall(false)")

        def count_shown() -> None:
            chosen = site_filter.value
            shown = [cid for cid in states if chosen == ALL_SITES or site_of[cid] == chosen]
            recording = sum(states[cid][1] == "positive" for cid in shown)
            offline = sum(states[cid][1] == "negative" for cid in shown)
            summary.set_text(t("live.summary", cameras=len(shown), recording=recording, offline=offline))

        def show_site() -> None:
            ui.run_javascript(f"WardCamGrid.showSite({int(site_filter.value)})")
            count_shown()

        async def refresh_badges() -> None:
            await follow_switches(camera_list)
            changed = {}
            for camera in camera_list:
                state = badge_state(camera)
                if state != states[camera.id]:
                    states[camera.id] = state
                    changed[camera.id] = badge_view(state)
            if changed:
                ui.run_javascript(f"WardCamGrid.badges({json.dumps(changed)})")
            count_shown()

        site_filter.on_value_change(show_site)
        count_shown()
        ui.timer(BADGE_EVERY_S, refresh_badges)
