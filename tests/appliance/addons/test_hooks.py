"""Each hook of the contract, called through the manager for running add-ons only."""

from __future__ import annotations

from fastapi import APIRouter

from appliance.addons.context import AddonContext
from appliance.addons.manager import AddonManager
from appliance.addons.types import (
    AddonPage,
    AddonRoutes,
    DiscoveredCamera,
    HealthCheck,
    HealthResult,
    NotificationService,
    Progress,
)
from appliance.auth.roles import Permission
from tests.appliance.addons.conftest import make_addon


async def test_wardcam_pages_are_collected_from_running_addons_only(manager: AddonManager) -> None:
    def wardcam_pages(ctx: AddonContext) -> list[AddonPage]:
        return [AddonPage(path="map", title_key="Map", build=lambda: None, access=Permission.VIEW_LIVE)]

    manager.register_module(make_addon("mapper", wardcam_pages=wardcam_pages), "test")
    assert await manager.pages() == []
    await manager.enable("mapper")
    [(addon, page)] = await manager.pages()
    assert (addon.name, page.path, page.access) == ("mapper", "map", Permission.VIEW_LIVE)


async def test_wardcam_api_routes_come_with_their_permissions(manager: AddonManager) -> None:
    router = APIRouter()

    @router.get("/status")
    async def status() -> dict[str, str]:
        return {"ok": "yes"}

    def wardcam_api_routes(ctx: AddonContext) -> list[AddonRoutes]:
        return [AddonRoutes(router=router, access={"/status": Permission.VIEW_LIVE})]

    manager.register_module(make_addon("api", wardcam_api_routes=wardcam_api_routes), "test")
    addon = await manager.enable("api")
    [routes] = await manager.routes(addon)
    assert routes.access == {"/status": Permission.VIEW_LIVE}


async def test_wardcam_notification_services_are_merged(manager: AddonManager) -> None:
    def wardcam_notification_services(ctx: AddonContext) -> list[NotificationService]:
        return [NotificationService(scheme="zalobot", title_key="Zalo", plugin_path=str(ctx.data_dir))]

    manager.register_module(make_addon("zalo", wardcam_notification_services=wardcam_notification_services), "test")
    await manager.enable("zalo")
    [service] = await manager.notification_services()
    assert service.scheme == "zalobot"


async def test_wardcam_discover_cameras_reports_progress_and_merges_results(manager: AddonManager) -> None:
    async def wardcam_discover_cameras(ctx: AddonContext, progress: Progress) -> list[DiscoveredCamera]:
        progress(0.5)
        progress(1.0)
        return [DiscoveredCamera(name="Ngã tư", host="127.0.0.1", source=ctx.name)]

    seen: list[float] = []
    manager.register_module(make_addon("scanner", wardcam_discover_cameras=wardcam_discover_cameras), "test")
    await manager.enable("scanner")
    found = await manager.discover_cameras(seen.append)
    assert [(c.name, c.source) for c in found] == [("Ngã tư", "scanner")]
    assert seen == [0.5, 1.0]


async def test_wardcam_health_checks_run_for_the_system_page(manager: AddonManager) -> None:
    async def disk_ok() -> HealthResult:
        return HealthResult(ok=True, message_key="fine")

    def wardcam_health_checks(ctx: AddonContext) -> list[HealthCheck]:
        return [HealthCheck(name_key="Disk", run=disk_ok)]

    manager.register_module(make_addon("doctor", wardcam_health_checks=wardcam_health_checks), "test")
    await manager.enable("doctor")
    [(addon, check)] = await manager.health_checks()
    assert addon.name == "doctor"
    assert (await check.run()).ok


async def test_wardcam_teardown_failure_still_closes_the_stack(manager: AddonManager) -> None:
    closed: list[str] = []

    def wardcam_setup(ctx: AddonContext, options: object) -> None:
        ctx.stack.callback(closed.append, "closed")

    def wardcam_teardown(ctx: AddonContext) -> None:
        raise RuntimeError("teardown broke")

    manager.register_module(make_addon("sloppy", wardcam_setup=wardcam_setup, wardcam_teardown=wardcam_teardown),
                            "test")  # fmt: skip
    await manager.enable("sloppy")
    await manager.disable("sloppy")
    assert closed == ["closed"]
