"""ONVIF discovery: find the cameras on the LAN, read their streams with their password, add them.

A built-in add-on that uses only the public hooks: a page (/addon/onvif/scan) for staff who manage
cameras, and wardcam_discover_cameras for any part of the panel that offers "Scan network". The
SOAP client (onvif-zeep-async) is imported only when a camera is asked, so that the appliance
starts as fast without it.
"""

from __future__ import annotations

from dataclasses import dataclass

from addons.onvif import discovery
from addons.onvif.config import OnvifOptions
from addons.onvif.errors import NetworkUnavailable
from appliance.addons.context import AddonContext
from appliance.addons.hookspecs import hookimpl
from appliance.addons.manifest import AddonManifest
from appliance.addons.types import AddonPage, DiscoveredCamera, Progress
from appliance.auth.roles import Permission

MANIFEST = AddonManifest(
    name="onvif",
    version="1.0.0",
    title="addon.onvif.title",
    description="addon.onvif.description",
    icon="travel_explore",
    options=OnvifOptions,
    builtin=True,
)


@dataclass
class Runtime:
    """What the add-on holds while it runs."""

    ctx: AddonContext
    options: OnvifOptions


runtime: Runtime | None = None


def running() -> Runtime:
    """Return the running add-on's state; the page is only served while it runs."""
    if runtime is None:
        raise RuntimeError("the ONVIF add-on is not running")
    return runtime


async def scan(options: OnvifOptions, progress: Progress | None = None) -> list[discovery.ProbeMatch]:
    """Probe the network as the options say; NetworkUnavailable when the probe cannot be sent."""
    try:
        return await discovery.scan(options.scan_timeout_s, progress, str(options.probe_address), options.probe_port)
    except (OSError, discovery.ProbeNotSent) as exc:
        raise NetworkUnavailable() from exc


@hookimpl
def wardcam_setup(ctx: AddonContext, options: OnvifOptions) -> None:
    global runtime
    runtime = Runtime(ctx, options)
    ctx.log.info("ONVIF discovery ready (probe to %s:%d)", options.probe_address, options.probe_port)


@hookimpl
def wardcam_teardown(ctx: AddonContext) -> None:
    global runtime
    runtime = None


@hookimpl
def wardcam_pages(ctx: AddonContext) -> list[AddonPage]:
    from addons.onvif.page import scan_page

    return [
        AddonPage(
            path="scan",
            title_key="addon.onvif.page_title",
            build=scan_page,
            access=Permission.MANAGE_CAMERAS,
            icon="travel_explore",
        )
    ]


@hookimpl
async def wardcam_discover_cameras(ctx: AddonContext, progress: Progress) -> list[DiscoveredCamera]:
    try:
        found = await scan(running().options, progress)
    except NetworkUnavailable:  # a scan that could not be sent finds nothing; the add-on goes on
        ctx.log.warning("ONVIF scan: the probe could not be sent (no network?)")
        return []
    return [
        DiscoveredCamera(
            name=match.name,
            host=match.host,
            manufacturer=match.manufacturer,
            model=match.model,
            source=ctx.name,
        )
        for match in found
    ]
