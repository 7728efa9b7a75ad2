"""Demo mode: a local broker, four synthetic cameras with a visible clock, and sites to match."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack

from appliance.broker import MosquittoBroker
from appliance.db.models.cameras import Camera, Site
from appliance.demo.cameras import SyntheticCameras
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


async def start_demo(stack: AsyncExitStack, settings: Settings) -> list[str]:
    """Start the demo's broker and cameras, and make sure the demo cameras exist in the database."""
    broker = MosquittoBroker(settings.data_dir / "mosquitto")
    await broker.start()
    stack.push_async_callback(broker.stop)
    log.info("demo: mosquitto listening on %s:%d", broker.host, broker.port)

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
