"""Who sees which footage request, and download links that only work for their user and only for a while."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.bus import EventBus
from appliance.db.models.cameras import Camera, Site
from appliance.db.models.requests import FootageRequest, RequestStatus
from appliance.db.models.users import Role, User
from appliance.errors import Forbidden, NotFound
from appliance.requests.access import downloadable, visible_request, visible_requests
from appliance.requests.errors import InvalidRequestField
from appliance.requests.links import DownloadLinks, LinkExpired, LinkInvalid
from appliance.requests.policy import RequestPolicy
from appliance.requests.workflow import RequestInput, RequestWorkflow
from tests.appliance.requests.support import ADMIN, OPERATOR

START = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)


def officer(user_id: int, *site_ids: int) -> Principal:
    return Principal(user_id, f"congan{user_id}", f"Cán bộ {user_id}", Role.POLICE, "vi", site_ids=frozenset(site_ids))


def asked(*camera_ids: int, officer_user_id: int | None = None) -> RequestInput:
    return RequestInput(officer_name="Lê Văn Tâm", officer_unit="Công an phường 7", officer_badge="CA-123456",
                        case_number="CV 45/2026", reason="Va chạm trước cổng chợ", start=START,
                        end=START + timedelta(minutes=30), camera_ids=camera_ids,
                        officer_user_id=officer_user_id)  # fmt: skip


@pytest.fixture
async def flow(db: Path) -> RequestWorkflow:
    market, school = await Site.create(name="Chợ"), await Site.create(name="Trường học")
    await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1:9/a", site=market)
    await Camera.create(name="Cổng trường", main_url="rtsp://127.0.0.1:9/b", site=school)
    for user_id in (3, 4):
        await User.create(id=user_id, username=f"congan{user_id}", password_hash="x", role=Role.POLICE)
    return RequestWorkflow(EventBus(), AuditLog(db / "audit-head.json"), RequestPolicy())


async def test_an_officer_sees_only_their_own_requests_on_their_granted_sites(flow: RequestWorkflow) -> None:
    tam, hoa = officer(3, 1), officer(4, 1, 2)
    own = await flow.create(tam, asked(1))
    others = await flow.create(hoa, asked(1))
    for_tam_by_staff = await flow.create(ADMIN, asked(2, officer_user_id=3))  # a camera on a site not granted to him
    staff_only = await flow.create(ADMIN, asked(1))

    assert own.officer_user_id == 3 and for_tam_by_staff.officer_user_id == 3 and staff_only.officer_user_id is None
    assert [r.id for r in await visible_requests(tam)] == [own.id]
    assert await visible_request(tam, own.id) == own
    for hidden in (others, for_tam_by_staff, staff_only):
        with pytest.raises(NotFound):  # the same answer as for a request that does not exist
            await visible_request(tam, hidden.id)
    # once the site is granted, the request staff entered for him shows
    assert {r.id for r in await visible_requests(officer(3, 1, 2))} == {own.id, for_tam_by_staff.id}
    # admins see every request; operators have nothing to do with them
    assert {r.id for r in await visible_requests(ADMIN)} == {own.id, others.id, for_tam_by_staff.id, staff_only.id}
    with pytest.raises(Forbidden):
        await visible_requests(OPERATOR)
    with pytest.raises(Forbidden):
        await visible_request(OPERATOR, own.id)


async def test_staff_can_only_give_a_request_to_an_active_police_user(flow: RequestWorkflow) -> None:
    await User.create(id=5, username="truc-ban", password_hash="x", role=Role.OPERATOR)
    await User.create(id=6, username="congan-cu", password_hash="x", role=Role.POLICE, is_active=False)
    for not_police in (5, 6, 99):
        with pytest.raises(InvalidRequestField) as refused:
            await flow.create(ADMIN, asked(1, officer_user_id=not_police))
        assert (refused.value.field, refused.value.key) == ("officer_user_id", "requests.error.not_a_police_user")
    # an officer cannot make a request someone else's
    request = await flow.create(officer(3, 1), asked(1, officer_user_id=4))
    assert request.officer_user_id == 3


def test_a_download_link_works_for_its_user_until_it_expires(tmp_path: Path) -> None:
    links = DownloadLinks(tmp_path / "secrets")
    link = links.make(request_id=7, user_id=3, ttl_s=600)
    assert links.check(link.token, 3) == 7
    assert (tmp_path / "secrets" / "download-links.key").stat().st_mode & 0o777 == 0o600
    assert link.expires_at == pytest.approx(time.time() + 600, abs=2)

    with pytest.raises(LinkInvalid):
        links.check(link.token, 4)  # another user's session
    request_id, user_id, expires, signature = link.token.split(".")
    for forged in (f"8.{user_id}.{expires}.{signature}", f"{request_id}.4.{expires}.{signature}",
                   f"{request_id}.{user_id}.{int(expires) + 86400}.{signature}", f"{link.token[:-1]}0",
                   "7.3.9999999999", "", "a.b.c.d"):  # fmt: skip
        if forged != link.token:
            with pytest.raises(LinkInvalid):
                links.check(forged, 3)
    with pytest.raises(LinkExpired):
        links.check(link.token, 3, now=time.time() + 601)
    # a link made by another appliance (another key) is refused
    with pytest.raises(LinkInvalid):
        DownloadLinks(tmp_path / "other").check(link.token, 3)


def test_an_officer_downloads_while_the_package_is_ready_or_handed_over_and_an_admin_also_after_closing() -> None:
    tam = officer(3, 1)
    for status, by_officer, by_admin in ((RequestStatus.APPROVED, False, False), (RequestStatus.EXPORTED, True, True),
                                         (RequestStatus.DELIVERED, True, True), (RequestStatus.CLOSED, False, True),
                                         (RequestStatus.REJECTED, False, False)):  # fmt: skip
        request = FootageRequest(status=status, package_path="evidence/request-7.zip")
        assert (downloadable(tam, request), downloadable(ADMIN, request)) == (by_officer, by_admin), status
    assert not downloadable(ADMIN, FootageRequest(status=RequestStatus.EXPORTED, package_path=""))  # deleted since
