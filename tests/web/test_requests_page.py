"""The Footage requests page: an officer files a request and sees only their own; a ward admin approves it."""

from __future__ import annotations

from datetime import datetime, timedelta

from nicegui.testing import User

from appliance.auth.principal import Principal
from appliance.db.models.cameras import Camera, Site
from appliance.db.models.recordings import EvidenceLock
from appliance.db.models.requests import FootageRequest, RequestStatus
from appliance.db.models.users import Role
from appliance.db.models.users import User as Account
from appliance.requests.workflow import RequestInput
from tests.web.conftest import AddUser, log_in
from web import context


async def a_ward(add_user: AddUser) -> tuple[Camera, Principal]:
    """A market site with one camera, an admin, and two officers granted the market."""
    market = await Site.create(name="Chợ Bàn Cờ")
    camera = await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1:9/cam1", site=market, enabled=False)
    await add_user("quantri")
    for name in ("tam", "hoa"):
        await add_user(name, Role.POLICE)
        account = await Account.get(username=name)
        await account.sites.add(market)
    hoa = await Account.get(username="hoa")
    return camera, Principal(hoa.id, "hoa", "", Role.POLICE, "vi", site_ids=frozenset({market.id}))


async def test_an_officer_files_a_request_and_sees_only_their_own(user: User, add_user: AddUser) -> None:
    camera, hoa = await a_ward(add_user)
    start = datetime.now().astimezone().replace(second=0, microsecond=0) - timedelta(hours=2)
    hers = await context.appliance().requests.workflow.create(hoa, RequestInput(
        officer_name="Hoa", officer_unit="CA phường 7", officer_badge="CA-2", case_number="CV 1/2026", reason="Mất cắp",
        start=start, end=start + timedelta(minutes=10), camera_ids=(camera.id,)))  # fmt: skip

    await log_in(user, "tam")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/requests")
    await user.should_see(marker="no-requests")
    user.find(marker="new-request").click()
    await user.should_see(marker="officer_name")
    user.find(marker="officer_name").type("Đại úy Lê Văn Tâm")
    user.find(marker="officer_unit").type("Công an phường 7")
    user.find(marker="officer_badge").type("CA-123456")
    user.find(marker="case_number").type("CV 45/2026")
    user.find(marker="reason").type("Va chạm xe máy trước cổng chợ")
    user.find(marker="cameras").click()
    user.find("Cổng chợ").click()
    user.find(marker="start").type(f"{start:%Y-%m-%dT%H:%M}")
    user.find(marker="end").type(f"{start + timedelta(hours=3):%Y-%m-%dT%H:%M}")
    user.find(marker="send-request").click()
    await user.should_see("Mỗi yêu cầu chỉ được trích tối đa 2.0 giờ video.", retries=50)  # the limit, in words

    user.find(marker="end").clear().type(f"{start + timedelta(minutes=30):%Y-%m-%dT%H:%M}")
    user.find(marker="send-request").click()
    await user.should_see("Quản trị phường sẽ xem xét.", retries=50)
    mine = await FootageRequest.get(case_number="CV 45/2026")
    await user.should_see(f"Đã gửi yêu cầu #{mine.id}. Quản trị phường sẽ xem xét.")
    assert (mine.officer_name, mine.status, list(mine.camera_ids)) == ("Đại úy Lê Văn Tâm", RequestStatus.PENDING,
                                                                        [camera.id])  # fmt: skip
    await user.open("/requests")
    await user.should_see(marker=f"request-{mine.id}")
    await user.should_not_see(marker=f"request-{hers.id}")  # the other officer's, on the same site
    await user.open(f"/requests/{hers.id}")
    await user.should_see("Không tìm thấy", retries=20)
    await user.should_not_see(marker="approve")


async def test_an_admin_approves_a_request_in_the_dialog_and_its_footage_is_locked(
    user: User, add_user: AddUser
) -> None:
    camera, hoa = await a_ward(add_user)
    start = datetime.now().astimezone().replace(microsecond=0) - timedelta(hours=1)
    request = await context.appliance().requests.workflow.create(hoa, RequestInput(
        officer_name="Hoa", officer_unit="CA phường 7", officer_badge="CA-2", case_number="CV 2/2026",
        reason="Cướp giật",
        start=start, end=start + timedelta(minutes=10), camera_ids=(camera.id,)))  # fmt: skip

    await log_in(user, "quantri")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/requests")
    await user.should_see(marker=f"request-{request.id}")
    await user.open(f"/requests/{request.id}")
    await user.should_see("Chờ phê duyệt")
    user.find(marker="approve").click()
    await user.should_see("Phê duyệt sẽ khóa ngay đoạn video này làm chứng cứ", retries=20)
    user.find(marker="note").type("Đồng ý cung cấp")
    user.find(marker="confirm-decision").click()
    await user.should_see("Đã phê duyệt", retries=50)
    approved = await FootageRequest.get(id=request.id)
    assert (approved.status, approved.decided_by, approved.decision_note) == (RequestStatus.APPROVED, "quantri",
                                                                              "Đồng ý cung cấp")  # fmt: skip
    assert await EvidenceLock.filter(request_id=request.id, camera_id=camera.id).count() == 1
    await user.should_see(marker="export")
