"""Who may see and download which footage requests: one rule for the page and the API alike.

Ward admins (APPROVE_FOOTAGE) see every request. A police officer sees only their own requests (made by
them, or entered by staff on their behalf) and only while every camera of the request is on a site an
admin granted them; anything else reads as "not found", so that a request's existence does not leak.
A package is downloaded by whoever sees the request once it is exported: by an officer while it is
exported or delivered (not after the request is closed), by an admin until the package is deleted.
"""

from __future__ import annotations

from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.db.models.cameras import Camera
from appliance.db.models.requests import FootageRequest, RequestStatus
from appliance.errors import Forbidden, NotFound

DOWNLOADABLE = frozenset({RequestStatus.EXPORTED, RequestStatus.DELIVERED})
DOWNLOADABLE_BY_ADMINS = DOWNLOADABLE | {RequestStatus.CLOSED}
MAX_LIST = 500


def sees_all(who: Principal) -> bool:
    """Return whether the user sees every request (ward admins)."""
    return who.can(Permission.APPROVE_FOOTAGE)


def owns(who: Principal, request: FootageRequest) -> bool:
    """Return whether the request is the user's own: made by them, or entered for them by staff."""
    return who.user_id is not None and who.user_id in (request.officer_user_id, request.created_by_id)


async def _camera_sites(camera_ids: set[int]) -> dict[int, int | None]:
    rows = await Camera.filter(id__in=list(camera_ids)).values_list("id", "site_id")
    return {int(camera_id): site_id for camera_id, site_id in rows}


def _within_sites(who: Principal, request: FootageRequest, sites: dict[int, int | None]) -> bool:
    # a camera deleted since (no longer in `sites`) leaves its footage's request visible to its owner
    return all(sites.get(camera_id, -1) in who.site_ids or camera_id not in sites for camera_id in request.camera_ids)


def check_role(who: Principal) -> None:
    """Refuse users whose role has nothing to do with footage requests (operators, viewers)."""
    if not who.can(Permission.REQUEST_FOOTAGE) and not sees_all(who):
        raise Forbidden()


async def visible_requests(who: Principal, status: RequestStatus | None = None) -> list[FootageRequest]:
    """Return the requests the user may see, newest first."""
    check_role(who)
    query = FootageRequest.all() if status is None else FootageRequest.filter(status=status)
    if sees_all(who):
        return await query.limit(MAX_LIST)
    own = [r for r in await query.limit(MAX_LIST * 4) if owns(who, r)]
    sites = await _camera_sites({c for r in own for c in r.camera_ids})
    return [r for r in own if _within_sites(who, r, sites)][:MAX_LIST]


async def visible_request(who: Principal, request_id: int) -> FootageRequest:
    """Return one request the user may see; NotFound for one that does not exist or is not theirs."""
    check_role(who)
    request = await FootageRequest.get_or_none(id=request_id)
    if request is None:
        raise NotFound()
    if sees_all(who):
        return request
    if not owns(who, request) or not _within_sites(who, request, await _camera_sites(set(request.camera_ids))):
        raise NotFound()
    return request


def downloadable(who: Principal, request: FootageRequest) -> bool:
    """Return whether the user may download the request's package now (one the user may see)."""
    statuses = DOWNLOADABLE_BY_ADMINS if sees_all(who) else DOWNLOADABLE
    return request.status in statuses and bool(request.package_path)
