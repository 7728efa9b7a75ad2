"""Fixtures shared by the whole suite: real components, and the real appliance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nicegui.testing import User
from playwright.async_api import expect as async_expect
from playwright.sync_api import expect as sync_expect

from tests.harness.appliance import RunningAppliance, start_appliance

pytest_plugins = ["tests.harness.fixtures", "nicegui.testing.user_plugin"]

ARTIFACTS = Path(__file__).parent / "artifacts"

# Chromium assertions wait up to 15 s (Playwright's default is 5 s: too short on a loaded 2-core CI run)
sync_expect.set_options(timeout=15_000)
async_expect.set_options(timeout=15_000)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the tests that share a module-scoped fixture (a served appliance, footage) on one pytest-xdist worker.

    `make test` runs the suite on several workers with `--dist loadgroup`: these modules go whole to one
    worker, which starts their fixture once; every other test goes to whichever worker is free.
    """
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        shared = [defs[-1] for name in info.names_closure if (defs := info.name2fixturedefs.get(name))]
        if any(fixture.scope == "module" for fixture in shared):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


@pytest.fixture(scope="session", autouse=True)
def patient_user() -> Iterator[None]:
    """Let NiceGUI's simulated user look for up to 3 s before failing, instead of its default 0.3 s.

    A save that writes the database and the audit log took longer than 0.3 s on a loaded 2-core CI run, and
    tests that were right failed; a test whose element never comes still fails, 3 s later.
    """
    original = User.should_see

    async def should_see(self: User, *args: Any, retries: int = 30, **kwargs: Any) -> None:
        await original(self, *args, retries=retries, **kwargs)

    User.should_see = should_see  # type: ignore[method-assign]
    yield
    User.should_see = original  # type: ignore[method-assign]


@pytest.fixture
def artifacts() -> Path:
    """Return the folder where tests leave screenshots for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def module_appliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAppliance]:
    """One served appliance for a whole test module, with an admin `admin` and a viewer `xem`."""
    running = start_appliance(tmp_path_factory.mktemp("appliance") / "data")
    running.add_user("admin", "admin")
    running.add_user("xem", "viewer")
    yield running
    running.stop()


@pytest.fixture
def admin(module_appliance: RunningAppliance) -> Iterator[httpx.Client]:
    """An HTTP client logged in as the module appliance's admin."""
    client = module_appliance.login("admin")
    yield client
    client.close()


@pytest.fixture
def appliance_server(tmp_path: Path) -> Iterator[RunningAppliance]:
    """Serve a fresh appliance with an empty data directory."""
    running = start_appliance(tmp_path / "data")
    yield running
    running.stop()
