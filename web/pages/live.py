"""/live/{camera_id}: one camera's live video, full screen and a snapshot download.

The video is the camera's main stream, copied (not transcoded) into fragmented MP4 and played by
web/static/live.js with Media Source Extensions from the websocket /api/cameras/{camera_id}/live. A
browser that cannot play it (no Media Source Extensions, as on an iPhone, or H.265 in most browsers)
shows the camera's latest frame instead, refreshed about once a second, and says why.
"""

from __future__ import annotations

import re
from html import escape

from nicegui import ui

from appliance.auth.roles import Permission
from appliance.cameras import camera_for
from appliance.errors import NotFound
from appliance.i18n import t
from web import context, design
from web.access import page
from web.pages.dashboard import BADGE_EVERY_S, StatusBadge, live_assets
from web.theme import frame

# the picture shown instead of video lies where the video would be
PICTURE_STYLE = "position:absolute;inset:0;width:100%;height:100%;object-fit:contain;background:#000"


def snapshot_name(name: str) -> str:
    """Return a file-name-safe form of a camera's name (letters with diacritics are kept)."""
    return re.sub(r"[^\w-]+", "-", name).strip("-") or "camera"


@page("/live/{camera_id}", Permission.VIEW_LIVE)
async def live_page(camera_id: int) -> None:
    """Show one camera's live video."""
    who = context.principal()
    try:
        if who is None:
            raise NotFound()
        camera = await camera_for(who, camera_id)
    except NotFound:
        with frame("live.title"):
            ui.label(t("live.camera_not_found")).classes(design.MUTED).mark("not-found")
            ui.button(t("live.back_to_grid"), icon="grid_view", on_click=lambda: ui.navigate.to("/")).props("outline")
        return
    live_assets("live.js")
    with frame(camera.name):
        with ui.row().classes("w-full items-center gap-3"):
            ui.label(camera.site.name if camera.site else t("dashboard.no_site")).classes(design.MUTED)
            badge = StatusBadge(camera)
            ui.space()
            ui.button(t("live.back_to_grid"), icon="grid_view", on_click=lambda: ui.navigate.to("/")).props("flat")
            ui.button(t("live.snapshot"), icon="photo_camera").props("outline data-live-snapshot-button").on(
                "click", js_handler="() => WardCamLive.snapshot()"
            )
            ui.button(t("live.full_screen"), icon="fullscreen").props("outline data-live-fullscreen-button").on(
                "click", js_handler="() => WardCamLive.fullscreen()"
            )
        texts = {
            "connecting": t("live.connecting"),
            "reconnecting": t("live.reconnecting"),
            "pictures-only": t("live.pictures_only"),
            "gone": t("live.camera_not_found"),
            "no-snapshot": t("live.no_snapshot"),
            "snapshot-name": snapshot_name(camera.name),
        }
        data = " ".join(f'data-{key}="{escape(value)}"' for key, value in texts.items())
        ui.label("").classes(design.MUTED).props("data-live-note hidden aria-live=polite")
        with ui.element("div").classes("wardcam-player"):
            ui.element("video").props(f'data-live-camera="{camera.id}" {data} muted autoplay playsinline')
            ui.element("img").style(PICTURE_STYLE).props(f'data-live-picture hidden alt="{escape(camera.name)}"')
            ui.element("div").classes("wardcam-player-message").props("data-live-message aria-live=polite")
        ui.label(t("live.hint")).classes(design.MUTED)
        ui.timer(BADGE_EVERY_S, badge.refresh)
