"""/cameras: admins add, edit, test and delete cameras, and move them in and out of a spreadsheet
(the import dialog is web/components/camera_import.py).

A camera's password is write-only here as everywhere: the form never holds the stored one, and a blank
password field keeps it (unless the address now points to another device: then it must be typed again).
/cameras?site=ID lists one site's cameras (the sites map links here).

"Scan network" opens the scan page of a running add-on that discovers cameras (the built-in ONVIF
add-on's /addon/onvif/scan, where a camera found is read with its password and added); when none runs,
it says which add-on to enable and links to the Add-ons page.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from nicegui import ui
from pydantic import ValidationError

from appliance.auth.roles import Permission
from appliance.cameras import (
    CameraHasEvidence,
    CameraInput,
    CameraPatch,
    ConnectionReport,
    ConnectionTest,
    FieldError,
    StreamCheck,
    password_may_follow,
    try_connection,
    without_credentials,
)
from appliance.db.models.cameras import AudioPolicy, Camera, Site
from appliance.errors import WardCamError
from appliance.i18n import t
from appliance.recorder.supervisor import CameraStatus, RecorderState
from appliance.validation import field_errors
from web import context, design
from web.access import page
from web.components.camera_import import import_dialog
from web.components.dialogs import open_once
from web.guard import acting, client_ip
from web.theme import frame

FIELDS = ("name", "site_id", "main_url", "sub_url", "username", "password", "enabled", "retention_days", "audio_policy")
CODEC_NAMES = {"h264": "H.264", "hevc": "H.265", "aac": "AAC", "pcm_alaw": "G.711 A-law", "pcm_mulaw": "G.711 µ-law"}
NO_SITE = 0  # the site select's value for "no site"
STATUS_EVERY_S = 3.0
EXPORT = "/api/cameras.csv"


# --- status --------------------------------------------------------------------------------------


class Health(StrEnum):
    """Whether a camera records, in the four cases a person distinguishes."""

    RECORDING = "recording"
    STARTING = "starting"  # connecting for the first time, not failing yet
    OFFLINE = "offline"
    DISABLED = "disabled"


def camera_health(camera: Camera, status: CameraStatus | None) -> Health:
    """Return a camera's health from its recorder's status."""
    if not camera.enabled:
        return Health.DISABLED
    if status is None:
        return Health.STARTING
    if status.state == RecorderState.RECORDING:
        return Health.RECORDING
    if status.failing_since is not None or status.state in (RecorderState.ERROR, RecorderState.RECONNECTING):
        return Health.OFFLINE
    return Health.STARTING


def recorder_status(camera: Camera) -> CameraStatus | None:
    """Return the recorder's status of one camera (None while it is not being recorded)."""
    return context.appliance().recorder.status(camera.id)


def status_badge(camera: Camera) -> None:
    """Show whether the camera records, and if it does not, since when and why, in plain words."""
    status = recorder_status(camera)
    health = camera_health(camera, status)
    if health == Health.DISABLED:
        ui.badge(t("cameras.status.disabled"), color="grey-6")
    elif health == Health.RECORDING:
        ui.badge(t("recorder.state.recording"), color="positive")
    elif health == Health.OFFLINE and status is not None:
        since = (status.failing_since or status.since).astimezone().strftime("%H:%M")
        ui.badge(t("recorder.offline_since", time=since), color="negative")
        if status.error:
            ui.label(t(f"recorder.failure.{status.error}")).classes("text-xs text-negative max-w-xs")
    else:
        state = status.state.value if status is not None else "connecting"
        ui.badge(t(f"recorder.state.{state}"), color="grey-7")


def codec_name(codec: str | None) -> str:
    """Return a codec's usual name (H.264 rather than h264)."""
    return CODEC_NAMES.get(codec or "", (codec or "").upper())


def stream_summary(video: str | None, width: int | None, height: int | None, fps: float | None,
                   audio: str | None) -> str:  # fmt: skip
    """Return 'H.264 · 640×360 · 10 fps · Audio: AAC' in the user's language."""
    parts = [codec_name(video)]
    if width and height:
        parts.append(f"{width}×{height}")
    if fps:
        parts.append(t("cameras.test.fps", fps=f"{fps:.3g}"))
    parts.append(t("cameras.test.audio", codec=codec_name(audio)) if audio else t("cameras.test.no_audio"))
    return " · ".join(parts)


# --- the page ------------------------------------------------------------------------------------


def _site_param(site: str) -> int | None:
    return int(site) if site.isdigit() else None


@page("/cameras", Permission.MANAGE_CAMERAS)
async def cameras_page(site: str = "") -> None:
    """List the cameras with their status; add, edit, test, delete, export and import them."""
    sites = {s.id: s.name for s in await Site.all()}
    selected = _site_param(site)
    view = CameraList(selected if selected in sites else None)
    with frame("nav.cameras"):
        with ui.row().classes("w-full items-center gap-2"):
            ui.button(t("cameras.add"), icon="add", on_click=lambda: camera_dialog(None, view.refresh)).mark(
                "add-camera"
            )
            export = ui.button(t("cameras.csv.export"), icon="download", on_click=lambda: ui.download.from_url(EXPORT))
            export.props("outline").mark("export-csv")
            ui.button(t("cameras.csv.import"), icon="upload_file", on_click=lambda: import_dialog(view.refresh)).props(
                "outline"
            ).mark("import-csv")
            ui.button(t("cameras.scan.button"), icon="travel_explore", on_click=scan_network).props("outline").mark(
                "scan-network"
            )
            ui.space()
            ui.select({NO_SITE: t("cameras.all_sites"), **sites}, value=view.site_id or NO_SITE,
                      label=t("cameras.filter_site"), on_change=lambda e: view.filter(e.value)).classes(
                "min-w-[14rem]").mark("site-filter")  # fmt: skip
        await view.draw()
    ui.timer(STATUS_EVERY_S, view.update_status)


class CameraList:
    """The camera cards, filtered by site, whose status badges follow the recorder."""

    def __init__(self, site_id: int | None) -> None:
        self.site_id = site_id
        self.slots: dict[int, tuple[Camera, ui.element, tuple[Any, ...]]] = {}
        self.container: ui.column | None = None

    async def draw(self) -> None:
        """Draw the list where the page is being built."""
        self.container = ui.column().classes("w-full gap-2")
        await self.fill()

    async def filter(self, site_id: int | None) -> None:
        """Show one site's cameras (or all), and keep the choice in the address."""
        self.site_id = site_id or None
        ui.navigate.history.replace(f"/cameras?site={self.site_id}" if self.site_id else "/cameras")
        await self.refresh()

    async def refresh(self) -> None:
        """Read the cameras again and redraw the list."""
        if self.container is not None:
            self.container.clear()
            await self.fill()

    async def fill(self) -> None:
        assert self.container is not None
        query = Camera.all().prefetch_related("site")
        if self.site_id:
            query = query.filter(site_id=self.site_id)
        cameras = await query
        self.slots.clear()
        with self.container:
            if not cameras:
                ui.label(t("cameras.none_here" if self.site_id else "cameras.none")).classes(design.MUTED)
            for camera in cameras:
                self.card(camera)

    def card(self, camera: Camera) -> None:
        with (
            ui.card().classes("w-full").props(f"data-camera={camera.id}"),
            ui.row().classes("w-full items-center gap-3 no-wrap"),
        ):
            ui.icon("videocam" if camera.enabled else "videocam_off").classes("text-2xl text-grey-7")
            with ui.column().classes("gap-0 grow min-w-0"):
                ui.label(camera.name).classes("font-semibold")
                site = camera.site.name if camera.site else t("cameras.no_site")
                ui.label(f"{site} · {without_credentials(camera.main_url)}").classes(design.MUTED + " truncate")
                if camera.stream_video_codec:
                    ui.label(
                        stream_summary(
                            camera.stream_video_codec,
                            camera.stream_width,
                            camera.stream_height,
                            None,
                            camera.stream_audio_codec,
                        )
                    ).classes(design.MUTED)
            slot = ui.column().classes("items-end gap-0")
            with slot:
                status_badge(camera)
            self.slots[camera.id] = (camera, slot, self._state(camera))
            ui.button(icon="edit", on_click=lambda c=camera: camera_dialog(c, self.refresh)).props(
                f'flat round aria-label="{t("cameras.edit")}"'
            ).mark(f"edit-{camera.id}")
            ui.button(icon="delete", on_click=lambda c=camera: delete_dialog(c, self.refresh)).props(
                f'flat round color=negative aria-label="{t("cameras.delete")}"'
            ).mark(f"delete-{camera.id}")

    @staticmethod
    def _state(camera: Camera) -> tuple[Any, ...]:
        status = recorder_status(camera)
        if status is None:
            return (camera.enabled,)
        return camera.enabled, status.state, status.failing_since, status.error

    def update_status(self) -> None:
        """Redraw the badges whose camera changed state since they were drawn."""
        for camera_id, (camera, slot, drawn) in list(self.slots.items()):
            state = self._state(camera)
            if state != drawn:
                slot.clear()
                with slot:
                    status_badge(camera)
                self.slots[camera_id] = (camera, slot, state)


# --- scan the network ----------------------------------------------------------------------------

SCAN_PAGE = "scan"  # the path of a discovery add-on's scan page: /addon/NAME/scan
DISCOVERY_ADDON = "onvif"  # the built-in one, named when none runs


async def scan_page_url() -> str | None:
    """Return the scan page of a running add-on that discovers cameras, or None when none runs."""
    addons = context.appliance().addons
    for addon, addon_page in await addons.pages():
        if addon_page.path == SCAN_PAGE and hasattr(addon.module, "wardcam_discover_cameras"):
            return f"/addon/{addon.name}/{SCAN_PAGE}"
    return None


async def scan_network() -> None:
    """Open the discovery add-on's scan page, or say which add-on to enable for it."""
    if await acting(Permission.MANAGE_CAMERAS) is None:
        return
    url = await scan_page_url()
    if url is not None:
        ui.navigate.to(url)
        return
    builtin = context.appliance().addons.addons.get(DISCOVERY_ADDON)
    title = t(builtin.manifest.title) if builtin is not None and builtin.manifest is not None else DISCOVERY_ADDON
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-md"):
        ui.label(t("cameras.scan.needs_addon_title")).classes(design.H2)
        ui.label(t("cameras.scan.needs_addon", addon=title)).mark("scan-needs-addon")
        with ui.row().classes("w-full justify-end"):
            ui.button(t("action.cancel"), on_click=dialog.close).props("flat")
            ui.button(t("cameras.scan.open_addons"), icon="extension",
                      on_click=lambda: ui.navigate.to("/addons")).mark("open-addons")  # fmt: skip
    open_once(dialog)


# --- add and edit --------------------------------------------------------------------------------


def audio_options() -> dict[str, str]:
    """Return the audio policies with their translated names."""
    return {policy.value: t(f"cameras.audio.{policy.value}") for policy in AudioPolicy}


def _number(value: object) -> object:
    """Return a whole number as an int (ui.number gives floats); anything else as it is, for pydantic."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


async def camera_dialog(camera: Camera | None, done: Callable[[], Any]) -> None:
    """Ask for a camera's settings, try its streams, and save it."""
    sites = {NO_SITE: t("cameras.no_site"), **{s.id: s.name for s in await Site.all()}}
    site_id = camera.site_id if camera is not None else None  # type: ignore[attr-defined]
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-xl"):
        title = t("cameras.edit_title", name=camera.name) if camera else t("cameras.add")
        ui.label(title).classes(design.H2)
        inputs: dict[str, Any] = {
            "name": ui.input(t("field.camera_name"), value=camera.name if camera else "").mark("name"),
            "site_id": ui.select(sites, label=t("field.camera_site"), value=site_id or NO_SITE).mark("site"),
            "main_url": ui.input(t("field.camera_main_url"), value=camera.main_url if camera else "",
                                 placeholder="rtsp://192.168.1.64:554/Streaming/Channels/101").mark("main_url"),
            "sub_url": ui.input(t("field.camera_sub_url"), value=camera.sub_url if camera else "",
                                placeholder="rtsp://192.168.1.64:554/Streaming/Channels/102").props(
                f'hint="{t("cameras.hint.sub_url")}"').mark("sub_url"),
            "username": ui.input(t("field.camera_username"), value=camera.username if camera else "").props(
                "autocomplete=off").mark("username"),
            "password": ui.input(t("field.camera_password"), password=True, password_toggle_button=True).props(
                "autocomplete=new-password").mark("password"),
        }  # fmt: skip
        if camera is not None:
            hint = t("cameras.hint.password_kept") if camera.password else t("cameras.hint.password_none")
            ui.label(hint).classes(design.MUTED).mark("password-hint")
        moved_hint = ui.label(t("cameras.hint.password_moved")).classes(design.ERROR_TEXT).mark("password-moved")
        clear_password = ui.checkbox(t("cameras.clear_password")).mark("clear_password")
        clear_password.set_visibility(bool(camera and camera.password))
        with ui.row().classes("w-full items-start gap-4"):
            inputs["retention_days"] = (
                ui.number(
                    t("field.camera_retention_days"),
                    value=camera.retention_days if camera else 30,
                    min=1,
                    max=3650,
                    step=1,
                    format="%d",
                )
                .classes("w-40")
                .mark("retention_days")
            )
            inputs["audio_policy"] = (
                ui.select(
                    audio_options(),
                    label=t("field.camera_audio_policy"),
                    value=(camera.audio_policy if camera else AudioPolicy.COPY).value,
                )
                .classes("grow")
                .mark("audio_policy")
            )
        inputs["enabled"] = ui.switch(t("field.camera_enabled"), value=camera.enabled if camera else True).mark(
            "enabled"
        )
        for element in inputs.values():
            if isinstance(element, ui.input | ui.select):
                element.classes(design.FORM_FIELD)
        result = ui.column().classes("w-full gap-1").mark("test-result")

        def values() -> dict[str, Any]:
            given = {name: element.value for name, element in inputs.items()}
            given["site_id"] = given["site_id"] or None
            given["password"] = given["password"] or None
            given["retention_days"] = _number(given["retention_days"])
            for required in ("name", "main_url"):
                if not (given[required] or "").strip():
                    del given[required]  # reads as missing
            return given

        def show_errors(errors: dict[str, str]) -> None:
            for name, element in inputs.items():
                element.error = errors.get(name)

        def password_stays_behind() -> bool:
            """Whether the stored password will not go to the addresses typed (another device)."""
            if camera is None or not camera.password:
                return False
            urls = (str(inputs["main_url"].value or "").strip(), str(inputs["sub_url"].value or "").strip())
            return not password_may_follow((camera.main_url, camera.sub_url), urls)

        def show_moved_hint() -> None:
            moved_hint.set_visibility(password_stays_behind() and not inputs["password"].value)

        def password_needed() -> bool:
            """Refuse a blank password for a camera moved to another device, unless it is removed on purpose."""
            if password_stays_behind() and not inputs["password"].value and not clear_password.value:
                show_errors({"password": t("cameras.error.password_again")})
                return True
            return False

        show_moved_hint()
        for name in ("main_url", "sub_url", "password"):
            inputs[name].on_value_change(show_moved_hint)

        async def test() -> None:
            if await acting(Permission.MANAGE_CAMERAS) is None:
                return
            given = values()
            if password_needed():
                return
            trial = {k: given[k] for k in ("main_url", "sub_url", "username") if given.get(k) is not None}
            try:
                data = ConnectionTest.model_validate({**trial, "password": given["password"],
                                                     "camera_id": camera.id if camera else None,
                                                     "clear_password": clear_password.value})  # fmt: skip
            except ValidationError as exc:
                show_errors(field_errors(exc.errors()))
                return
            show_errors({})
            result.clear()
            with result, ui.row().classes("items-center gap-2"):
                ui.spinner(size="sm")
                ui.label(t("cameras.test.running")).classes(design.MUTED)
            test_button.props("loading")
            try:
                report = await try_connection(data)
            finally:
                test_button.props(remove="loading")
            if dialog.is_deleted:  # closed while the camera was being asked
                return
            result.clear()
            with result:
                show_report(report)

        async def save() -> None:
            who = await acting(Permission.MANAGE_CAMERAS)
            if who is None:
                return
            try:
                data = CameraInput.model_validate(values())
            except ValidationError as exc:
                show_errors(field_errors(exc.errors()))
                return
            show_errors({})
            if password_needed():
                return
            service = context.appliance().cameras
            try:
                if camera is None:
                    await service.create_camera(data, who=who, ip=client_ip())
                else:
                    fields = data.model_dump(exclude={"password"})
                    patch = CameraPatch(**fields, password=data.password, clear_password=clear_password.value)
                    await service.update_camera(camera.id, patch, who=who, ip=client_ip())
            except FieldError as exc:
                show_errors({exc.field: t(exc.key, **exc.params)})
                return
            except WardCamError as exc:
                ui.notify(t(exc.key, **exc.params), type="negative")
                return
            ui.notify(t("cameras.saved", name=data.name), type="positive")
            dialog.close()
            await done()

        with ui.row().classes("w-full items-center"):
            test_button = (
                ui.button(t("cameras.test.button"), icon="network_check", on_click=test)
                .props("outline")
                .mark("test-connection")
            )
            ui.space()
            ui.button(t("action.cancel"), on_click=dialog.close).props("flat")
            ui.button(t("action.save"), on_click=save).mark("save-camera")
    open_once(dialog)


def show_report(report: ConnectionReport) -> None:
    """Show what each stream answered, or why it could not be read."""
    show_check(t("cameras.test.main"), report.main)
    if report.sub is not None:
        show_check(t("cameras.test.sub"), report.sub)


def show_check(which: str, check: StreamCheck) -> None:
    with ui.row().classes("items-center gap-2 no-wrap"):
        if check.info is not None:
            info = check.info
            ui.icon("check_circle", color="positive").classes("text-xl")
            summary = stream_summary(info.video_codec, info.width, info.height, info.fps, info.audio_codec)
            ui.label(f"{which}: {summary}")
        else:
            ui.icon("error", color="negative").classes("text-xl")
            ui.label(f"{which}: {t(check.message_key)}").classes("text-negative")


# --- delete --------------------------------------------------------------------------------------


def delete_dialog(camera: Camera, done: Callable[[], Any]) -> None:
    """Ask whether to keep the camera's recordings, then delete the camera."""
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-md"):
        ui.label(t("cameras.delete_title", name=camera.name)).classes(design.H2)
        choice = ui.radio({"keep": t("cameras.delete_keep"), "delete": t("cameras.delete_recordings")},
                          value="keep").mark("recordings")  # fmt: skip

        async def confirm() -> None:
            who = await acting(Permission.MANAGE_CAMERAS)
            if who is None:
                return
            appliance = context.appliance()
            try:
                await appliance.cameras.delete_camera(camera.id, who=who, ip=client_ip())
            except CameraHasEvidence as exc:
                ui.notify(t(exc.key, **exc.params), type="negative", multi_line=True)
                return
            except WardCamError as exc:
                ui.notify(t(exc.key, **exc.params), type="negative")
                return
            if choice.value == "delete":
                await appliance.recorder.delete_recordings(camera.id)
                ui.notify(t("cameras.deleted_with_recordings", name=camera.name), type="positive")
            else:
                ui.notify(t("cameras.deleted", name=camera.name), type="positive")
            dialog.close()
            await done()

        with ui.row().classes("w-full justify-end"):
            ui.button(t("action.cancel"), on_click=dialog.close).props("flat")
            ui.button(t("cameras.delete"), on_click=confirm).props("color=negative").mark("confirm-delete")
    open_once(dialog)
