"""/addon/motion/cameras: each camera's motion settings, with zones and masks drawn on its picture.

Staff pick a camera, see what motion detection makes of it (watching, connecting, cannot read it),
set its sensitivity and minimum area, and draw polygons on its latest picture: click to place the
corners, "Finish shape" to close it as a zone (named; detections list the zones that saw motion) or
a mask (motion there is ignored). Nothing changes until Save, which applies at once and is audited.
Each action re-checks the session first (web.guard.acting).
"""

from __future__ import annotations

import base64
import html
from datetime import datetime

from nicegui import background_tasks, ui
from nicegui.events import MouseEventArguments
from pydantic import ValidationError

import addons.motion as motion
from addons.motion.config import CameraMotion, Point, Polygon
from addons.motion.snapshot import SnapshotFailed, encode_jpeg
from appliance.auth.roles import Permission
from appliance.db.models.cameras import Camera
from appliance.i18n import t
from appliance.live.worker import LiveState
from appliance.validation import field_errors
from web import design
from web.guard import acting, client_ip

BLANK_SIZE = (640, 360)  # the drawing area while the camera has sent no picture
ZONE_COLOUR = design.SECONDARY
MASK_COLOUR = design.NEGATIVE
DRAFT_COLOUR = design.ACCENT
PICTURE_WAIT_S = 3.0


async def cameras_page() -> None:
    """Draw the page, with the first camera picked."""
    view = MotionView()
    view.draw()
    await view.fill_picker()


def jpeg_size(jpeg: bytes) -> tuple[int, int] | None:
    """Return a JPEG's width and height from its frame header, or None when it has none."""
    pos = 2
    while pos + 9 <= len(jpeg) and jpeg[pos] == 0xFF:
        marker = jpeg[pos + 1]
        length = int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(jpeg[pos + 7 : pos + 9], "big"), int.from_bytes(jpeg[pos + 5 : pos + 7], "big")
        pos += 2 + length
    return None


def overlay(zones: list[Polygon], masks: list[Polygon], draft: list[Point], size: tuple[int, int]) -> str:
    """Return the SVG drawn over the picture: masks red, zones green with their names, the shape being drawn."""
    width, height = size

    def coords(points: tuple[Point, ...] | list[Point]) -> str:
        return " ".join(f"{x * width:.1f},{y * height:.1f}" for x, y in points)

    style = 'stroke-width="2" vector-effect="non-scaling-stroke"'
    parts = []
    for mask in masks:
        parts.append(f'<polygon points="{coords(mask.points)}" fill="{MASK_COLOUR}" fill-opacity="0.35" '
                     f'stroke="{MASK_COLOUR}" {style} />')  # fmt: skip
    for zone in zones:
        x, y = zone.points[0]
        parts.append(f'<polygon points="{coords(zone.points)}" fill="{ZONE_COLOUR}" fill-opacity="0.25" '
                     f'stroke="{ZONE_COLOUR}" {style} />')  # fmt: skip
        parts.append(f'<text x="{x * width + 4:.1f}" y="{y * height + 16:.1f}" fill="white" stroke="black" '
                     f'stroke-width="0.5" font-size="16" font-weight="bold">{html.escape(zone.name)}</text>'
                     )  # fmt: skip
    if draft:
        parts.append(f'<polyline points="{coords(draft)}" fill="none" stroke="{DRAFT_COLOUR}" '
                     f'stroke-dasharray="6 4" {style} />')  # fmt: skip
        parts.extend(f'<circle cx="{x * width:.1f}" cy="{y * height:.1f}" r="5" fill="{DRAFT_COLOUR}" />'
                     for x, y in draft)  # fmt: skip
    return "".join(parts)


def problems(exc: ValidationError) -> str:
    """Return what is wrong with the settings, in the user's words."""
    own = [t(e["type"]) for e in exc.errors() if str(e["type"]).startswith("addon.motion.error.")]
    return " ".join(own) or " ".join(field_errors(exc.errors()).values())


def status_text(camera: Camera | None, settings: CameraMotion) -> str:
    """Return what motion detection is doing with a camera, in plain words."""
    if camera is None:
        return t("addon.motion.state.gone")
    if not camera.enabled:
        return t("addon.motion.state.camera_off")
    watch = motion.running().detection.watches.get(camera.id)
    if not settings.enabled or watch is None:
        return t("addon.motion.state.off")
    source = watch.source
    if source.state == LiveState.FAILING:
        return t("addon.motion.state.failing", reason=t(f"recorder.failure.{source.error or 'unknown'}"))
    if source.state != LiveState.LIVE:
        return t("addon.motion.state.connecting")
    last = watch.tracker.last_motion_at
    if last is None:
        return t("addon.motion.state.watching_still", fps=source.fps)
    return t("addon.motion.state.watching", fps=source.fps, time=datetime.fromtimestamp(last).strftime("%H:%M:%S"))


async def picture(camera_id: int) -> bytes | None:
    """Return the camera's latest picture: the live view's keyframe, else the last frame motion detection saw."""
    rt = motion.running()
    try:
        jpeg = await rt.ctx.latest_jpeg(camera_id, wait_s=PICTURE_WAIT_S)
    except RuntimeError:  # no live service in this process
        jpeg = None
    if jpeg is not None:
        return jpeg
    watch = rt.detection.watches.get(camera_id)
    frame = watch.source.latest if watch is not None else None
    if frame is None:
        return None
    try:
        return await encode_jpeg(frame)
    except (SnapshotFailed, OSError):
        return None


class MotionView:
    """The camera picker, the settings of the picked camera, and the drawing."""

    def __init__(self) -> None:
        self.camera_id: int | None = None
        self.zones: list[Polygon] = []
        self.masks: list[Polygon] = []
        self.draft: list[Point] = []
        self.size = BLANK_SIZE

    def draw(self) -> None:
        ui.label(t("addon.motion.intro")).classes(design.MUTED)
        self.picker = ui.select({}, label=t("addon.motion.camera"), on_change=self.load).classes("w-72")
        self.picker.mark("motion-camera")
        self.status = ui.label("").classes("font-medium").mark("motion-status")
        with ui.card().classes(design.CARD), ui.row().classes("w-full items-center gap-6"):
            self.enabled = ui.switch(t("addon.motion.enabled")).mark("motion-enabled")
            with ui.column().classes("gap-0 min-w-64"):
                self.sensitivity_label = ui.label("").classes(design.MUTED)
                self.sensitivity = ui.slider(min=1, max=100, step=1, value=50).mark("motion-sensitivity")
                self.sensitivity.on_value_change(self._show_sensitivity)
            self.min_area = ui.number(t("addon.motion.min_area"), min=0.05, max=50, step=0.1, format="%.2f",
                                      suffix="%").classes("w-48").mark("motion-min-area")  # fmt: skip
            self.min_area.tooltip(t("addon.motion.min_area_help"))
        ui.label(t("addon.motion.draw_help")).classes(design.MUTED)
        with ui.row().classes("w-full items-center gap-4"):
            self.kind = ui.radio({"zone": t("addon.motion.kind.zone"), "mask": t("addon.motion.kind.mask")},
                                 value="zone").props("inline").mark("motion-kind")  # fmt: skip
            self.zone_name = ui.input(t("addon.motion.zone_name")).classes("w-56").mark("motion-zone-name")
            self.zone_name.bind_visibility_from(self.kind, "value", value="zone")
        self.image = ui.interactive_image(size=BLANK_SIZE, on_mouse=self.add_point, events=["click"], cross=True)
        self.image.classes("motion-picture w-full max-w-3xl border rounded").mark("motion-image")
        self.no_picture = ui.label(t("addon.motion.no_picture")).classes(design.MUTED).mark("motion-no-picture")
        self.no_picture.set_visibility(False)
        with ui.row().classes("items-center gap-2"):
            ui.button(t("addon.motion.finish"), icon="check", on_click=self.finish).mark("motion-finish")
            ui.button(t("addon.motion.undo"), icon="undo", on_click=self.undo).props("flat").mark("motion-undo")
            ui.button(t("addon.motion.clear"), icon="delete_sweep", on_click=self.clear).props("flat").mark(
                "motion-clear"
            )
            ui.button(t("addon.motion.refresh"), icon="refresh", on_click=self.refresh_picture).props("flat").mark(
                "motion-refresh"
            )
        self.shapes = ui.column().classes("w-full gap-1").mark("motion-shapes")
        self.problem = ui.label("").classes(design.ERROR_TEXT).mark("motion-error")
        ui.button(t("action.save"), icon="save", on_click=self.save).mark("motion-save")
        ui.timer(2.0, self.show_status)

    async def fill_picker(self) -> None:
        """List the cameras and open the first one."""
        cameras = {camera.id: camera.name for camera in await Camera.all()}
        self.picker.set_options(cameras)
        if not cameras:
            self.status.set_text(t("addon.motion.no_cameras"))
            return
        self.picker.set_value(next(iter(cameras)))  # calls load()

    async def load(self) -> None:
        """Show the picked camera's saved settings and its picture."""
        self.camera_id = self.picker.value
        if self.camera_id is None:
            return
        settings = motion.running().detection.store.get(self.camera_id)
        self.enabled.set_value(settings.enabled)
        self.sensitivity.set_value(settings.sensitivity)
        self._show_sensitivity()
        self.min_area.set_value(settings.min_area_pct)
        self.zones, self.masks, self.draft = list(settings.zones), list(settings.masks), []
        self.problem.set_text("")
        await self.show_status()
        self.redraw()
        background_tasks.create(self.refresh_picture(), name="motion-picture")  # the page need not wait for it

    async def show_status(self) -> None:
        if self.camera_id is None:
            return
        camera = await Camera.get_or_none(id=self.camera_id)
        self.status.set_text(status_text(camera, motion.running().detection.store.get(self.camera_id)))

    async def refresh_picture(self) -> None:
        """Put the camera's latest picture under the drawing."""
        camera_id = self.camera_id
        if camera_id is None:
            return
        jpeg = await picture(camera_id)
        if camera_id != self.camera_id:  # another camera was picked meanwhile
            return
        size = jpeg_size(jpeg) if jpeg is not None else None
        if jpeg is None or size is None:
            self.no_picture.set_visibility(True)
            return
        self.no_picture.set_visibility(False)
        self.size = size
        self.image.set_source("data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii"))
        self.redraw()

    def add_point(self, event: MouseEventArguments) -> None:
        """Place a corner of the shape being drawn where the picture was clicked."""
        width, height = self.size
        x = min(1.0, max(0.0, event.image_x / width))
        y = min(1.0, max(0.0, event.image_y / height))
        self.draft.append((x, y))
        self.problem.set_text("")
        self.redraw()

    def finish(self) -> None:
        """Close the shape being drawn as a zone or a mask."""
        if len(self.draft) < 3:
            self.problem.set_text(t("addon.motion.error.three_points"))
            return
        is_zone = self.kind.value == "zone"
        name = (self.zone_name.value or "").strip() if is_zone else ""
        if is_zone and not name:
            name = t("addon.motion.zone_default", number=len(self.zones) + 1)
        if is_zone and name in {zone.name for zone in self.zones}:
            self.problem.set_text(t("addon.motion.error.zone_twice"))
            return
        try:
            shape = Polygon(name=name, points=tuple(self.draft))
        except ValidationError as exc:
            self.problem.set_text(problems(exc))
            return
        (self.zones if is_zone else self.masks).append(shape)
        self.draft = []
        self.zone_name.set_value("")
        self.problem.set_text("")
        self.redraw()

    def undo(self) -> None:
        """Take back the last corner placed."""
        if self.draft:
            self.draft.pop()
            self.redraw()

    def clear(self) -> None:
        """Remove every zone and mask of this camera (until Save, nothing is lost)."""
        self.zones, self.masks, self.draft = [], [], []
        self.redraw()

    def remove(self, shape: Polygon) -> None:
        """Remove one zone or mask."""
        self.zones = [zone for zone in self.zones if zone is not shape]
        self.masks = [mask for mask in self.masks if mask is not shape]
        self.redraw()

    def redraw(self) -> None:
        """Draw the shapes over the picture, and list them."""
        self.image.set_content(overlay(self.zones, self.masks, self.draft, self.size))
        self.shapes.clear()
        with self.shapes:
            if not self.zones and not self.masks:
                ui.label(t("addon.motion.no_shapes")).classes(design.MUTED)
            for index, shape in enumerate([*self.zones, *self.masks]):
                kind = "zone" if index < len(self.zones) else "mask"
                text = t(f"addon.motion.shape.{kind}", name=shape.name, corners=len(shape.points))
                with ui.row().classes("items-center gap-2"):
                    ui.icon("crop_square" if kind == "zone" else "block").style(
                        f"color: {ZONE_COLOUR if kind == 'zone' else MASK_COLOUR}"
                    )
                    ui.label(text).mark(f"motion-shape-{index}")
                    ui.button(icon="close", on_click=lambda s=shape: self.remove(s)).props("flat dense round").tooltip(
                        t("addon.motion.remove")
                    ).mark(f"motion-remove-{index}")

    def _show_sensitivity(self) -> None:
        self.sensitivity_label.set_text(t("addon.motion.sensitivity", value=self.sensitivity.value))

    async def save(self) -> None:
        """Check the settings, keep them and apply them at once."""
        who = await acting(Permission.MANAGE_CAMERAS)
        if who is None or self.camera_id is None:
            return
        values = {"enabled": self.enabled.value, "sensitivity": self.sensitivity.value,
                  "min_area_pct": self.min_area.value, "zones": self.zones, "masks": self.masks}  # fmt: skip
        try:
            settings = CameraMotion.model_validate(values)
        except ValidationError as exc:
            self.problem.set_text(problems(exc))
            return
        if await Camera.get_or_none(id=self.camera_id) is None:
            self.problem.set_text(t("addon.motion.state.gone"))
            return
        await motion.save_settings(self.camera_id, settings, who, client_ip())
        self.problem.set_text("")
        if self.draft:
            ui.notify(t("addon.motion.draft_left"), type="warning")
        ui.notify(t("addon.motion.saved"), type="positive")
        await self.show_status()
