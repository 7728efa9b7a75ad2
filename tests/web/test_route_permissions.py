"""Walk the whole route table, NiceGUI pages and API routes together, against a served appliance.

Every route refuses anonymous access, except /healthz, /login, the login hand-over, and
/onboarding while no user exists; and each role reaches exactly the routes its permissions allow.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from appliance.db.models.users import Role
from tests.harness.appliance import RunningAppliance, child_env, start_appliance
from web.access import ONBOARDING, OPEN

OPEN_ROUTES = {"/healthz", "/login", "/auth/complete", "/api/auth/login"}

ALL = {Role.ADMIN, Role.OPERATOR, Role.POLICE, Role.VIEWER}
ADMIN = {Role.ADMIN}
# Who should reach each route, written out from the role list rather than derived from the code.
# A path whose methods differ is keyed by (method, path).
EXPECTED: dict[str | tuple[str, str], set[Role]] = {
    "/": ALL,
    "/account": ALL,
    "/cameras": ADMIN,
    "/sites": ADMIN,
    "/recordings": {Role.ADMIN, Role.OPERATOR, Role.POLICE},
    # playback: police only for the cameras of their sites
    "/api/recordings": {Role.ADMIN, Role.OPERATOR, Role.POLICE},
    "/api/recordings/play": {Role.ADMIN, Role.OPERATOR, Role.POLICE},
    "/api/recordings/play/map": {Role.ADMIN, Role.OPERATOR, Role.POLICE},
    "/api/recordings/clips": {Role.ADMIN, Role.OPERATOR, Role.POLICE},
    "/api/recordings/clips/{clip_id}": {Role.ADMIN, Role.OPERATOR, Role.POLICE},
    "/api/recordings/clips/{clip_id}/file": {Role.ADMIN, Role.OPERATOR, Role.POLICE},
    "/api/cameras/{camera_id}/clip": {Role.ADMIN, Role.OPERATOR, Role.POLICE},
    "/events": {Role.ADMIN, Role.OPERATOR},
    "/api/events": {Role.ADMIN, Role.OPERATOR},  # detections and their snapshots: events, not live view
    "/api/events/{event_id}": {Role.ADMIN, Role.OPERATOR},
    "/api/events/{event_id}/snapshot.jpg": {Role.ADMIN, Role.OPERATOR},
    "/api/events/acknowledge": {Role.ADMIN, Role.OPERATOR},  # acknowledging
    "/requests": {Role.ADMIN, Role.POLICE},
    "/requests/{request_id}": {Role.ADMIN, Role.POLICE},  # police: only their own, on their sites (else 404)
    "/api/requests": {Role.ADMIN, Role.POLICE},
    "/api/requests/{request_id}": {Role.ADMIN, Role.POLICE},
    "/api/requests/{request_id}/approve": ADMIN,
    "/api/requests/{request_id}/reject": ADMIN,
    "/api/requests/{request_id}/export": ADMIN,
    "/api/requests/{request_id}/deliver": ADMIN,
    "/api/requests/{request_id}/close": ADMIN,
    "/api/requests/{request_id}/progress": {Role.ADMIN, Role.POLICE},
    "/api/requests/{request_id}/link": {Role.ADMIN, Role.POLICE},
    "/api/requests/{request_id}/verify": {Role.ADMIN, Role.POLICE},
    "/api/requests/{request_id}/handover.pdf": {Role.ADMIN, Role.POLICE},
    "/api/requests/download/{token}": {Role.ADMIN, Role.POLICE},  # the link must be the caller's own
    "/notifications": ADMIN,
    "/addons": ADMIN,
    "/system": ADMIN,
    "/users": ADMIN,
    "/api/users/me": ALL,
    "/api/users": ADMIN,
    "/api/users/{user_id}": ADMIN,
    "/api/users/{user_id}/password": ADMIN,
    "/api/auth/logout": ALL,
    "/audit": ADMIN,
    "/api/audit": ADMIN,
    "/api/audit.csv": ADMIN,
    "/metrics": ADMIN,
    "/api/storage": ADMIN,
    "/api/mqtt": ADMIN,  # GET shows the settings without the password; PUT changes them
    "/api/notifications/targets": ADMIN,  # never returns a target's URL
    "/api/notifications/targets/{target_id}": ADMIN,
    "/api/notifications/targets/{target_id}/test": ADMIN,
    "/api/notifications/rules": ADMIN,
    "/api/notifications/rules/{rule_id}": ADMIN,
    "/api/notifications/system": ADMIN,
    "/api/notifications/mutes": ADMIN,
    "/api/notifications/mutes/{mute_id}": ADMIN,
    "/api/notifications/log": ADMIN,
    "/api/addons": ADMIN,
    "/api/addons/{name}/enable": ADMIN,
    "/api/addons/{name}/disable": ADMIN,
    "/api/addons/{name}/options": ADMIN,
    "/addon/{name}/{subpath:path}": ALL,
    "/api/openapi.json": ADMIN,  # each add-on page then checks its own permission
    ("GET", "/api/sites"): ALL,  # live view needs the sites and cameras; police see only theirs
    ("POST", "/api/sites"): ADMIN,
    ("GET", "/api/sites/{site_id}"): ALL,
    ("PATCH", "/api/sites/{site_id}"): ADMIN,
    ("DELETE", "/api/sites/{site_id}"): ADMIN,
    ("GET", "/api/cameras"): ALL,
    ("POST", "/api/cameras"): ADMIN,
    ("GET", "/api/cameras/{camera_id}"): ALL,
    ("PATCH", "/api/cameras/{camera_id}"): ADMIN,
    ("DELETE", "/api/cameras/{camera_id}"): ADMIN,
    "/api/cameras/{camera_id}/status": ALL,
    "/live/{camera_id}": ALL,  # live view: police reach only the cameras of their sites
    "/api/cameras/{camera_id}/frame.jpg": ALL,
    "/api/cameras/{camera_id}/live": ALL,  # websocket; a plain GET finds no route (404)
    "/api/live/frames": ALL,  # websocket of the live grid
    "/static/{path:path}": ALL,  # the panel's own scripts and styles
    "/api/cameras/test": ADMIN,  # probes a stream with the stored password
    "/api/cameras.csv": ADMIN,  # GET exports, POST previews or imports
    ("GET", "/api/sites/map"): ALL,  # the map's tile settings
    ("PUT", "/api/sites/map"): ADMIN,
}


def route_table() -> list[tuple[str, str, str | None]]:
    """List (method, path template) of every route, from a process that mounts the panel afresh."""
    out = subprocess.run([sys.executable, "-m", "tests.harness.routes"], capture_output=True, text=True,
                         check=True, env=child_env(), cwd=Path(__file__).parents[2])  # fmt: skip
    return [(method, path, access) for method, path, access in json.loads(out.stdout)]


def concrete(path: str) -> str:
    """Fill path parameters with a value that exists (user 1 is the admin)."""
    return re.sub(r"\{[^}]+\}", "1", path)


def call(client: httpx.Client, method: str, path: str) -> httpx.Response:
    """Send a harmless request: an empty JSON object as body where one is expected."""
    kwargs = {"json": {}} if method in {"POST", "PUT", "PATCH"} else {}
    return client.request(method, concrete(path), **kwargs)


def refused_anonymously(response: httpx.Response) -> bool:
    """Return whether an anonymous request was turned away (401, or a redirect to /login)."""
    if response.status_code == 401:
        return True
    return response.status_code in (302, 303, 307) and response.headers["location"].startswith("/login")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAppliance]:
    running = start_appliance(tmp_path_factory.mktemp("routes") / "data")
    yield running
    running.stop()


def test_every_route_declares_who_may_use_it() -> None:
    table = route_table()
    assert len(table) > 15
    undeclared = [path for _, path, access in table if access is None]
    assert undeclared == []


def test_before_onboarding_everything_leads_to_onboarding(served: RunningAppliance) -> None:
    with served.client() as client:
        assert client.get("/").headers["location"] == "/onboarding"
        assert client.get("/users").headers["location"] == "/onboarding"
        assert client.get("/onboarding").status_code == 200
        assert client.get("/api/users/me").status_code == 401
        health = client.get("/healthz")
        assert health.status_code == 200
        assert set(health.json()) == {"status", "version"}


def test_every_route_refuses_anonymous_access_and_each_role_reaches_exactly_its_routes(
    served: RunningAppliance,
) -> None:
    served.add_user("owner", "admin")
    for role in ("operator", "police", "viewer"):
        served.add_user(f"a-{role}", role)
    clients = {Role.ADMIN: served.login("owner")}
    for role in (Role.OPERATOR, Role.POLICE, Role.VIEWER):
        clients[role] = served.login(f"a-{role}")

    table = route_table()
    checked = 0
    with served.client() as anonymous:
        for method, path, access in table:
            if method == "POST" and path == "/api/auth/logout":
                continue  # checked below: it would end the session used by the other checks
            response = call(anonymous, method, path)
            if path in OPEN_ROUTES:
                assert access == OPEN
                assert response.status_code not in (401, 403), (method, path)
            elif access == ONBOARDING:
                assert response.headers["location"] == "/login", (method, path)
            else:
                assert refused_anonymously(response), (method, path, response.status_code)

            if access in (OPEN, ONBOARDING):
                continue
            expected = EXPECTED.get((method, path), EXPECTED.get(path))
            assert expected is not None, f"add {path} to EXPECTED with the roles that should reach it"
            for role, client in clients.items():
                response = call(client, method, path)
                if role in expected:
                    assert response.status_code not in (401, 403), (role, method, path, response.status_code)
                else:
                    assert response.status_code == 403, (role, method, path, response.status_code)
                checked += 1
    assert checked >= 4 * 15

    for client in clients.values():
        assert client.post("/api/auth/logout").status_code == 200
        assert client.get("/api/users/me").status_code == 401
        client.close()
