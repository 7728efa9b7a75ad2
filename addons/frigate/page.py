"""/addon/frigate/status: Frigate's availability, links from Frigate's cameras to WardCam's, and the Frigate config.

The config shown and downloaded never holds a password: Frigate's `{FRIGATE_...}` placeholders stand
in for them. Pushing it to Frigate asks first, and only puts the cameras' real passwords in when
staff tick the box for it; each push is audited. Saving the camera links stores them in the
add-on's options (as the Add-ons page does), which restarts the add-on with them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from nicegui import ui

import addons.frigate as frigate
from addons.frigate import frigate_config
from addons.frigate.errors import FrigateProblem
from addons.frigate.mapping import format_links
from appliance.addons.options import dump
from appliance.auth.roles import Permission
from appliance.errors import WardCamError
from appliance.i18n import t
from web import design
from web.components.dialogs import open_once
from web.guard import acting, client_ip

AUTO = "auto"
NONE = "none"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
ROW = "w-full grid grid-cols-[1.2fr_2fr_1fr_1fr] gap-x-4 gap-y-2 items-center"


def when(moment: datetime | None) -> str:
    """Return a moment as local time, or a dash."""
    return moment.astimezone().strftime("%H:%M:%S %d/%m/%Y") if moment else "—"


class Parts:
    """The refreshable parts of one open page.

    Refreshables of the page's own: a module-level one refreshes every page that ever drew it, open or
    gone (a timer on one page then failed on a page the simulated user had left).
    """

    @ui.refreshable_method
    def status_box(self) -> None:
        draw_status(self)

    @ui.refreshable_method
    def links_box(self) -> None:
        draw_links(self)

    @ui.refreshable_method
    async def config_box(self) -> None:
        await draw_config()


async def status_page() -> None:
    """Draw the page: status, camera links, Frigate config."""
    parts = Parts()
    ui.label(t("addon.frigate.intro")).classes(design.MUTED)
    ui.label(t("addon.frigate.status_title")).classes(design.H2)
    parts.status_box()

    async def refresh_status() -> None:  # awaited: a refresh left to run later could outlive the page
        await parts.status_box.refresh()

    ui.timer(2.0, refresh_status)
    ui.label(t("addon.frigate.links_title")).classes(design.H2)
    ui.label(t("addon.frigate.links_help")).classes(design.MUTED)
    parts.links_box()
    ui.label(t("addon.frigate.config_title")).classes(design.H2)
    await parts.config_box()


# --- status -------------------------------------------------------------------------------------


def availability_text(rt: frigate.Runtime) -> str:
    """Return what Frigate said on MQTT, in plain words."""
    state = rt.state
    if state.available is None:
        return t("addon.frigate.available.unknown", topic=f"{rt.options.topic_prefix}/available")
    key = "addon.frigate.available.online" if state.available else "addon.frigate.available.offline"
    return t(key, since=when(state.available_since))


def api_text(rt: frigate.Runtime) -> str:
    """Return the outcome of the last API contact, in plain words."""
    api = rt.state.api
    if api.at is None:
        return t("addon.frigate.api.not_yet", url=rt.client.base)
    if api.ok:
        return t("addon.frigate.api.ok", at=when(api.at), version=api.version, cameras=len(api.cameras))
    return t("addon.frigate.api.failed", at=when(api.at), problem=t(api.error_key, **api.error_params))


def draw_status(parts: Parts) -> None:
    """Draw Frigate's availability, the last API contact, the MQTT connection and the counters."""
    rt = frigate.runtime
    if rt is None:
        ui.label(t("addon.frigate.not_running")).classes(design.ERROR_TEXT)
        return
    state = rt.state
    with ui.card().classes(design.CARD), ui.column().classes("gap-1"):
        said = {True: "text-positive", False: "text-negative", None: "text-warning"}[state.available]
        ui.label(availability_text(rt)).classes(f"font-medium {said}").mark("frigate-available")
        answered = "text-positive" if state.api.ok else "text-negative" if state.api.at else ""
        ui.label(api_text(rt)).classes(answered).mark("frigate-api")
        ui.label(t("addon.frigate.mqtt", state=rt.ctx.mqtt.status.text())).classes(design.MUTED).mark("frigate-mqtt")
        snapshots = rt.snapshots.counts if rt.snapshots else None
        ui.label(t("addon.frigate.counters", received=state.events_received, stored=state.events_stored,
                   malformed=state.malformed, snapshots=snapshots.kept if snapshots else 0,
                   reviews=state.reviews_received)).classes(design.MUTED).mark("frigate-counters")  # fmt: skip
        ui.button(t("addon.frigate.check_now"), icon="refresh", on_click=lambda: check_now(parts)).props(
            "outline dense"
        ).mark("frigate-check")


async def check_now(parts: Parts) -> None:
    """Ask Frigate's API now and show the outcome."""
    if await acting(Permission.MANAGE_ADDONS) is None or frigate.runtime is None:
        return
    contact = await frigate.runtime.check_api()
    if contact.ok:
        ui.notify(t("addon.frigate.api.ok", at=when(contact.at), version=contact.version,
                    cameras=len(contact.cameras)), type="positive")  # fmt: skip
    else:
        ui.notify(t(contact.error_key, **contact.error_params), type="negative")
    await parts.status_box.refresh()
    await parts.links_box.refresh()


# --- camera links -------------------------------------------------------------------------------


def draw_links(parts: Parts) -> None:
    """Draw one row per Frigate camera: the WardCam camera it is, how it was found, and its health."""
    rt = frigate.runtime
    if rt is None:
        return
    names = sorted(set(rt.state.known_cameras()) | set(rt.options.links))
    if not names:
        ui.label(t("addon.frigate.links_none")).classes(design.MUTED).mark("frigate-links-none")
        return
    choices: dict[str, str] = {AUTO: t("addon.frigate.link.auto"), NONE: t("addon.frigate.link.none")}
    choices.update({str(cid): name for cid, name in sorted(rt.cameras.cameras.items(), key=lambda c: c[1])})
    selects: dict[str, ui.select] = {}
    with ui.element("div").classes(ROW).mark("frigate-links"):
        for header in ("frigate", "wardcam", "found", "health"):
            ui.label(t(f"addon.frigate.column.{header}")).classes("font-semibold text-grey-8")
        for name in names:
            camera_id, how = rt.cameras.resolve(name)
            linked = rt.options.links
            value = AUTO if name not in linked else (NONE if linked[name] is None else str(linked[name]))
            ui.label(name).classes("break-all").mark(f"frigate-camera-{name}")
            select = ui.select(choices, value=value).classes("w-full").props(f"data-frigate-camera={name}")
            selects[name] = select.mark(f"frigate-link-{name}")
            found = rt.cameras.cameras.get(camera_id, "") if camera_id is not None else ""
            ui.label(t(f"addon.frigate.found.{how}", camera=found)).classes(design.MUTED).mark(f"frigate-found-{name}")
            ui.label(health_text(rt, name)).classes(design.MUTED)

    async def save() -> None:
        who = await acting(Permission.MANAGE_ADDONS)
        if who is None or frigate.runtime is None:
            return
        links: dict[str, int | None] = {}
        for name, select in selects.items():
            if select.value == NONE:
                links[name] = None
            elif select.value not in (AUTO, None):
                links[name] = int(select.value)
        values: dict[str, Any] = {**dump(frigate.runtime.options), "camera_links": format_links(links)}
        try:
            await frigate.running().ctx.save_options(values, who, client_ip())
        except WardCamError as exc:
            ui.notify(t(exc.key, **exc.params), type="negative")
            return
        ui.notify(t("addon.frigate.links_saved"), type="positive")
        await parts.links_box.refresh()
        await parts.config_box.refresh()

    ui.button(t("addon.frigate.links_save"), icon="save", on_click=save).mark("frigate-links-save")


def health_text(rt: frigate.Runtime, name: str) -> str:
    """Return a Frigate camera's detect health and its last event, in plain words."""
    entry = rt.state.cameras.get(name)
    if entry is None:
        return t("addon.frigate.health_unknown")
    detect = entry.status.get("detect")
    state = t(f"addon.frigate.camera_state.{detect}") if detect else t("addon.frigate.camera_state.unknown")
    return t("addon.frigate.health_row", state=state, last=when(entry.last_event))


# --- the Frigate config -------------------------------------------------------------------------


async def draw_config() -> None:
    """Draw the generated config (placeholders for passwords), what Frigate needs besides, and the actions."""
    rt = frigate.runtime
    if rt is None:
        return
    sources = await frigate.camera_sources()
    if not sources:
        ui.label(t("addon.frigate.config_no_cameras")).classes(design.MUTED).mark("frigate-config-empty")
        return
    broker = frigate.broker_for_frigate(rt)
    text = frigate_config.render(await frigate.generated_config(rt))
    ui.label(t("addon.frigate.config_help")).classes(design.MUTED)
    if broker is None:
        ui.label(t("addon.frigate.config_no_mqtt")).classes(design.ERROR_TEXT).mark("frigate-config-no-mqtt")
    elif broker.host in LOOPBACK and urlsplit(rt.options.url).hostname not in LOOPBACK:
        ui.label(t("addon.frigate.config_loopback_broker")).classes(design.ERROR_TEXT).mark("frigate-config-loopback")
    ui.code(text, language="yaml").classes("w-full").mark("frigate-config-yaml")
    variables = [(frigate_config.password_variable(c.id), t("addon.frigate.variable.camera", camera=c.name))
                 for c in sources if c.password]  # fmt: skip
    if broker is not None and broker.user:
        variables.append((frigate_config.MQTT_PASSWORD_VARIABLE, t("addon.frigate.variable.mqtt", user=broker.user)))
    if variables:
        ui.label(t("addon.frigate.variables_help")).classes(design.MUTED)
        with ui.column().classes("gap-0").mark("frigate-variables"):
            for name, what in variables:
                ui.label(f"{name} — {what}").classes("font-mono text-sm")
    with ui.row().classes("gap-2"):
        ui.button(t("addon.frigate.download"), icon="download",
                  on_click=lambda: download(text)).props("outline").mark("frigate-download")  # fmt: skip
        ui.button(t("addon.frigate.push"), icon="upload", on_click=push_dialog).mark("frigate-push")


async def download(text: str) -> None:
    """Send the config (placeholders only) to the browser as frigate.yml."""
    if await acting(Permission.MANAGE_ADDONS) is None:
        return
    ui.download.content(text.encode(), "frigate.yml", "application/yaml")
    ui.notify(t("addon.frigate.downloaded"), type="info")


def push_dialog() -> None:
    """Ask before replacing WardCam's parts of Frigate's config; the cameras' passwords only when ticked."""
    rt = frigate.runtime
    if rt is None:
        return
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-xl gap-3"):
        ui.label(t("addon.frigate.push_title", url=rt.client.base)).classes(design.H2)
        ui.label(t("addon.frigate.push_help")).classes(design.MUTED)
        with_passwords = ui.checkbox(t("addon.frigate.push_with_passwords")).mark("frigate-push-passwords")
        ui.label(t("addon.frigate.push_passwords_help")).classes(design.MUTED)
        restart = ui.checkbox(t("addon.frigate.push_restart"), value=True).mark("frigate-push-restart")
        problem = ui.label("").classes(design.ERROR_TEXT).mark("frigate-push-error")
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button(t("action.cancel"), on_click=dialog.close).props("flat")
            confirm = ui.button(t("addon.frigate.push_confirm"), icon="upload").mark("frigate-push-confirm")

        async def push() -> None:
            who = await acting(Permission.MANAGE_ADDONS)
            if who is None:
                return
            if with_passwords.value and not who.can(Permission.MANAGE_CAMERAS):
                ui.notify(t("error.forbidden"), type="negative")
                return
            problem.set_text("")
            confirm.props("loading")
            try:
                message = await frigate.push_config(with_passwords=bool(with_passwords.value),
                                                    restart=bool(restart.value), who=who, ip=client_ip())  # fmt: skip
            except FrigateProblem as exc:
                if not dialog.is_deleted:
                    problem.set_text(t(exc.key, **exc.params))
                    confirm.props(remove="loading")
                return
            ui.notify(t("addon.frigate.pushed", message=message[:200]), type="positive")
            dialog.close()

        confirm.on_click(push)
    open_once(dialog)
