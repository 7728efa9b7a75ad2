"""Add-on modules made in the test, and a manager over a real database."""

from __future__ import annotations

import types
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from appliance.addons.hookspecs import hookimpl
from appliance.addons.manager import AddonManager
from appliance.addons.manifest import AddonManifest
from appliance.audit import AuditLog
from appliance.bus import EventBus
from appliance.settings import Settings


class GreeterOptions(BaseModel):
    greeting: str = Field("xin chào", min_length=2)
    repeat: int = Field(1, ge=1, le=5)


def make_addon(name: str, options: type[BaseModel] = GreeterOptions, dependencies: tuple[str, ...] = (),
               **hooks: Callable[..., Any]) -> types.ModuleType:  # fmt: skip
    """Build an add-on module with a manifest and the given hook implementations."""
    module = types.ModuleType(f"test_addon_{name.replace('-', '_')}")
    module.MANIFEST = AddonManifest(  # type: ignore[attr-defined]
        name=name, version="0.1", title=name.title(), options=options, dependencies=dependencies
    )
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


@pytest.fixture
async def manager(db: Path) -> AsyncIterator[AddonManager]:
    """An add-on manager with no add-ons discovered yet, over the test database."""
    settings = Settings(data_dir=db)
    mgr = AddonManager(settings, EventBus(), AuditLog(db / "audit-head.json"))
    yield mgr
    await mgr.stop()
