"""An example add-on: greets on its own page, counts the events it hears, and serves the count."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter
from nicegui import ui
from pydantic import BaseModel, Field

from appliance.addons.context import AddonContext
from appliance.addons.hookspecs import hookimpl
from appliance.addons.manifest import AddonManifest
from appliance.addons.types import AddonPage, AddonRoutes, HealthCheck, HealthResult
from appliance.auth.roles import Permission
from appliance.bus import Event


class HelloOptions(BaseModel):
    """What staff can set for this add-on."""

    greeting: str = Field("Xin chào", title="Greeting", description="Shown at the top of the page")
    repeat: int = Field(1, ge=1, le=5, title="Repeat", description="How many times to greet")


MANIFEST = AddonManifest(
    name="hello",
    version="1.0.0",
    title="Hello",
    description="An example add-on from outside WardCam.",
    icon="waving_hand",
    options=HelloOptions,
)


@dataclass
class State:
    """What the add-on remembers while it runs."""

    options: HelloOptions = field(default_factory=HelloOptions)
    events: list[str] = field(default_factory=list)


state = State()


@hookimpl
def wardcam_setup(ctx: AddonContext, options: HelloOptions) -> None:
    state.options = options
    state.events.clear()
    ctx.log.info("hello: set up with greeting %r", options.greeting)


@hookimpl
def wardcam_teardown(ctx: AddonContext) -> None:
    ctx.log.info("hello: torn down after %d events", len(state.events))


@hookimpl
def wardcam_event(ctx: AddonContext, event: Event) -> None:
    state.events.append(event.name)


def hello_page() -> None:
    for _ in range(state.options.repeat):
        ui.label(state.options.greeting).classes("text-xl").mark("greeting")
    ui.label(f"Events heard: {len(state.events)}").mark("event-count")


@hookimpl
def wardcam_pages(ctx: AddonContext) -> list[AddonPage]:
    return [
        AddonPage(path="status", title_key="Hello", build=hello_page, access=Permission.VIEW_LIVE, icon="waving_hand")
    ]


router = APIRouter()


@router.get("/events")
async def heard() -> dict[str, object]:
    return {"count": len(state.events), "last": state.events[-1] if state.events else None}


@hookimpl
def wardcam_api_routes(ctx: AddonContext) -> list[AddonRoutes]:
    return [AddonRoutes(router=router, access={"/events": Permission.VIEW_LIVE})]


async def always_fine() -> HealthResult:
    return HealthResult(ok=True, message_key="Hello is fine")


@hookimpl
def wardcam_health_checks(ctx: AddonContext) -> list[HealthCheck]:
    return [HealthCheck(name_key="Hello", run=always_fine)]
