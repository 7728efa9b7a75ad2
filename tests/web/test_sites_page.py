"""An admin files cameras under sites, sees each site on the map in its cameras' colour, and opens its cameras."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing import User

from appliance.auth.principal import Principal
from appliance.cameras import CameraInput, SiteInput, map_settings
from appliance.db.models.audit import AuditEntry
from appliance.db.models.cameras import Camera, Site
from appliance.db.models.users import Role
from appliance.demo.cameras import BlockingSyntheticCameras
from appliance.i18n import t
from appliance.net import free_port
from appliance.recorder.supervisor import RecorderState
from tests.web.conftest import AddUser, eventually, log_in
from web import context
from web.pages.cameras import Health
from web.pages.sites import Colour, site_colour

ADMIN = Principal(user_id=1, username="admin", display_name="", role=Role.ADMIN, language="vi")


async def open_sites_page(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/sites")


async def add_site(name: str, **fields: Any) -> Site:
    return await context.appliance().cameras.create_site(SiteInput(name=name, **fields), who=ADMIN)


async def add_camera(name: str, url: str, site: Site | None, **fields: Any) -> Camera:
    data = CameraInput.model_validate({"name": name, "main_url": url, "site_id": site.id if site else None, **fields})
    return await context.appliance().cameras.create_camera(data, who=ADMIN)


def the_map(user: User) -> ui.leaflet:
    return user.find(ui.leaflet).elements.pop()


def dots(user: User) -> dict[str, str]:
    """Return the fill colour of each dot on the map, by position."""
    return {f"{layer.args[0][0]},{layer.args[0][1]}": layer.args[1]["fillColor"]
            for layer in the_map(user).layers if getattr(layer, "name", "") == "circleMarker"}  # fmt: skip


async def settled(camera_ids: list[int], within_s: float = 15.0) -> None:
    """Wait until the recorder has each camera either recording or failing."""
    recorder = context.appliance().recorder
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        states = [recorder.status(i) for i in camera_ids]
        if all(s is not None and (s.state == RecorderState.RECORDING or s.failing_since) for s in states):
            return
        assert asyncio.get_running_loop().time() < deadline, f"cameras still starting: {states}"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize(
    ("healths", "colour"),
    [
        ([Health.RECORDING, Health.RECORDING], Colour.GREEN),
        ([Health.RECORDING, Health.STARTING, Health.DISABLED], Colour.GREEN),
        ([Health.RECORDING, Health.OFFLINE], Colour.ORANGE),
        ([Health.OFFLINE, Health.OFFLINE, Health.DISABLED], Colour.RED),
        ([Health.DISABLED], Colour.GREY),
        ([], Colour.GREY),
    ],
)
def test_a_site_is_coloured_by_the_cameras_that_should_record(healths: list[Health], colour: Colour) -> None:
    assert site_colour(healths) == colour


async def test_the_admin_adds_a_site_pasting_its_coordinates_and_it_appears_on_the_map(
    user: User, add_user: AddUser
) -> None:
    await open_sites_page(user, add_user)
    await user.should_see("Chưa có điểm camera nào.")
    user.find("Thêm điểm camera").click()
    await user.should_see("Vĩ độ")
    user.find(marker="name").type("Hẻm 12 Nguyễn Trãi")
    user.find(marker="address").type("12 Nguyễn Trãi, phường Bến Thành")
    user.find(marker="latitude").type("10.7721, 106.6932")  # as a phone's map app copies it
    user.find(marker="notes").type("Camera trên cột điện số 4")
    user.find(marker="save-site").click()
    await user.should_see("Đã lưu điểm Hẻm 12 Nguyễn Trãi.", retries=50)

    site = await Site.get(name="Hẻm 12 Nguyễn Trãi")
    assert (site.latitude, site.longitude, site.address) == (10.7721, 106.6932, "12 Nguyễn Trãi, phường Bến Thành")
    await user.should_see("Tọa độ: 10.77210, 106.69320")
    await user.should_see("Chưa có camera")
    assert dots(user) == {"10.7721,106.6932": Colour.GREY.value}
    layers = the_map(user).layers
    assert [getattr(layer, "name", "tileLayer") for layer in layers] == ["circleMarker"]  # no tiles by default

    user.find(marker=f"edit-{site.id}").click()
    await user.should_see("Sửa điểm Hẻm 12 Nguyễn Trãi")
    user.find(marker="latitude").clear().type("10,7730")  # a decimal comma, as Vietnamese write it
    user.find(marker="longitude").clear().type("106,6940")
    user.find(marker="save-site").click()
    await eventually(lambda: Site.filter(id=site.id).values_list("latitude", "longitude"), [(10.773, 106.694)])
    await user.should_see("Tọa độ: 10.77300, 106.69400")


async def test_each_field_of_a_site_says_what_is_wrong_with_it(user: User, add_user: AddUser) -> None:
    await add_site("Chợ Bến Thành")
    await open_sites_page(user, add_user)
    user.find("Thêm điểm camera").click()
    await user.should_see("Vĩ độ")
    user.find(marker="latitude").type("123")
    user.find(marker="longitude").type("đông")
    user.find(marker="save-site").click()
    await user.should_see(t("error.field.missing"))
    await user.should_see("Phải nhỏ hơn hoặc bằng 90.")
    await user.should_see("Cần một số.")

    user.find(marker="name").type("Chợ Bến Thành")
    user.find(marker="latitude").clear().type("10.7725")
    user.find(marker="longitude").clear()
    user.find(marker="save-site").click()
    await user.should_see("Hãy nhập cả vĩ độ và kinh độ, hoặc để trống cả hai.")

    user.find(marker="longitude").type("106.698")
    user.find(marker="save-site").click()
    await user.should_see('Đã có điểm camera tên "Chợ Bến Thành".')
    assert await Site.all().count() == 1


async def test_sites_are_coloured_by_their_cameras_and_open_their_cameras(
    user: User, add_user: AddUser, rtsp_cameras: BlockingSyntheticCameras
) -> None:
    nowhere = f"rtsp://127.0.0.1:{free_port()}/cam1"
    good = await add_site("Ngã tư Lê Lợi", latitude=10.7740, longitude=106.7010)
    mixed = await add_site("Chợ Bến Thành", latitude=10.7725, longitude=106.6980)
    down = await add_site("Hẻm 7 Lê Lợi", latitude=10.7750, longitude=106.7000)
    quiet = await add_site("Công viên 23/9", latitude=10.7690, longitude=106.6930)
    await add_site("Bến xe buýt", address="Chưa đo tọa độ")
    cameras = [
        await add_camera("Lê Lợi – hướng Bắc", rtsp_cameras.urls[0], good),
        await add_camera("Cổng chợ", rtsp_cameras.urls[1], mixed),
        await add_camera("Chợ – cổng sau", nowhere, mixed),
        await add_camera("Hẻm 7 – đầu hẻm", nowhere, down),
    ]
    await add_camera("Công viên – tạm tắt", nowhere, quiet, enabled=False)
    await settled([c.id for c in cameras])

    await open_sites_page(user, add_user)
    assert dots(user) == {
        "10.774,106.701": Colour.GREEN.value,
        "10.7725,106.698": Colour.ORANGE.value,
        "10.775,106.7": Colour.RED.value,
        "10.769,106.693": Colour.GREY.value,
    }
    await user.should_see("2 camera: 1 đang ghi, 1 mất tín hiệu")
    await user.should_see("Chưa có tọa độ: không hiện trên bản đồ")

    user.find(marker=f"cameras-{mixed.id}").click()
    await user.should_see("Cổng chợ", retries=50)
    await user.should_see("Chợ – cổng sau")
    await user.should_not_see("Lê Lợi – hướng Bắc")
    await user.should_see("Mất tín hiệu từ", retries=50)
    await user.should_see("Không kết nối được tới camera: kiểm tra địa chỉ, nguồn điện và dây mạng.")


async def test_deleting_a_site_keeps_its_cameras(user: User, add_user: AddUser) -> None:
    site = await add_site("Hẻm 7 Lê Lợi")
    camera = await add_camera("Hẻm 7 – đầu hẻm", "rtsp://192.168.1.64/live", site, enabled=False)
    await open_sites_page(user, add_user)
    user.find(marker=f"delete-{site.id}").click()
    await user.should_see("1 camera tại điểm này vẫn tiếp tục ghi hình, chỉ không còn thuộc điểm nào.")
    user.find(marker="confirm-delete").click()
    await user.should_see("Đã xóa điểm Hẻm 7 Lê Lợi.", retries=50)
    assert not await Site.exists(id=site.id)
    assert (await Camera.get(id=camera.id)).site_id is None  # type: ignore[attr-defined]


async def test_an_admin_sets_a_tile_server_for_the_map(user: User, add_user: AddUser) -> None:
    await add_site("Chợ Bến Thành", latitude=10.7725, longitude=106.6980)
    await open_sites_page(user, add_user)
    user.find("Cài đặt bản đồ").click()
    user.find(marker="tile_url").type("tile.openstreetmap.org/z/x/y.png")
    user.find(marker="save-map").click()
    await user.should_see("Địa chỉ ô bản đồ phải bắt đầu bằng http:// hoặc https:// và chứa {z}, {x} và {y}.")
    assert (await map_settings()).tile_url == ""

    user.find(marker="tile_url").clear().type("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png")
    user.find(marker="attribution").type("© OpenStreetMap")
    user.find(marker="save-map").click()
    await user.should_see("Đã lưu cài đặt bản đồ.", retries=50)
    tiles = [layer for layer in the_map(user).layers if hasattr(layer, "url_template")]
    assert [(layer.url_template, layer.options["attribution"]) for layer in tiles] == [
        ("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", "© OpenStreetMap")]  # fmt: skip
    assert (await AuditEntry.get(action="map.settings_changed")).detail == {
        "tile_url": "http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png"}  # fmt: skip

    response = await user.http_client.get("/api/sites/map")
    assert response.json() == {"tile_url": "http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png",
                               "attribution": "© OpenStreetMap"}  # fmt: skip
    cleared = await user.http_client.put("/api/sites/map", json={"tile_url": "", "attribution": ""})
    assert cleared.status_code == 200 and (await map_settings()).tile_url == ""
    refused = await user.http_client.put("/api/sites/map", json={"tile_url": "javascript:alert(1)//{z}{x}{y}"})
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"]["tile_url"].startswith("Địa chỉ ô bản đồ phải bắt đầu bằng http://")
