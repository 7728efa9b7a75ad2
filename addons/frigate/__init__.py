"""Frigate: its detections become WardCam's, its snapshots are kept, and its config is made from WardCam's cameras.

A built-in add-on that uses only the public hooks and the add-on context: ctx.mqtt (Frigate's
topics), ctx.detections (storing detections and their snapshots), ctx.audit, ctx.bus (camera
changes, through wardcam_event). Frigate's HTTP API is reached with the client in client.py. The
page /addon/frigate/status shows Frigate's availability, links Frigate's cameras to WardCam's, and
shows, downloads or pushes the generated Frigate config. See README.md beside this file.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from addons.frigate import container, frigate_config
from addons.frigate.client import FrigateClient
from addons.frigate.config import FrigateOptions
from addons.frigate.consumer import FrigateConsumer
from addons.frigate.errors import FrigateNotFound, FrigateProblem
from addons.frigate.mapping import CameraMap
from addons.frigate.snapshots import SnapshotFetcher
from addons.frigate.state import ApiContact, FrigateState, load_remembered, now, save_remembered
from appliance.addons.context import AddonContext
from appliance.addons.hookspecs import hookimpl
from appliance.addons.manifest import AddonManifest
from appliance.addons.types import AddonPage, HealthCheck, HealthResult
from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.bus import CameraChanged, Event
from appliance.db.models.cameras import Camera

MANIFEST = AddonManifest(
    name="frigate",
    version="1.0.0",
    title="addon.frigate.title",
    description="addon.frigate.description",
    icon="center_focus_strong",
    options=FrigateOptions,
    builtin=True,
)
API_CHECK_EVERY_S = 60.0
REMEMBERED_FILE = "frigate-cameras.json"  # in the add-on's folder: Frigate's cameras, for the page after a restart


@dataclass
class Runtime:
    """What the add-on holds while it runs."""

    ctx: AddonContext
    options: FrigateOptions
    client: FrigateClient
    cameras: CameraMap
    state: FrigateState
    consumer: FrigateConsumer
    snapshots: SnapshotFetcher | None

    async def check_api(self) -> ApiContact:
        """Ask Frigate's API for its version and cameras now; note the outcome for the page and health check."""
        contact = ApiContact(at=now())
        try:
            contact.version = await self.client.version()
            contact.cameras = tuple((await self.client.config()).camera_names)
            contact.ok = True
            if contact.cameras != self.state.remembered:
                self.state.remembered = contact.cameras
                await asyncio.to_thread(save_remembered, self.ctx.data_dir / REMEMBERED_FILE, contact.cameras)
        except FrigateProblem as exc:
            contact.error_key, contact.error_params = exc.key, exc.params
            if self.state.api.ok or self.state.api.error_key != exc.key:  # once per change, not every minute
                self.ctx.log.warning("Frigate's API at %s: %s", self.client.base, exc.key)
        self.state.api = contact
        return contact

    async def reload_cameras(self) -> None:
        """Read WardCam's cameras again (one was added, renamed or deleted)."""
        self.cameras.set_cameras(await camera_names())
        if self.options.run_container:  # a new camera's password for the container's next start
            container.prepare(self.ctx, self.options, await camera_sources(), broker_for_frigate(self))


runtime: Runtime | None = None


def running() -> Runtime:
    """Return the running add-on's state; its page is only served while it runs."""
    if runtime is None:
        raise RuntimeError("the Frigate add-on is not running")
    return runtime


async def camera_names() -> dict[int, str]:
    """Return WardCam's cameras, id -> name."""
    return dict(await Camera.all().values_list("id", "name"))


async def camera_sources() -> list[frigate_config.CameraSource]:
    """Return WardCam's cameras as the generated config needs them (passwords stay on the server)."""
    return [
        frigate_config.CameraSource(c.id, c.name, c.main_url, c.sub_url, c.username, c.password)
        for c in await Camera.all().order_by("id")
    ]


def broker_for_frigate(rt: Runtime) -> frigate_config.Broker | None:
    """Return where Frigate should reach the MQTT broker WardCam uses, or None when MQTT is off."""
    address = rt.ctx.mqtt.status.broker
    if not address:
        return None
    parts = urlsplit(address)
    host = rt.options.mqtt_host or parts.hostname or ""
    if not host:
        return None
    default_port = 8883 if parts.scheme == "mqtts" else 1883
    return frigate_config.Broker(host=host, port=parts.port or default_port, user=rt.options.mqtt_user)


async def generated_config(rt: Runtime, *, with_passwords: bool = False) -> dict[str, object]:
    """Return the Frigate config made from WardCam's cameras now."""
    return frigate_config.build(await camera_sources(), broker_for_frigate(rt), rt.options,
                                with_passwords=with_passwords)  # fmt: skip


async def push_config(*, with_passwords: bool, restart: bool, who: Principal | None = None, ip: str = "") -> str:
    """Merge the generated config into Frigate's and save it there (and restart Frigate); audited; return its words.

    With `with_passwords`, the cameras' real passwords go to Frigate (it needs them to open the
    streams); otherwise Frigate must have FRIGATE_CAM_<id>_PASSWORD in its environment.
    """
    rt = running()
    ours = await generated_config(rt, with_passwords=with_passwords)
    detail: dict[str, object] = {"cameras": len(ours["cameras"]), "with_passwords": with_passwords,  # type: ignore[arg-type]
                                 "restart": restart, "frigate": rt.client.base}  # fmt: skip
    try:
        try:
            existing = await rt.client.raw_config()
        except FrigateNotFound:
            existing = ""
        text = frigate_config.render(frigate_config.merge(existing, ours))
        message = await rt.client.save_config(text, restart=restart)
    except FrigateProblem as exc:
        await rt.ctx.audit.record("addon.frigate.config_pushed", who=who, object_type="addon", object_id="frigate",
                                  ip=ip, detail={**detail, "outcome": exc.key})  # fmt: skip
        raise
    await rt.ctx.audit.record("addon.frigate.config_pushed", who=who, object_type="addon", object_id="frigate",
                              ip=ip, detail={**detail, "outcome": "saved"})  # fmt: skip
    rt.ctx.log.info("Frigate config pushed to %s (%d cameras, passwords %s)", rt.client.base, detail["cameras"],
                    "included" if with_passwords else "as placeholders")  # fmt: skip
    return message


async def _check_api_forever(rt: Runtime) -> None:
    while True:
        await rt.check_api()
        await asyncio.sleep(API_CHECK_EVERY_S)


@hookimpl
async def wardcam_setup(ctx: AddonContext, options: FrigateOptions) -> None:
    global runtime
    state = FrigateState(remembered=await asyncio.to_thread(load_remembered, ctx.data_dir / REMEMBERED_FILE))
    client = FrigateClient(options.url, options.username, options.password, timeout_s=options.timeout_s,
                           verify_tls=options.verify_tls)  # fmt: skip
    ctx.stack.push_async_callback(client.close)
    cameras = CameraMap(await camera_names(), options.links)
    snapshots = None
    if options.fetch_snapshots:
        snapshots = SnapshotFetcher(client.event_snapshot, ctx.detections.attach_snapshot)
        snapshots.start()
        ctx.stack.push_async_callback(snapshots.stop)
    consumer = FrigateConsumer(ctx.mqtt, ctx.detections.report, cameras, state, options.topic_prefix, snapshots)
    ctx.stack.push_async_callback(consumer.stop)
    for unsubscribe in consumer.subscribe():
        ctx.stack.callback(unsubscribe)
    rt = Runtime(ctx, options, client, cameras, state, consumer, snapshots)
    if options.run_container:
        container.prepare(ctx, options, await camera_sources(), broker_for_frigate(rt))
        ctx.stack.callback(ctx.host_request, "frigate-container/enabled", False)
    checker = asyncio.get_running_loop().create_task(_check_api_forever(rt), name="frigate api check")
    ctx.stack.push_async_callback(_cancel, checker)
    runtime = rt
    ctx.log.info("Frigate add-on: %s, MQTT topics under %s/", client.base, options.topic_prefix)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@hookimpl
def wardcam_teardown(ctx: AddonContext) -> None:
    global runtime
    runtime = None


@hookimpl
async def wardcam_event(ctx: AddonContext, event: Event) -> None:
    if isinstance(event, CameraChanged) and runtime is not None and runtime.ctx is ctx:
        await runtime.reload_cameras()


@hookimpl
def wardcam_pages(ctx: AddonContext) -> list[AddonPage]:
    from addons.frigate.page import status_page

    return [AddonPage(path="status", title_key="addon.frigate.page_title", build=status_page,
                      access=Permission.MANAGE_ADDONS, icon="center_focus_strong")]  # fmt: skip


async def frigate_health() -> HealthResult:
    """Tell whether Frigate is online (MQTT) and answers (API)."""
    rt = running()
    state = rt.state
    params: dict[str, str | int | float] = {"url": rt.client.base, "version": state.api.version or "—"}
    if state.available is False:
        return HealthResult(ok=False, message_key="addon.frigate.health.offline", params=params)
    if state.api.at is None or not state.api_fresh:
        contact = await rt.check_api()
        if not contact.ok:
            return HealthResult(ok=False, message_key=contact.error_key or "addon.frigate.health.no_answer",
                                params={**params, **contact.error_params})  # fmt: skip
        params["version"] = contact.version
    return HealthResult(ok=True, message_key="addon.frigate.health.ok", params=params)


@hookimpl
def wardcam_health_checks(ctx: AddonContext) -> list[HealthCheck]:
    return [HealthCheck(name_key="addon.frigate.health.name", run=frigate_health)]
