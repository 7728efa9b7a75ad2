"""Demo mode: four synthetic cameras with a visible clock, sites to match, and the built-in broker switched on.

The demo's MQTT broker is the built-in "Mosquitto broker" add-on, as on a real box: it is enabled the
first time the demo starts (with port 1883, or a free port when 1883 is taken), and staff may
disable it like any add-on. The MQTT settings' default, "use the built-in broker", then connects to it.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack

from appliance.db.models.addons import AddonState
from appliance.db.models.cameras import Camera, Site
from appliance.demo.cameras import SyntheticCameras
from appliance.net import free_port, port_open
from appliance.settings import Settings

log = logging.getLogger(__name__)

DEMO_SITES = [
    ("Ngã tư Lê Lợi – Trần Hưng Đạo", "Ngã tư Lê Lợi – Trần Hưng Đạo", 21.0245, 105.8412),
    ("Hẻm 12 Nguyễn Trãi", "Hẻm 12 Nguyễn Trãi", 21.0231, 105.8440),
]
DEMO_CAMERAS = [
    ("Ngã tư – hướng Bắc", 0),
    ("Ngã tư – hướng Nam", 0),
    ("Hẻm 12 – đầu hẻm", 1),
    ("Hẻm 12 – cuối hẻm", 1),
]


BROKER_ADDON = "mosquitto"
MQTT_PORT = 1883


async def enable_builtin_broker() -> None:
    """Enable the built-in broker add-on the first time the demo starts (the add-ons start after the demo)."""
    port = MQTT_PORT if not port_open("127.0.0.1", MQTT_PORT) else free_port()
    _, created = await AddonState.get_or_create(name=BROKER_ADDON, defaults={"enabled": True,
                                                                            "options": {"port": port}})  # fmt: skip
    if created:
        log.info("demo: the built-in MQTT broker is enabled (port %d)", port)


async def start_demo(stack: AsyncExitStack, settings: Settings) -> list[str]:
    """Start the demo's cameras, make sure they exist in the database, and switch the built-in broker on."""
    await enable_builtin_broker()

    cameras = SyntheticCameras(len(DEMO_CAMERAS))
    await cameras.start()
    stack.push_async_callback(cameras.stop)
    log.info("demo: %d synthetic cameras on rtsp://127.0.0.1:%d", len(cameras.urls), cameras.port)

    sites = []
    for name, address, lat, lon in DEMO_SITES:
        site, _ = await Site.get_or_create(name=name, defaults={"address": address, "latitude": lat, "longitude": lon})
        sites.append(site)
    for (name, site_index), url in zip(DEMO_CAMERAS, cameras.urls, strict=True):
        camera, created = await Camera.get_or_create(name=name, defaults={"main_url": url, "site": sites[site_index]})
        if not created and camera.main_url != url:  # the camera server picks a new port each start
            camera.main_url = url
            await camera.save(update_fields=["main_url", "updated_at"])
    return cameras.urls
