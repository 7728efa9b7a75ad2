"""Find add-ons (built-in and by entry point), and enable, disable and configure them at runtime.

Built-in add-ons and third-party ones go through the same path: a module with a MANIFEST and
hook implementations, registered with pluggy while it runs. An add-on that raises in a hook is
marked failed with its error; the appliance and the other add-ons go on.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy
from pydantic import BaseModel, ValidationError

from appliance.addons import options as addon_options
from appliance.addons.context import AddonContext
from appliance.addons.hookspecs import HOOK_NAMES, PROJECT, AddonSpec
from appliance.addons.manifest import AddonManifest
from appliance.addons.types import AddonPage, AddonRoutes, DiscoveredCamera, HealthCheck, NotificationService
from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.bus import Event, EventBus
from appliance.db.models.addons import AddonState
from appliance.errors import NotFound, WardCamError
from appliance.settings import Settings
from appliance.validation import field_errors

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "wardcam.addons"
BUILTIN_PACKAGE = "addons"


class AddonStatus(StrEnum):
    """Where an add-on stands."""

    DISABLED = "disabled"
    RUNNING = "running"
    FAILED = "failed"  # raised in setup or in a hook; its error is shown
    BROKEN = "broken"  # could not be imported, or its manifest or hooks are invalid


class OptionsInvalid(WardCamError):
    """Some options did not validate; each field gets its own translated message."""

    key = "error.invalid_request"
    status = 422

    def __init__(self, errors: ValidationError) -> None:
        super().__init__()
        self.errors = errors.errors()

    def field_messages(self, message: str, lang: str | None = None) -> dict[str, str]:
        """Return one translated message per field that did not validate."""
        return field_errors(self.errors, lang)

    @property
    def fields(self) -> dict[str, str]:
        """Return the messages per field in the current language."""
        return field_errors(self.errors)


class DependencyMissing(WardCamError):
    """An add-on needs another one that is not running."""

    key = "addons.error.dependency_missing"
    status = 409


class DependentsRunning(WardCamError):
    """Other running add-ons need this one."""

    key = "addons.error.dependents_running"
    status = 409


class AddonUnusable(WardCamError):
    """The add-on is broken and cannot be enabled."""

    key = "addons.error.broken"
    status = 409


@dataclass
class Addon:
    """One add-on as the manager knows it."""

    name: str
    origin: str
    module: ModuleType | None = None
    manifest: AddonManifest | None = None
    status: AddonStatus = AddonStatus.DISABLED
    error: str = ""
    options: BaseModel | None = None
    ctx: AddonContext | None = None
    included_routes: bool = False
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        """Return whether the add-on is set up and serving."""
        return self.status == AddonStatus.RUNNING


Listener = Callable[[Addon], None]


class AddonManager:
    """Discover, enable, disable and configure add-ons, and call their hooks with isolation."""

    def __init__(self, settings: Settings, bus: EventBus, audit: AuditLog) -> None:
        self.settings = settings
        self.bus = bus
        self.audit = audit
        self.addons: dict[str, Addon] = {}
        self.listeners: list[Listener] = []
        self._order: tuple[tuple[tuple[str, int], ...], list[Addon]] = ((), [])
        self._pm = pluggy.PluginManager(PROJECT)
        self._pm.add_hookspecs(AddonSpec)
        bus.subscribe(Event, self._dispatch)  # events reach running add-ons only

    # discovery -----------------------------------------------------------------------------

    def discover(self) -> None:
        """Find the built-in add-ons and those installed by entry point."""
        try:
            package = importlib.import_module(BUILTIN_PACKAGE)
            for info in pkgutil.iter_modules(package.__path__):
                self._load(info.name, "builtin", partial(importlib.import_module, f"{BUILTIN_PACKAGE}.{info.name}"))
        except ImportError:
            log.warning("built-in add-ons package %s not found", BUILTIN_PACKAGE)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            origin = f"{ep.dist.name} {ep.dist.version}" if ep.dist else ep.value
            self._load(ep.name, origin, ep.load)

    def register_module(self, module: ModuleType, origin: str) -> Addon:
        """Make an already imported add-on module known, exactly as discovery does."""
        name = getattr(getattr(module, "MANIFEST", None), "name", module.__name__)
        self._load(name, origin, lambda: module)
        return self.addons[name]

    def _load(self, key: str, origin: str, importer: Callable[[], Any]) -> None:
        try:
            module = importer()
            manifest = getattr(module, "MANIFEST", None)
            if not isinstance(manifest, AddonManifest):
                raise TypeError("the module has no MANIFEST of type AddonManifest")
            unknown = [n for n, v in vars(module).items() if n.startswith("wardcam_") and callable(v)
                       and n not in HOOK_NAMES]  # fmt: skip
            if unknown:
                raise TypeError(f"unknown hooks: {', '.join(unknown)}")
        except Exception as exc:
            log.error("add-on %s (%s) cannot be loaded: %s", key, origin, exc)
            self.addons[key] = Addon(key, origin, status=AddonStatus.BROKEN, error=f"{type(exc).__name__}: {exc}")
            return
        if manifest.name in self.addons:
            log.error("add-on %s from %s ignored: the name is taken", manifest.name, origin)
            return
        self.addons[manifest.name] = Addon(manifest.name, origin, module, manifest, options=manifest.options())

    # lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Discover add-ons and start those that were enabled; nothing at all in safe mode."""
        if self.settings.safe_mode:
            log.warning("safe mode: no add-ons are loaded")
            return
        self.discover()
        stored = {row.name: row for row in await AddonState.all()}
        for addon in self._in_dependency_order([n for n, row in stored.items() if row.enabled]):
            addon.options = self._stored_options(addon, stored[addon.name].options)
            await self._start(addon)

    async def stop(self) -> None:
        """Tear down every running add-on, dependents first."""
        for addon in reversed(self._in_dependency_order([a.name for a in self.addons.values() if a.running])):
            await self._stop(addon)

    async def enable(self, name: str, by: Principal | None = None, ip: str = "") -> Addon:
        """Enable an add-on now, and at every start from now on."""
        addon = self.get(name)
        if addon.manifest is None:
            raise AddonUnusable(name=name)
        missing = [d for d in addon.manifest.dependencies if not (d in self.addons and self.addons[d].running)]
        if missing:
            raise DependencyMissing(name=name, missing=", ".join(missing))
        await AddonState.update_or_create(name=name, defaults={"enabled": True})
        await self.audit.record("addon.enabled", who=by, object_type="addon", object_id=name, ip=ip)
        if not addon.running:
            await self._start(addon)
        return addon

    async def disable(self, name: str, by: Principal | None = None, ip: str = "") -> Addon:
        """Disable an add-on now, and at every start from now on."""
        addon = self.get(name)
        dependents = [
            a.name for a in self.addons.values() if a.running and a.manifest and name in a.manifest.dependencies
        ]
        if dependents:
            raise DependentsRunning(name=name, dependents=", ".join(dependents))
        await AddonState.update_or_create(name=name, defaults={"enabled": False})
        await self.audit.record("addon.disabled", who=by, object_type="addon", object_id=name, ip=ip)
        await self._stop(addon)
        addon.status, addon.error = AddonStatus.DISABLED, ""
        self._changed(addon)
        return addon

    async def configure(
        self, name: str, values: dict[str, Any], by: Principal | None = None, ip: str = ""
    ) -> BaseModel:
        """Validate and store new options; a running add-on restarts with them."""
        addon = self.get(name)
        if addon.manifest is None:
            raise AddonUnusable(name=name)
        current = addon.options or addon.manifest.options()
        merged = dict(values)
        for secret in addon_options.secret_fields(addon.manifest.options):
            if not merged.get(secret):  # left blank: keep the current secret
                merged[secret] = addon_options.dump(current).get(secret)
        try:
            new = addon.manifest.options.model_validate(merged)
        except ValidationError as exc:
            raise OptionsInvalid(exc) from exc
        changed = sorted(k for k, v in addon_options.dump(new).items() if addon_options.dump(current).get(k) != v)
        await AddonState.update_or_create(name=name, defaults={"options": addon_options.dump(new)})
        await self.audit.record("addon.configured", who=by, object_type="addon", object_id=name, ip=ip,
                                detail={"changed": changed})  # fmt: skip
        addon.options = new
        if addon.running:
            await self._stop(addon)
            await self._start(addon)
        return new

    def get(self, name: str) -> Addon:
        """Return one add-on, or raise NotFound."""
        addon = self.addons.get(name)
        if addon is None:
            raise NotFound()
        return addon

    def running(self) -> list[Addon]:
        """Return the running add-ons in dependency order."""
        known = tuple((name, id(addon)) for name, addon in self.addons.items())
        if self._order[0] != known:  # add-ons found or removed since the order was worked out
            self._order = (known, self._in_dependency_order(list(self.addons)))
        return [a for a in self._order[1] if a.running]

    # what running add-ons contribute -------------------------------------------------------

    async def pages(self) -> list[tuple[Addon, AddonPage]]:
        """Return every page of every running add-on."""
        return [(a, p) for a in self.running() for p in await self._collect(a, "wardcam_pages")]

    async def routes(self, addon: Addon) -> list[AddonRoutes]:
        """Return the API routes of one running add-on."""
        return list(await self._collect(addon, "wardcam_api_routes"))

    async def notification_services(self) -> list[NotificationService]:
        """Return the notification services of every running add-on."""
        return [s for a in self.running() for s in await self._collect(a, "wardcam_notification_services")]

    async def health_checks(self) -> list[tuple[Addon, HealthCheck]]:
        """Return the health checks of every running add-on."""
        return [(a, c) for a in self.running() for c in await self._collect(a, "wardcam_health_checks")]

    async def discover_cameras(self, progress: Callable[[float], None]) -> list[DiscoveredCamera]:
        """Ask every running add-on that can discover cameras, and merge what they find."""
        found: list[DiscoveredCamera] = []
        for addon in self.running():
            result = await self._call(addon, "wardcam_discover_cameras", progress=progress)
            found.extend(result or [])
        return found

    # internals -----------------------------------------------------------------------------

    async def _start(self, addon: Addon) -> None:
        assert addon.module is not None and addon.manifest is not None
        data_dir = self.settings.data_dir / "addons" / addon.name
        data_dir.mkdir(parents=True, exist_ok=True)
        addon.ctx = AddonContext(addon.name, self.settings, self.bus, self.audit, data_dir,
                                 logging.getLogger(f"addons.{addon.name}"),
                                 configure=partial(self.configure, addon.name))  # fmt: skip
        try:
            self._pm.register(addon.module, name=addon.name)
            self._pm.check_pending()
        except Exception as exc:
            self._unregister(addon)
            addon.status, addon.error = AddonStatus.BROKEN, f"{type(exc).__name__}: {exc}"
            log.error("add-on %s has invalid hooks: %s", addon.name, exc)
            self._changed(addon)
            return
        addon.status, addon.error = AddonStatus.RUNNING, ""
        await self._call(addon, "wardcam_setup", options=addon.options or addon.manifest.options())
        if addon.running:
            log.info("add-on %s %s started", addon.name, addon.manifest.version)
        self._changed(addon)

    async def _stop(self, addon: Addon) -> None:
        if addon.ctx is None:
            return
        if addon.running:
            await self._call(addon, "wardcam_teardown")
        try:
            await addon.ctx.stack.aclose()
        except Exception:
            log.exception("add-on %s: a cleanup failed", addon.name)
        addon.ctx = None
        self._unregister(addon)
        if addon.status == AddonStatus.RUNNING:
            addon.status = AddonStatus.DISABLED
        self._changed(addon)

    def _unregister(self, addon: Addon) -> None:
        if self._pm.get_plugin(addon.name) is not None:
            self._pm.unregister(name=addon.name)

    async def _call(self, addon: Addon, hook: str, **kwargs: Any) -> Any:
        """Call one add-on's implementation of a hook; a failure marks the add-on failed."""
        impl = next((i for i in getattr(self._pm.hook, hook).get_hookimpls() if i.plugin_name == addon.name), None)
        if impl is None or addon.ctx is None:
            return None
        try:
            result = impl.function(ctx=addon.ctx, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result
        except Exception as exc:
            addon.status, addon.error = AddonStatus.FAILED, f"{type(exc).__name__}: {exc}"
            log.exception("add-on %s failed in %s", addon.name, hook)
            self._changed(addon)
            if hook not in ("wardcam_teardown",):
                asyncio.get_running_loop().create_task(self._stop_failed(addon))
            return None

    async def _stop_failed(self, addon: Addon) -> None:
        if addon.ctx is not None:
            await self._stop(addon)

    async def _collect(self, addon: Addon, hook: str) -> list[Any]:
        return list(await self._call(addon, hook) or [])

    async def _dispatch(self, event: Event) -> None:
        """Hand an event to every running add-on that listens, at once; one slow or failing add-on holds up none.

        Detections can come a thousand a second: only add-ons with a wardcam_event hook are called.
        """
        listening = {i.plugin_name for i in self._pm.hook.wardcam_event.get_hookimpls()}
        calls = [self._call(a, "wardcam_event", event=event) for a in self.running() if a.name in listening]
        if len(calls) == 1:
            await calls[0]
        elif calls:
            await asyncio.gather(*calls)

    def _stored_options(self, addon: Addon, stored: dict[str, Any]) -> BaseModel:
        """Return the stored options, or the defaults when they no longer validate."""
        assert addon.manifest is not None
        try:
            return addon.manifest.options.model_validate(stored or {})
        except ValidationError as exc:
            log.warning("add-on %s: stored options are invalid (%s); using defaults", addon.name, exc)
            return addon.manifest.options()

    def _in_dependency_order(self, names: list[str]) -> list[Addon]:
        ordered: list[Addon] = []
        seen: set[str] = set()

        def visit(name: str, path: tuple[str, ...] = ()) -> None:
            addon = self.addons.get(name)
            if addon is None or name in seen or name in path:
                return
            for dep in addon.manifest.dependencies if addon.manifest else ():
                visit(dep, (*path, name))
            seen.add(name)
            ordered.append(addon)

        for name in names:
            visit(name)
        return [a for a in ordered if a.name in names or a.running]

    def _changed(self, addon: Addon) -> None:
        for listener in list(self.listeners):
            try:
                listener(addon)
            except Exception:
                log.exception("add-on listener failed")
