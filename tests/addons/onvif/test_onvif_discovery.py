"""Scan network: a WS-Discovery probe over real UDP, answered by a fake camera on loopback."""

from __future__ import annotations

import asyncio

from addons.onvif import discovery
from appliance.addons.manager import AddonManager, AddonStatus
from appliance.i18n import t
from tests.addons.onvif.fake_camera import discovery_responder

DEVICE = "http://127.0.0.1:8080/onvif/device_service"


async def test_a_scan_finds_the_camera_with_its_name_model_and_address() -> None:
    seen: list[float] = []
    async with discovery_responder([DEVICE]) as responder:
        found = await discovery.scan(0.6, seen.append, "127.0.0.1", responder.port)
    assert len(found) == 1
    camera = found[0]
    assert (camera.name, camera.model, camera.manufacturer) == ("Ngã tư Lê Lợi", "DS-2CD2143G2-I", "HIKVISION")
    assert (camera.host, camera.port, camera.device_url) == ("127.0.0.1", 8080, DEVICE)
    assert camera.endpoint == responder.protocol.endpoints[0]
    # the probe went out twice, as SOAP-over-UDP asks, and the camera that answered both is listed once
    assert len(responder.protocol.probes) == 2 and len(set(responder.protocol.probes)) == 1


async def test_progress_runs_from_zero_to_one_while_the_scan_listens() -> None:
    seen: list[float] = []
    async with discovery_responder([DEVICE]) as responder:
        await discovery.scan(0.6, seen.append, "127.0.0.1", responder.port)
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert seen == sorted(seen)
    assert len([f for f in seen if 0 < f < 1]) >= 3  # the bar moves, it does not jump from empty to full


async def test_answers_to_someone_elses_probe_and_garbage_are_ignored() -> None:
    async with discovery_responder([DEVICE], noise=True) as responder:
        found = await discovery.scan(0.5, None, "127.0.0.1", responder.port)
    assert [c.device_url for c in found] == [DEVICE]


async def test_several_cameras_are_listed_in_address_order() -> None:
    devices = ["http://127.0.0.12/onvif/device_service", "http://127.0.0.3:8000/onvif/device_service"]
    async with discovery_responder(devices) as responder:
        found = await discovery.scan(0.5, None, "127.0.0.1", responder.port)
    assert [(c.host, c.port) for c in found] == [("127.0.0.3", 8000), ("127.0.0.12", 80)]


async def test_a_scan_nobody_answers_finds_nothing_when_its_time_is_up() -> None:
    async with discovery_responder([DEVICE]) as responder:
        port = responder.port
    loop = asyncio.get_running_loop()
    start = loop.time()
    found = await discovery.scan(0.5, None, "127.0.0.1", port)  # the responder is gone
    assert found == []
    assert 0.5 <= loop.time() - start < 1.0


async def test_the_addon_answers_scan_network_for_the_whole_panel(manager: AddonManager) -> None:
    async with discovery_responder([DEVICE]) as responder:
        await manager.configure("onvif", {"probe_address": "127.0.0.1", "probe_port": responder.port,
                                          "scan_timeout_s": 0.5})  # fmt: skip
        await manager.enable("onvif")
        seen: list[float] = []
        found = await manager.discover_cameras(seen.append)
    assert [(c.name, c.host, c.manufacturer, c.model, c.source) for c in found] == [
        ("Ngã tư Lê Lợi", "127.0.0.1", "HIKVISION", "DS-2CD2143G2-I", "onvif")
    ]
    assert seen[-1] == 1.0
    assert manager.get("onvif").status == AddonStatus.RUNNING


async def test_the_builtin_addon_is_listed_with_its_translated_title(manager: AddonManager) -> None:
    addon = manager.get("onvif")
    assert addon.origin == "builtin" and addon.manifest is not None
    assert t(addon.manifest.title) == "Tìm camera ONVIF"
    assert t(addon.manifest.title, "en") == "ONVIF camera discovery"
