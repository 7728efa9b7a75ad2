"""An admin reads the Storage section of the System page and changes the minimum free space there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nicegui import ui
from nicegui.testing import User

from appliance.db.models.audit import AuditEntry
from appliance.db.models.cameras import Camera
from appliance.db.models.recordings import Segment
from appliance.db.models.settings import Setting
from appliance.db.models.users import Role
from tests.web.conftest import AddUser, log_in
from web import context

MIB = 1024**2
GIB = 1024**3
VOLUME = 20 * GIB


@pytest.fixture(autouse=True)
def small_volume(monkeypatch: pytest.MonkeyPatch) -> None:
    """Treat the recordings volume as 20 GB, so that the figures do not depend on this machine's disk."""
    monkeypatch.setenv("WARDCAM_VOLUME_LIMIT_BYTES", str(VOLUME))


async def record(camera: Camera, start: datetime, size: int) -> Segment:
    """Put a segment on disk (a sparse file of that size) and in the index, as the recorder would."""
    recordings = context.appliance().settings.data_dir / "recordings"
    relative = f"{camera.id}/{start:%Y-%m-%d}/{start:%H-%M-%S}.mp4"
    path: Path = recordings / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.truncate(size)
    return await Segment.create(camera=camera, start=start, end=start + timedelta(seconds=10), duration_s=10,
                                size=size, path=relative)  # fmt: skip


async def two_days_of_the_market_gate() -> datetime:
    """Cổng chợ recorded 1 GB two days ago and 50 MB every hour of the last day; Hẻm 7 nothing yet."""
    market = await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1/cam1", enabled=False, retention_days=30)
    await Camera.create(name="Hẻm 7", main_url="rtsp://127.0.0.1/cam2", enabled=False, retention_days=7)
    now = datetime.now(UTC).replace(microsecond=0)
    oldest = now - timedelta(days=2)
    await record(market, oldest, GIB)
    for hour in range(24):
        await record(market, now - timedelta(hours=hour, minutes=30), 50 * MIB)
    return oldest


async def open_system_page(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/system")
    await user.should_see("Lưu trữ")


def card_text(user: User, marker: str) -> str:
    """Return the texts of one figure card, as a person reads them."""
    card = next(iter(user.find(marker=marker).elements))
    return " ".join(label.text for label in card.descendants() if isinstance(label, ui.label))


def table_rows(user: User) -> list[dict[str, object]]:
    table = next(iter(user.find(marker="storage-cameras").elements))
    assert isinstance(table, ui.table)
    return [{k: row[k] for k in ("camera", "size", "oldest", "days_kept")} for row in table.rows]


async def test_the_admin_sees_each_cameras_recordings_and_how_many_days_the_disk_holds(
    user: User, add_user: AddUser
) -> None:
    oldest = await two_days_of_the_market_gate()
    await open_system_page(user, add_user)
    user.find(marker="measure-storage").click()

    # 20 GB with 10 % kept free leaves 18 GB = 18,432 MB for recordings; 24 × 50 MB = 1,200 MB a day
    await user.should_see("15 ngày", retries=50)
    assert card_text(user, "storage-days") == "15 ngày Ổ đĩa chứa được"
    await user.should_see(
        "Với tốc độ ghi hôm nay, ổ đĩa chứa được khoảng 15 ngày (1.2 GB mỗi ngày, tính theo 24 giờ qua; "
        "bản ghi được dùng tối đa 18.0 GB)."
    )
    await user.should_see("Ổ đĩa không đủ cho 30 ngày lưu của camera")
    await user.should_see(marker="storage-cameras")  # drawn after the figures: wait for it on a busy machine
    assert table_rows(user) == [
        {"camera": "Cổng chợ", "size": "2.2 GB", "oldest": oldest.astimezone().strftime("%Y-%m-%d %H:%M"),
         "days_kept": 30},
        {"camera": "Hẻm 7", "size": "0 B", "oldest": "—", "days_kept": 7},
    ]  # fmt: skip
    await user.should_see(marker="storage-chart")
    await user.should_see(marker="storage-retention")

    response = await user.http_client.get("/api/storage")
    assert response.status_code == 200
    figures = response.json()
    assert figures["volume"]["total_bytes"] == VOLUME
    assert figures["volume"]["recordings_bytes"] == GIB + 24 * 50 * MIB
    assert figures["estimate"]["bytes_per_day"] == 24 * 50 * MIB
    assert figures["estimate"]["basis"] == "day"
    assert round(figures["estimate"]["days"]) == 15
    assert [(c["name"], c["bytes"], c["days_kept"]) for c in figures["cameras"]] == [
        ("Cổng chợ", GIB + 24 * 50 * MIB, 30),
        ("Hẻm 7", 0, 7),
    ]
    assert figures["samples"], "the sampler stores a disk sample when the appliance starts"


async def test_the_admin_raises_the_minimum_free_space_and_it_applies_at_once(user: User, add_user: AddUser) -> None:
    await two_days_of_the_market_gate()
    await open_system_page(user, add_user)
    user.find(marker="measure-storage").click()
    await user.should_see("15 ngày", retries=50)

    user.find(marker="min_free_pct").clear().type("25")
    user.find(marker="save-min-free").click()

    await user.should_see("Đã lưu: WardCam luôn để trống 25% ổ đĩa.", retries=50)
    assert context.appliance().recorder.retention.min_free_pct == 25
    await user.should_see("13 ngày", retries=50)  # 15 GB for 1.2 GB a day
    assert card_text(user, "storage-min-free") == "25% Luôn để trống"
    assert card_text(user, "storage-days") == "13 ngày Ổ đĩa chứa được"
    assert (await Setting.get(key="storage")).value == {"min_free_pct": 25, "offline_after_min": 2}
    entry = await AuditEntry.get(action="storage.settings_changed")
    assert (entry.actor, entry.detail) == ("admin", {"min_free_pct": [10, 25]})


async def test_the_admin_sets_when_a_silent_camera_counts_as_offline(user: User, add_user: AddUser) -> None:
    await open_system_page(user, add_user)
    assert context.appliance().recorder.offline_after_s == 120  # 2 minutes by default
    user.find(marker="offline_after_min").clear().type("5")
    user.find(marker="save-min-free").click()
    await user.should_see("Đã lưu", retries=50)
    assert context.appliance().recorder.offline_after_s == 300  # at once, no restart
    entry = await AuditEntry.get(action="storage.settings_changed")
    assert entry.detail == {"offline_after_min": [2, 5]}

    user.find(marker="offline_after_min").clear().type("0")
    user.find(marker="save-min-free").click()
    await user.should_see("Phải lớn hơn hoặc bằng 1.", retries=50)
    assert context.appliance().recorder.offline_after_s == 300


async def test_a_minimum_out_of_range_is_refused_in_plain_words(user: User, add_user: AddUser) -> None:
    await open_system_page(user, add_user)
    user.find(marker="min_free_pct").clear().type("60")
    user.find(marker="save-min-free").click()

    await user.should_see("Phải nhỏ hơn hoặc bằng 50.", retries=50)
    await user.should_see("Chưa lưu: hãy sửa giá trị được đánh dấu.")
    assert context.appliance().recorder.retention.min_free_pct == 10
    assert not await Setting.exists(key="storage")
    assert not await AuditEntry.exists(action="storage.settings_changed")


async def test_a_viewer_cannot_open_the_storage_figures(user: User, add_user: AddUser) -> None:
    await add_user("admin")
    await add_user("xem", Role.VIEWER)
    await log_in(user, "xem")
    await user.should_see("Tổng quan", retries=50)
    await user.should_not_see("Hệ thống")
    response = await user.http_client.get("/system")
    assert response.status_code == 403
    assert "Không có quyền truy cập" in response.text
    response = await user.http_client.get("/api/storage")
    assert response.status_code == 403
