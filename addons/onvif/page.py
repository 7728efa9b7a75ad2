"""/addon/onvif/scan: scan the LAN, read a camera's streams with its password, and add it as a camera.

Changes go through the core's camera service (ctx.cameras), as the Cameras page's do: the same
checks, audit entry and announcement. Each action re-checks the session first (web.guard.acting).
The password typed here is sent only to the camera (inside a WS-Security digest) and to the camera
service; it is never shown back or logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nicegui import ui
from pydantic import ValidationError

from addons import onvif
from addons.onvif.discovery import ProbeMatch
from addons.onvif.errors import OnvifProblem
from appliance.auth.roles import Permission
from appliance.cameras import CameraInput, FieldError, sites_for
from appliance.errors import WardCamError
from appliance.i18n import t
from appliance.validation import field_errors
from web.guard import acting, client_ip

if TYPE_CHECKING:
    from addons.onvif.client import CameraDetails, StreamProfile

NO_SITE = 0
MUTED = "text-sm text-grey-7"
ERROR = "text-negative text-sm"
HEADING = "text-lg font-semibold text-grey-8"
CELL = "min-w-0 break-words"
RESULT_COLUMNS = "w-full grid grid-cols-[2fr_2fr_2fr_auto] gap-x-4 gap-y-2 items-center"
PROFILE_COLUMNS = "w-full grid grid-cols-[1.5fr_1fr_1fr_1fr_auto] gap-x-3 gap-y-1 items-center text-sm"


def scan_page() -> None:
    """Draw the scan page."""
    ScanView().draw()


class ScanView:
    """The Scan button with its progress, and the cameras that answered."""

    def draw(self) -> None:
        ui.label(t("addon.onvif.intro")).classes(MUTED)
        with ui.row().classes("w-full items-center gap-4"):
            self.button = ui.button(t("addon.onvif.scan"), icon="radar", on_click=self.scan).mark("onvif-scan")
            self.status = ui.label("").classes(MUTED).mark("onvif-status")
        self.progress = ui.linear_progress(value=0, show_value=False).props("rounded").mark("onvif-progress")
        self.progress.set_visibility(False)
        self.results = ui.column().classes("w-full gap-2").mark("onvif-results")

    async def scan(self) -> None:
        """Probe the network and list what answered."""
        if await acting(Permission.MANAGE_CAMERAS) is None:
            return
        options = onvif.running().options
        self.button.props("loading")
        self.progress.set_value(0)
        self.progress.set_visibility(True)
        self.status.set_text(t("addon.onvif.scanning", seconds=f"{options.scan_timeout_s:g}"))
        self.results.clear()
        try:
            found = await onvif.scan(options, self.show_progress)
        except OnvifProblem as exc:
            self.status.set_text(t(exc.key, **exc.params))
            self.status.classes(replace=ERROR)
            return
        finally:
            self.button.props(remove="loading")
            self.progress.set_visibility(False)
        self.status.classes(replace=MUTED)
        self.status.set_text(t("addon.onvif.found", count=len(found)) if found else t("addon.onvif.none_found"))
        with self.results:
            if found:
                self.draw_results(found)

    def show_progress(self, fraction: float) -> None:
        self.progress.set_value(fraction)

    def draw_results(self, found: list[ProbeMatch]) -> None:
        with ui.element("div").classes(RESULT_COLUMNS):
            for header in ("addon.onvif.column.name", "addon.onvif.column.address", "addon.onvif.column.model"):
                ui.label(t(header)).classes("font-semibold text-grey-8")
            ui.label("")
            for index, match in enumerate(found):
                ui.label(match.name).classes(CELL).mark(f"onvif-name-{index}")
                ui.label(f"{match.host}:{match.port}").classes(CELL).mark(f"onvif-address-{index}")
                maker = " ".join(part for part in (match.manufacturer, match.model) if part)
                ui.label(maker or "—").classes(CELL)
                ui.button(t("addon.onvif.connect"), icon="key", on_click=lambda m=match: connect_dialog(m)).props(
                    "outline dense"
                ).mark(f"onvif-connect-{index}")


def _open_once(dialog: ui.dialog) -> None:
    """Open a dialog that is deleted when it closes, so that nothing typed in it stays in the page."""
    dialog.on_value_change(lambda e: None if e.value else dialog.delete())
    dialog.open()


def connect_dialog(match: ProbeMatch) -> None:
    """Ask for the camera's username and password, show its streams, and add it."""
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-3xl"):
        ui.label(t("addon.onvif.connect_title", name=match.name)).classes(HEADING)
        ui.label(t("addon.onvif.connect_help", address=f"{match.host}:{match.port}")).classes(MUTED)
        username = ui.input(t("addon.onvif.username"), value="admin").props("autocomplete=off")
        username.classes("w-full").mark("onvif-username")
        password = ui.input(t("addon.onvif.password"), password=True, password_toggle_button=True)
        password.props("autocomplete=new-password").classes("w-full").mark("onvif-password")
        read_button = ui.button(t("addon.onvif.read"), icon="video_settings").props("outline").mark("onvif-read")
        problem = ui.label("").classes(ERROR).mark("onvif-error")
        details_box = ui.column().classes("w-full gap-2").mark("onvif-details")
        with ui.row().classes("w-full items-center justify-end gap-2"):
            ui.button(t("action.cancel"), on_click=dialog.close).props("flat")
            actions = ui.row().classes("items-center")

        async def read() -> None:
            who = await acting(Permission.MANAGE_CAMERAS)
            if who is None:
                return
            if not (username.value or "").strip():
                username.error = t("addon.onvif.username_needed")
                return
            username.error = None
            problem.set_text("")
            details_box.clear()
            actions.clear()
            account = (username.value.strip(), password.value or "")  # what the camera accepted is what is stored
            with details_box, ui.row().classes("items-center gap-2"):
                ui.spinner(size="sm")
                ui.label(t("addon.onvif.reading")).classes(MUTED)
            read_button.props("loading")
            try:
                from addons.onvif.client import read_camera  # the SOAP client loads on first use

                details = await read_camera(match.device_url, *account, onvif.running().options.request_timeout_s)
            except OnvifProblem as exc:
                if not dialog.is_deleted:
                    details_box.clear()
                    problem.set_text(t(exc.key, **exc.params))
                return
            finally:
                if not dialog.is_deleted:
                    read_button.props(remove="loading")
            if dialog.is_deleted:  # closed while the camera was being asked
                return
            details_box.clear()
            sites = {NO_SITE: t("addon.onvif.no_site"), **{s.id: s.name for s in await sites_for(who)}}
            add_form(details, match, account, sites, dialog, details_box, actions)

        read_button.on_click(read)
    _open_once(dialog)


def add_form(details: CameraDetails, match: ProbeMatch, account: tuple[str, str], sites: dict[int, str],
             dialog: ui.dialog, box: ui.column, actions: ui.row) -> None:  # fmt: skip
    """Show the camera's profiles, which become main and sub, the name and site to add it under, and Add."""
    with box:
        main, sub, name, site, add_problem = profiles_and_names(details, match, sites)

    async def add() -> None:
        who = await acting(Permission.MANAGE_CAMERAS)
        if who is None:
            return
        name.error = None
        add_problem.set_text("")
        username, password = account
        values = {"name": name.value, "site_id": site.value or None, "main_url": main.uri,
                  "sub_url": sub.uri if sub else "", "username": username, "password": password or None}  # fmt: skip
        try:
            data = CameraInput.model_validate(values)
        except ValidationError as exc:
            errors = field_errors(exc.errors())
            name.error = errors.pop("name", None)
            if errors:  # the camera gave a stream URL or a username WardCam cannot use
                add_problem.set_text(t("addon.onvif.unusable", problem=next(iter(errors.values()))))
            return
        try:
            camera = await onvif.running().ctx.cameras.create_camera(data, who=who, ip=client_ip())
        except FieldError as exc:
            if exc.field == "name":
                name.error = t(exc.key, **exc.params)
            else:
                add_problem.set_text(t(exc.key, **exc.params))
            return
        except WardCamError as exc:
            add_problem.set_text(t(exc.key, **exc.params))
            return
        ui.notify(t("addon.onvif.added", name=camera.name), type="positive")
        dialog.close()

    with actions:
        ui.button(t("addon.onvif.add"), icon="add_a_photo", on_click=add).mark("onvif-add")


def profiles_and_names(
    details: CameraDetails, match: ProbeMatch, sites: dict[int, str]
) -> tuple[StreamProfile, StreamProfile | None, ui.input, ui.select, ui.label]:
    """Draw the profiles with the main and sub marked, and the name and site fields."""
    main, sub = details.main, details.sub
    maker = " ".join(part for part in (details.manufacturer, details.model) if part)
    if maker:
        ui.label(t("addon.onvif.device", device=maker, firmware=details.firmware or "—")).classes(MUTED)
    ui.label(t("addon.onvif.profiles")).classes("font-semibold")
    with ui.element("div").classes(PROFILE_COLUMNS).mark("onvif-profiles"):
        for header in ("profile", "resolution", "codec", "fps"):
            ui.label(t(f"addon.onvif.column.{header}")).classes("font-semibold text-grey-8")
        ui.label("")
        for profile in details.profiles:
            ui.label(profile.name).classes(CELL)
            ui.label(profile.resolution)
            ui.label(profile.codec)
            ui.label(f"{profile.fps:g}" if profile.fps else "—")
            role = "main" if profile is main else "sub" if profile is sub else ""
            if role:
                ui.badge(t(f"addon.onvif.role.{role}"), color="primary" if role == "main" else "secondary")
            else:
                ui.label("")
    ui.label(t("addon.onvif.main_url", url=main.uri)).classes(f"{MUTED} break-all").mark("onvif-main-url")
    if sub is not None:
        ui.label(t("addon.onvif.sub_url", url=sub.uri)).classes(f"{MUTED} break-all").mark("onvif-sub-url")

    suggested = match.scope("name") or " ".join(p for p in (details.model or match.model, match.host) if p)
    with ui.row().classes("w-full items-start gap-4"):
        name = ui.input(t("addon.onvif.camera_name"), value=suggested).classes("grow").mark("onvif-camera-name")
        site = ui.select(sites, label=t("addon.onvif.site"), value=NO_SITE).classes("w-64").mark("onvif-site")
    add_problem = ui.label("").classes(ERROR).mark("onvif-add-error")
    return main, sub, name, site, add_problem
