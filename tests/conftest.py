"""Fixtures shared by the whole suite: real components, and the real appliance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness.appliance import RunningAppliance, start_appliance

pytest_plugins = ["tests.harness.fixtures", "nicegui.testing.user_plugin"]

ARTIFACTS = Path(__file__).parent / "artifacts"


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
