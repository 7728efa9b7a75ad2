"""WardCam's Frigate client against a Frigate stand-in: reading events and pictures, logging in, failing clearly."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from addons.frigate.client import FrigateClient
from addons.frigate.errors import (
    FrigateBadResponse,
    FrigateConfigRefused,
    FrigateForbidden,
    FrigateLoginFailed,
    FrigateLoginNeeded,
    FrigateNotFound,
    FrigateTimeout,
    FrigateUnreachable,
)
from appliance.i18n import t
from appliance.net import free_port
from tests.addons.frigate.conftest import ADMIN_PASSWORD, ADMIN_USER, VIEWER_PASSWORD, VIEWER_USER
from tests.addons.frigate.fake_frigate import VERSION, FakeFrigate, event_response, jpeg
from tests.addons.frigate.payloads import T0


async def test_on_the_open_port_wardcam_reads_frigates_version_cameras_events_and_pictures(
    frigate_open: FakeFrigate, tmp_path: Path
) -> None:
    frigate_open.events["1764279000.1-abc123"] = event_response(
        "1764279000.1-abc123", "cong_truoc", start=T0, end=T0 + 12, sub_label="Nam", zones=("hem",), top_score=0.91
    )
    frigate_open.events["1764279100.5-def456"] = event_response(
        "1764279100.5-def456", "hem_5", "motorcycle", start=T0 + 100, has_snapshot=False
    )
    frigate_open.snapshots["1764279000.1-abc123"] = jpeg()

    async with FrigateClient(frigate_open.url) as client:
        assert await client.version() == VERSION
        assert (await client.config()).camera_names == ["cong_truoc", "hem_5"]

        events = await client.events(limit=10)
        assert [e.id for e in events] == ["1764279100.5-def456", "1764279000.1-abc123"]
        person = await client.event("1764279000.1-abc123")
        assert (person.camera, person.label, person.sub_label, person.zones) == ("cong_truoc", "person", "Nam", ["hem"])
        assert (person.start_time, person.end_time, person.top_score) == (T0, T0 + 12, 0.91)
        assert [e.id for e in await client.events(has_snapshot=True)] == ["1764279000.1-abc123"]

        assert await client.event_snapshot("1764279000.1-abc123") == jpeg()
        assert (await client.event_thumbnail("1764279000.1-abc123")).startswith(b"\xff\xd8\xff")
        assert (await client.latest_jpeg("hem_5")).startswith(b"\xff\xd8\xff")
        size = await client.save_event_clip("1764279000.1-abc123", tmp_path / "clip.mp4")
        assert size == (tmp_path / "clip.mp4").stat().st_size > 4096

        with pytest.raises(FrigateNotFound):
            await client.event_snapshot("1764279100.5-def456")
        with pytest.raises(FrigateNotFound):
            await client.event("no-such-event")
    assert frigate_open.logins == []  # port 5000 needs no login


async def test_reviews_and_an_export_of_frigates_own_recording(frigate_open: FakeFrigate) -> None:
    frigate_open.reviews = [
        {"id": "1764279129.3-fqk5ka", "camera": "cong_truoc", "start_time": T0 + 129, "end_time": T0 + 160,
         "has_been_reviewed": False, "severity": "alert", "thumb_path": "/media/frigate/clips/review/thumb.webp",
         "data": {"detections": ["1764279000.1-abc123"], "objects": ["person"], "zones": []}},
        {"id": "1764279200.0-aaaaaa", "camera": "hem_5", "start_time": T0 + 200, "end_time": None,
         "has_been_reviewed": True, "severity": "detection", "thumb_path": "", "data": {}},
    ]  # fmt: skip
    async with FrigateClient(frigate_open.url) as client:
        reviews = await client.reviews()
        assert [(r.camera, r.severity) for r in reviews] == [("cong_truoc", "alert"), ("hem_5", "detection")]
        assert reviews[0].start_time.timestamp() == T0 + 129
        assert [r.id for r in await client.reviews(severity="alert")] == ["1764279129.3-fqk5ka"]

        started = await client.start_export("cong_truoc", T0, T0 + 60, name="Vụ va chạm 27/11")
        assert started.success and started.export_id and started.export_id.startswith("cong_truoc_")
        with pytest.raises(FrigateNotFound):
            await client.start_export("khong_co", T0, T0 + 60)
    assert ("POST", f"/api/export/cong_truoc/start/{T0:.3f}/end/{T0 + 60:.3f}") in frigate_open.requests


async def test_on_the_secured_port_wardcam_logs_in_once_and_again_when_its_token_is_no_longer_good(
    frigate_secured: FakeFrigate, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FrigateClient(frigate_secured.url + "/api/", ADMIN_USER, ADMIN_PASSWORD) as client:
        assert await client.version() == VERSION  # public: no login for it
        assert frigate_secured.logins == []
        assert (await client.config()).camera_names == ["cong_truoc", "hem_5"]
        assert await client.events() == []
        assert frigate_secured.logins == [ADMIN_USER]  # one login for both requests

        frigate_secured.forget_tokens()
        assert await client.events() == []
        assert frigate_secured.logins == [ADMIN_USER, ADMIN_USER]
    assert ADMIN_PASSWORD not in caplog.text


async def test_a_wrong_password_a_missing_login_and_a_viewer_saving_the_config_are_refused_in_plain_words(
    frigate_secured: FakeFrigate, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FrigateClient(frigate_secured.url, ADMIN_USER, "not-the-password") as client:
        with pytest.raises(FrigateLoginFailed) as refused:
            await client.events()
    assert t(refused.value.key, "en", **refused.value.params) == "Frigate refused the user name or password."
    assert "not-the-password" not in caplog.text and "not-the-password" not in str(refused.value)

    async with FrigateClient(frigate_secured.url) as client:
        with pytest.raises(FrigateLoginNeeded) as needed:
            await client.config()
    assert "Enter a Frigate user and password" in t(needed.value.key, "en")

    async with FrigateClient(frigate_secured.url, VIEWER_USER, VIEWER_PASSWORD) as client:
        assert await client.events() == []
        with pytest.raises(FrigateForbidden):
            await client.save_config("cameras: {}\n")
    assert frigate_secured.saved == []


async def test_nothing_listening_something_else_listening_and_a_frigate_too_slow_are_told_apart(
    frigate_open: FakeFrigate,
) -> None:
    from aiohttp import web

    closed = f"http://127.0.0.1:{free_port()}"
    async with FrigateClient(closed, timeout_s=2) as client:
        with pytest.raises(FrigateUnreachable) as unreachable:
            await client.version()
    assert t(unreachable.value.key, "en", **unreachable.value.params).startswith(f"Cannot reach Frigate at {closed}")

    async def web_page(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Router login</body></html>", content_type="text/html")

    async def slow(request: web.Request) -> web.Response:
        import asyncio

        await asyncio.sleep(1.0)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/api/version", web_page)
    app.router.add_get("/api/config", web_page)
    app.router.add_get("/api/events", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    other = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        async with FrigateClient(other, timeout_s=0.5) as client:
            with pytest.raises(FrigateBadResponse):
                await client.version()
            with pytest.raises(FrigateBadResponse):
                await client.config()
            with pytest.raises(FrigateTimeout):
                await client.events()
    finally:
        await runner.cleanup()


async def test_frigate_checks_a_config_before_saving_it_and_its_refusal_never_shows_a_password(
    frigate_secured: FakeFrigate,
) -> None:
    good = "mqtt:\n  host: 127.0.0.1\ncameras:\n  cong_truoc:\n    ffmpeg:\n      inputs:\n" \
           "      - path: rtsp://admin:b%C3%AD-m%E1%BA%ADt@127.0.0.1:8554/cam1\n        roles: [detect]\n"  # fmt: skip
    async with FrigateClient(frigate_secured.url, ADMIN_USER, ADMIN_PASSWORD) as client:
        message = await client.save_config(good, restart=False)
        assert message == "Config successfully saved."
        assert frigate_secured.saved == [("saveonly", good)]
        assert await client.raw_config() == good

        broken = "mqtt:\n  host: 127.0.0.1\nrecord: {enabled: false}\n# rtsp://admin:b%C3%AD-m%E1%BA%ADt@cam\n"
        with pytest.raises(FrigateConfigRefused) as refused:
            await client.save_config(broken)
    shown = t(refused.value.key, "en", **refused.value.params)
    assert shown.startswith("Frigate refused the config:") and "cameras: Field required" in shown
    assert "b%C3%AD-m%E1%BA%ADt" not in shown and "bí-mật" not in shown
    assert len(frigate_secured.saved) == 1
    assert yaml.safe_load(frigate_secured.raw_config or "")["cameras"]
