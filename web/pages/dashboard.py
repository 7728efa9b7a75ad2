"""/: the dashboard; the live grid of all cameras comes here."""

from __future__ import annotations

from nicegui import ui

from appliance.auth.roles import Permission
from appliance.db.models.cameras import Camera, Site
from appliance.i18n import t
from appliance.recorder.supervisor import RecorderState
from web import context, design
from web.access import page
from web.components.stat import stat_card
from web.theme import frame


@page("/", Permission.VIEW_LIVE)
async def dashboard() -> None:
    """Show the ward at a glance."""
    who = context.principal()
    cameras = Camera.all().prefetch_related("site")
    if who is not None and who.role.value == "police":
        cameras = cameras.filter(site_id__in=list(who.site_ids))
    camera_list = await cameras
    with frame("nav.dashboard"):
        with ui.element("div").classes(design.GRID):
            stat_card("videocam", str(len(camera_list)), t("dashboard.cameras"))
            stat_card("place", str(await Site.all().count()), t("dashboard.sites"))
            stat_card(
                "fiber_manual_record", str(sum(1 for c in camera_list if c.enabled)), t("dashboard.enabled_cameras")
            )
        with ui.card().classes(design.CARD):
            ui.label(t("dashboard.live_grid")).classes(design.H2)
            ui.label(t("dashboard.live_grid_coming")).classes(design.MUTED)
            if not camera_list:
                ui.label(t("dashboard.no_cameras")).classes(design.MUTED)
            with ui.element("div").classes(design.GRID):
                for camera in camera_list:
                    with ui.card().classes("w-full").props(f"data-camera={camera.id}"):
                        ui.label(camera.name).classes("font-semibold")
                        ui.label(camera.site.name if camera.site else t("dashboard.no_site")).classes(design.MUTED)
                        status_badge(camera)


def status_badge(camera: Camera) -> None:
    """Show whether the camera records now, or since when it is offline."""
    status = context.appliance().recorder.status(camera.id)
    if not camera.enabled or status is None:
        ui.badge(t("camera.status.disabled"), color="grey-5")
    elif status.state == RecorderState.RECORDING:
        ui.badge(t("recorder.state.recording"), color="positive")
    elif status.failing_since is not None:
        since = status.failing_since.astimezone().strftime("%H:%M")
        ui.badge(t("recorder.offline_since", time=since), color="negative").tooltip(
            t(f"recorder.failure.{status.error}") if status.error else ""
        )
    else:
        ui.badge(t(f"recorder.state.{status.state.value}"), color="grey-7")
