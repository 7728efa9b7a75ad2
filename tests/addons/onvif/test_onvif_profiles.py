"""A camera's username and password give its streams: real SOAP over loopback HTTP, recorded answers."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest

from addons.onvif.client import read_camera
from addons.onvif.errors import CameraTimeout, CameraUnreachable, NotOnvif, OnvifProblem, WrongPassword
from appliance.i18n import t
from tests.addons.onvif.fake_camera import closed_port_url, fake_camera, not_a_camera, silent_server

STREAMS = "rtsp://127.0.0.1:554/Streaming/Channels/{}?transportmode=unicast"


async def test_the_right_password_gives_every_profile_and_picks_main_and_sub(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with fake_camera() as camera:
        details = await read_camera(camera.device_url, "admin", camera.password, timeout_s=10)
    assert (details.manufacturer, details.model, details.firmware) == (
        "HIKVISION", "DS-2CD2143G2-I", "V5.7.3 build 220112"
    )  # fmt: skip
    assert [(p.name, p.resolution, p.codec, p.fps, p.bitrate_kbps) for p in details.profiles] == [
        ("mainStream", "2560×1440", "H.264", 20.0, 4096),
        ("subStream", "640×360", "H.264", 15.0, 512),
        ("thirdStream", "1280×720", "H.264", 15.0, 1024),
    ]
    assert details.main.uri == STREAMS.format(101)  # the largest picture
    assert details.sub is not None and details.sub.uri == STREAMS.format(102)  # the smallest
    assert camera.refused == []
    assert camera.operations[:2] == ["GetSystemDateAndTime", "GetServices"]
    assert camera.password not in caplog.text


@pytest.mark.parametrize(("username", "password"), [("admin", "wrong"), ("root", "Ph@t:tri#en/100%"), ("admin", "")])
async def test_a_wrong_username_or_password_says_so_in_plain_words(username: str, password: str) -> None:
    async with fake_camera() as camera:
        with pytest.raises(WrongPassword) as problem:
            await read_camera(camera.device_url, username, password, timeout_s=10)
    assert camera.refused == ["GetDeviceInformation"]
    assert t(problem.value.key) == "Sai tên đăng nhập hoặc mật khẩu của camera."
    assert t(problem.value.key, "en") == "Wrong username or password for this camera."


async def test_an_older_camera_without_getservices_is_read_through_getcapabilities() -> None:
    async with fake_camera(has_get_services=False) as camera:
        details = await read_camera(camera.device_url, "admin", camera.password, timeout_s=10)
    assert camera.operations[1:3] == ["GetServices", "GetCapabilities"]
    assert details.main.uri == STREAMS.format(101)


async def test_a_camera_whose_clock_is_two_hours_off_is_still_read() -> None:
    async with fake_camera(clock_offset=dt.timedelta(hours=2)) as camera:
        details = await read_camera(camera.device_url, "admin", camera.password, timeout_s=10)
    assert camera.refused == []  # requests were signed with the camera's own time
    assert details.model == "DS-2CD2143G2-I"


async def test_nothing_listening_at_the_address_is_unreachable() -> None:
    with pytest.raises(CameraUnreachable) as problem:
        await read_camera(closed_port_url(), "admin", "x", timeout_s=5)
    assert t(problem.value.key).startswith("Không kết nối được tới camera")


async def test_a_web_page_where_the_camera_should_be_is_not_an_onvif_device() -> None:
    async with not_a_camera() as url:
        with pytest.raises(NotOnvif) as problem:
            await read_camera(url, "admin", "x", timeout_s=5)
    assert "không phải camera ONVIF" in t(problem.value.key)


async def test_a_camera_that_never_answers_times_out() -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with silent_server() as url:
        with pytest.raises(CameraTimeout) as problem:
            await read_camera(url, "admin", "x", timeout_s=1)
    assert loop.time() - start < 2
    assert t(problem.value.key, "en") == "The camera did not answer in time. Try again in a few minutes."


async def test_every_problem_has_words_in_both_languages() -> None:
    for problem in OnvifProblem.__subclasses__():
        assert t(problem.key) != problem.key and t(problem.key, "en") != problem.key
