"""Home Assistant MQTT discovery: each WardCam camera appears in Home Assistant as a device, by itself.

A built-in add-on that uses only the public hooks and `ctx.mqtt`: at setup it publishes, retained,
one device per camera (a camera entity fed with JPEG pictures, and binary sensors for motion,
person and online), and keeps their states current from the bus's events (wardcam_event). See
README.md beside this file.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from addons.homeassistant.bridge import Bridge
from addons.homeassistant.config import HomeAssistantOptions
from appliance.addons.context import AddonContext
from appliance.addons.hookspecs import hookimpl
from appliance.addons.manifest import AddonManifest
from appliance.addons.types import AddonPage
from appliance.auth.roles import Permission
from appliance.bus import Event

MANIFEST = AddonManifest(
    name="homeassistant",
    version="1.0.0",
    title="addon.homeassistant.title",
    description="addon.homeassistant.description",
    icon="home",
    options=HomeAssistantOptions,
    builtin=True,
)


@dataclass
class Runtime:
    """What the add-on holds while it runs."""

    ctx: AddonContext
    options: HomeAssistantOptions
    bridge: Bridge


runtime: Runtime | None = None


def running() -> Runtime:
    """Return the running add-on's state; its page is only served while it runs."""
    if runtime is None:
        raise RuntimeError("the Home Assistant add-on is not running")
    return runtime


def box_id(folder: Path) -> str:
    """Return this box's id for Home Assistant (8 hex digits), made once and kept in the add-on's folder.

    It keeps two WardCam boxes on one broker apart, and stays the same across restarts and option
    changes, so Home Assistant keeps its entities (and their history) for the same cameras.
    """
    path = folder / "box-id"
    try:
        value = path.read_text().strip()
    except OSError:
        value = ""
    if len(value) == 8 and all(c in "0123456789abcdef" for c in value):
        return value
    value = secrets.token_hex(4)
    path.write_text(value + "\n")
    return value


@hookimpl
async def wardcam_setup(ctx: AddonContext, options: HomeAssistantOptions) -> None:
    global runtime
    bridge = Bridge(ctx, options, box_id(ctx.data_dir))
    await bridge.start()
    runtime = Runtime(ctx, options, bridge)


@hookimpl
async def wardcam_teardown(ctx: AddonContext) -> None:
    global runtime
    rt, runtime = runtime, None
    if rt is not None:
        await rt.bridge.stop()


@hookimpl
async def wardcam_event(ctx: AddonContext, event: Event) -> None:
    if runtime is not None:
        await runtime.bridge.handle(event)


@hookimpl
def wardcam_pages(ctx: AddonContext) -> list[AddonPage]:
    from addons.homeassistant.page import status_page

    return [AddonPage(path="status", title_key="addon.homeassistant.page_title", build=status_page,
                      access=Permission.MANAGE_ADDONS, icon="home")]  # fmt: skip
