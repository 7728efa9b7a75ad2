"""The add-on manager against a real database: runtime enable, disable and configure, and failure isolation."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

import pytest
from pydantic import BaseModel, Field

from appliance.addons.context import AddonContext
from appliance.addons.manager import AddonManager, AddonStatus, DependencyMissing, DependentsRunning, OptionsInvalid
from appliance.addons.manifest import AddonManifest
from appliance.bus import CameraChanged, Event
from appliance.db.models.addons import AddonState
from appliance.db.models.audit import AuditEntry
from appliance.settings import Settings
from tests.appliance.addons.conftest import GreeterOptions, make_addon


class Recorder:
    """Remembers what the hooks of a test add-on were called with."""

    def __init__(self) -> None:
        self.setups: list[BaseModel] = []
        self.teardowns = 0
        self.cleanups = 0
        self.events: list[Event] = []

    def hooks(self) -> dict[str, Any]:
        async def wardcam_setup(ctx: AddonContext, options: BaseModel) -> None:
            self.setups.append(options)

            async def cleanup() -> None:
                self.cleanups += 1

            ctx.stack.push_async_callback(cleanup)

        def wardcam_teardown(ctx: AddonContext) -> None:
            self.teardowns += 1

        async def wardcam_event(ctx: AddonContext, event: Event) -> None:
            self.events.append(event)

        return {"wardcam_setup": wardcam_setup, "wardcam_teardown": wardcam_teardown, "wardcam_event": wardcam_event}


async def test_wardcam_setup_gets_validated_options_and_teardown_closes_the_stack(manager: AddonManager) -> None:
    calls = Recorder()
    manager.register_module(make_addon("greeter", **calls.hooks()), "test")
    addon = await manager.enable("greeter")
    assert addon.status == AddonStatus.RUNNING
    assert calls.setups == [GreeterOptions()]
    await manager.disable("greeter")
    assert (calls.teardowns, calls.cleanups) == (1, 1)
    assert addon.status == AddonStatus.DISABLED
    actions = await AuditEntry.all().values_list("action", flat=True)
    assert actions == ["addon.enabled", "addon.disabled"]


async def test_configuring_a_running_addon_restarts_it_with_the_new_options(manager: AddonManager) -> None:
    calls = Recorder()
    manager.register_module(make_addon("greeter", **calls.hooks()), "test")
    await manager.enable("greeter")
    await manager.configure("greeter", {"greeting": "chào buổi tối", "repeat": 3})
    assert calls.setups[-1] == GreeterOptions(greeting="chào buổi tối", repeat=3)
    assert calls.teardowns == 1
    stored = await AddonState.get(name="greeter")
    assert stored.options == {"greeting": "chào buổi tối", "repeat": 3}


async def test_invalid_options_are_refused_per_field_and_nothing_changes(manager: AddonManager) -> None:
    manager.register_module(make_addon("greeter"), "test")
    with pytest.raises(OptionsInvalid) as caught:
        await manager.configure("greeter", {"greeting": "x", "repeat": 9})
    assert caught.value.fields == {
        "greeting": "Quá ngắn: cần ít nhất 2 ký tự.",
        "repeat": "Phải nhỏ hơn hoặc bằng 5.",
    }
    assert not await AddonState.exists(name="greeter")


async def test_an_addon_failing_in_setup_is_marked_failed_and_the_others_run_on(manager: AddonManager) -> None:
    def wardcam_setup(ctx: AddonContext, options: BaseModel) -> None:
        raise ConnectionError("broker unreachable")

    healthy = Recorder()
    manager.register_module(make_addon("flaky", wardcam_setup=wardcam_setup), "test")
    manager.register_module(make_addon("healthy", **healthy.hooks()), "test")
    flaky = await manager.enable("flaky")
    await manager.enable("healthy")
    assert flaky.status == AddonStatus.FAILED
    assert flaky.error == "ConnectionError: broker unreachable"
    assert [a.name for a in manager.running()] == ["healthy"]


async def test_wardcam_event_reaches_running_addons_and_a_failing_one_holds_up_none(manager: AddonManager) -> None:
    def wardcam_event(ctx: AddonContext, event: Event) -> None:
        raise ValueError("bad event handling")

    healthy = Recorder()
    manager.register_module(make_addon("broken-handler", wardcam_event=wardcam_event), "test")
    manager.register_module(make_addon("healthy", **healthy.hooks()), "test")
    await manager.enable("broken-handler")
    await manager.enable("healthy")
    manager.bus.publish(CameraChanged(camera_id=7, change="created"))
    await manager.bus.drain()
    await asyncio.sleep(0)
    assert [e.name for e in healthy.events] == ["camera_changed"]
    assert manager.get("broken-handler").status == AddonStatus.FAILED


async def test_broken_addons_are_listed_with_their_error(manager: AddonManager) -> None:
    import types

    no_manifest = types.ModuleType("no_manifest")
    misspelled = make_addon("misspelled")
    misspelled.wardcam_setpu = lambda ctx, options: None  # type: ignore[attr-defined]
    manager.register_module(no_manifest, "test")
    manager.register_module(misspelled, "test")
    assert manager.get("no_manifest").status == AddonStatus.BROKEN
    assert "MANIFEST" in manager.get("no_manifest").error
    assert manager.get("misspelled").status == AddonStatus.BROKEN
    assert "wardcam_setpu" in manager.get("misspelled").error


def test_a_manifest_with_a_bad_name_or_options_without_defaults_is_refused() -> None:
    class NeedsValue(BaseModel):
        url: str = Field(...)

    with pytest.raises(ValueError, match="name"):
        AddonManifest(name="Bad Name!", version="1", title="x")
    with pytest.raises(ValueError, match="default"):
        AddonManifest(name="ok-name", version="1", title="x", options=NeedsValue)


async def test_enabled_addons_start_again_at_the_next_start_with_their_options(manager: AddonManager) -> None:
    calls = Recorder()
    module = make_addon("greeter", **calls.hooks())
    manager.register_module(module, "test")
    await manager.configure("greeter", {"greeting": "chào", "repeat": 2})
    await manager.enable("greeter")
    await manager.stop()

    again = AddonManager(manager.settings, manager.bus, manager.audit)
    again.discover = lambda: again.register_module(module, "test")  # type: ignore[method-assign]
    await again.start()
    assert again.get("greeter").running
    assert calls.setups[-1] == GreeterOptions(greeting="chào", repeat=2)
    await again.stop()


async def test_safe_mode_loads_no_addons(manager: AddonManager) -> None:
    safe = AddonManager(Settings(data_dir=manager.settings.data_dir, safe_mode=True), manager.bus, manager.audit)
    await safe.start()
    assert safe.addons == {}


async def test_dependencies_must_run_first_and_cannot_be_stopped_under_a_dependent(manager: AddonManager) -> None:
    manager.register_module(make_addon("broker"), "test")
    manager.register_module(make_addon("detector", dependencies=("broker",)), "test")
    with pytest.raises(DependencyMissing):
        await manager.enable("detector")
    await manager.enable("broker")
    await manager.enable("detector")
    with pytest.raises(DependentsRunning):
        await manager.disable("broker")
    assert manager.get("broker").running


async def test_each_addon_gets_its_own_data_folder_and_exit_stack(manager: AddonManager) -> None:
    seen: list[AddonContext] = []

    def wardcam_setup(ctx: AddonContext, options: BaseModel) -> None:
        seen.append(ctx)

    manager.register_module(make_addon("one", wardcam_setup=wardcam_setup), "test")
    manager.register_module(make_addon("two", wardcam_setup=wardcam_setup), "test")
    await manager.enable("one")
    await manager.enable("two")
    assert [c.data_dir.name for c in seen] == ["one", "two"]
    assert all(c.data_dir.is_dir() for c in seen)
    assert isinstance(seen[0].stack, AsyncExitStack) and seen[0].stack is not seen[1].stack
