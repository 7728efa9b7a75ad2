"""Built-in motion detection, for boxes without Frigate: each camera's sub stream, small and slow, compared in numpy.

It uses only the public hooks and the AddonContext: the cameras it watches come from the database
and CameraChanged events, its detections (label `motion`) go through ctx.detections with a
snapshot, and each camera's sensitivity, minimum area, zones and masks are drawn on
/addon/motion/cameras. How it works and what it costs: README.md beside this file.
"""

from __future__ import annotations

from dataclasses import dataclass

from addons.motion.config import CameraMotion, CameraSettingsStore, MotionOptions
from addons.motion.watcher import MotionDetection
from appliance.addons.context import AddonContext
from appliance.addons.hookspecs import hookimpl
from appliance.addons.manifest import AddonManifest
from appliance.addons.types import AddonPage, HealthCheck, HealthResult
from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.bus import CameraChanged, Event
from appliance.live.worker import LiveState

MANIFEST = AddonManifest(
    name="motion",
    version="1.0.0",
    title="addon.motion.title",
    description="addon.motion.description",
    icon="directions_run",
    options=MotionOptions,
    builtin=True,
)


@dataclass
class Runtime:
    """What the add-on holds while it runs."""

    ctx: AddonContext
    options: MotionOptions
    detection: MotionDetection


runtime: Runtime | None = None


def running() -> Runtime:
    """Return the running add-on's state; its page is only served while it runs."""
    if runtime is None:
        raise RuntimeError("the motion detection add-on is not running")
    return runtime


async def save_settings(camera_id: int, settings: CameraMotion, who: Principal | None = None, ip: str = "") -> None:
    """Keep a camera's motion settings, apply them at once, and write who changed them to the audit log."""
    rt = running()
    await rt.detection.save(camera_id, settings)
    detail = {"enabled": settings.enabled, "sensitivity": settings.sensitivity, "min_area_pct": settings.min_area_pct,
              "zones": [zone.name for zone in settings.zones], "masks": len(settings.masks)}  # fmt: skip
    await rt.ctx.audit.record("addon.motion.settings_changed", who=who, object_type="camera", object_id=camera_id,
                              ip=ip, detail=detail)  # fmt: skip
    rt.ctx.log.info("camera %d: motion settings changed", camera_id)


@hookimpl
async def wardcam_setup(ctx: AddonContext, options: MotionOptions) -> None:
    global runtime
    detection = MotionDetection(options, CameraSettingsStore(ctx.data_dir), lambda: ctx.detections)
    await detection.start()
    ctx.stack.push_async_callback(detection.stop)
    runtime = Runtime(ctx, options, detection)


@hookimpl
def wardcam_teardown(ctx: AddonContext) -> None:
    global runtime
    runtime = None


@hookimpl
async def wardcam_event(ctx: AddonContext, event: Event) -> None:
    if isinstance(event, CameraChanged) and runtime is not None:
        await runtime.detection.camera_changed(event)


@hookimpl
def wardcam_pages(ctx: AddonContext) -> list[AddonPage]:
    from addons.motion.page import cameras_page

    return [AddonPage(path="cameras", title_key="addon.motion.page_title", build=cameras_page,
                      access=Permission.MANAGE_CAMERAS, icon="directions_run")]  # fmt: skip


async def watching_health() -> HealthResult:
    """Tell how many cameras motion detection watches, and how many of them it cannot read."""
    watches = running().detection.watches.values()
    failing = sum(1 for watch in watches if watch.source.state == LiveState.FAILING)
    params: dict[str, str | int | float] = {"count": len(watches), "failing": failing}
    if failing:
        return HealthResult(ok=False, message_key="addon.motion.health.failing", params=params)
    return HealthResult(ok=True, message_key="addon.motion.health.ok", params=params)


@hookimpl
def wardcam_health_checks(ctx: AddonContext) -> list[HealthCheck]:
    return [HealthCheck(name_key="addon.motion.health.name", run=watching_health)]
