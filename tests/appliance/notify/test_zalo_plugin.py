"""The Zalo add-on brings zalobot:// through wardcam_notification_services; its plugin speaks the Zalo Bot API's
shape (POST /bot{TOKEN}/sendMessage, JSON {chat_id, text}; answers {ok, description, error_code})."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.addons.manager import AddonManager
from appliance.notify import UnknownService
from appliance.settings import Settings
from tests.appliance.notify.conftest import World
from tests.appliance.notify.receivers import Mode, Receiver
from tests.harness.waiting import until

TOKEN = "1234567890:AbCdEf_gh-IJ"


async def test_zalo_is_offered_only_while_its_addon_runs_and_messages_reach_the_chat(
    world: World, db: Path, receivers: Callable[[Mode], Receiver]
) -> None:
    zalo_api = receivers("ok")
    zalo_api.zalo_answer = {"ok": True, "result": {"message_id": "m1"}}
    values = {"bot_token": TOKEN, "chat_id": "nhom-to-5"}
    with pytest.raises(UnknownService) as refused:
        world.notify.targets.build("zalo", values)
    assert refused.value.key == "notify.error.zalo_addon"

    manager = AddonManager(Settings(data_dir=db, database_url=None), world.bus, world.notify.audit)
    manager.discover()
    world.notify.addons = manager
    manager.listeners.append(world.notify._addon_changed)
    await manager.enable("zalo")
    await until(lambda: "zalobot" in world.notify.addon_schemes, 5, "the zalobot service")

    url, summary = world.notify.targets.build("zalo", values)
    assert url == "zalobot://1234567890%3AAbCdEf_gh-IJ/nhom-to-5" and summary == "Zalo · nhom-to-5"
    target = await world.notify.targets.create("Nhóm Zalo tổ 5", "raw",
                                               {"apprise_url": f"{url}?api={zalo_api.url('')}"}, None)  # fmt: skip
    outcome = await world.notify.targets.test(target.id, "WardCam", "Xin chào tổ 5")
    assert outcome.ok
    [request] = zalo_api.received
    assert request.path == f"/bot{TOKEN}/sendMessage"
    assert request.body == {"chat_id": "nhom-to-5", "text": "WardCam\nXin chào tổ 5"}

    zalo_api.zalo_answer = {"ok": False, "error_code": 401, "description": "Unauthorized"}
    outcome = await world.notify.targets.test(target.id, "WardCam", "Lần nữa")
    assert not outcome.ok
    assert outcome.text("vi") == "Dịch vụ từ chối: sai mã (token) hoặc mật khẩu (mã 401)."
    assert "Unauthorized" in outcome.detail

    await manager.disable("zalo")
    await until(lambda: "zalobot" not in world.notify.addon_schemes, 5, "the zalobot service gone")
    outcome = await world.notify.targets.test(target.id, "WardCam", "Tiện ích đã tắt")
    assert outcome.text("vi") == "Tiện ích cung cấp dịch vụ này đang tắt; bật lại ở trang Tiện ích."
    assert len(zalo_api.received) == 2  # Apprise still knows the plugin; WardCam does not send
    await manager.stop()


def test_the_plugin_sends_a_picture_only_when_zalo_can_fetch_it(receivers: Callable[[Mode], Receiver]) -> None:
    import apprise

    zalo_api = receivers("ok")
    zalo_api.zalo_answer = {"ok": True}
    plugin = str(Path(__file__).parents[3] / "addons" / "zalo" / "apprise_zalo.py")
    sender = apprise.Apprise(asset=apprise.AppriseAsset(plugin_paths=[plugin], async_mode=False))
    assert sender.add(f"zalobot://{TOKEN}/chat-1?api={zalo_api.url('')}")
    web_picture = apprise.AppriseAttachment("https://example.invalid/snapshot.jpg")
    assert sender.notify(body="Có người", title="Hẻm 12", attach=web_picture)
    assert zalo_api.received[-1].path == f"/bot{TOKEN}/sendPhoto"
    assert zalo_api.received[-1].body == {"chat_id": "chat-1", "photo": "https://example.invalid/snapshot.jpg",
                                          "caption": "Hẻm 12\nCó người"}  # fmt: skip
    assert sender.notify(body="x" * 5000, title="")
    assert zalo_api.received[-1].path == f"/bot{TOKEN}/sendMessage"
    assert len(zalo_api.received[-1].body["text"]) == 2000
