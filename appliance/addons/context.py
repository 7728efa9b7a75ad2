"""What an add-on gets from the appliance: services, a folder of its own, and an exit stack."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance import host

if TYPE_CHECKING:
    from pydantic import BaseModel

    from appliance.audit import AuditLog
    from appliance.auth.principal import Principal
    from appliance.bus import EventBus
    from appliance.cameras import Cameras
    from appliance.detections import Detections
    from appliance.mqtt import MqttService
    from appliance.settings import Settings


@dataclass
class AddonContext:
    """The add-on's handle on the appliance; one per add-on, made anew at each setup."""

    name: str
    settings: Settings
    bus: EventBus
    audit: AuditLog
    data_dir: Path
    log: logging.Logger
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    configure: Callable[[dict[str, Any], Principal | None, str], Awaitable[BaseModel]] | None = field(
        default=None, repr=False
    )  # set by the add-on manager; use save_options()

    async def save_options(self, values: dict[str, Any], who: Principal, ip: str = "") -> BaseModel:
        """Validate and store new options for this add-on, as the Add-ons page does, for the user `who`.

        The same checks (OptionsInvalid with a message per field), the same audit entry; the add-on
        restarts with the new options. Blank secret fields keep the stored secret.
        """
        if self.configure is None:
            raise RuntimeError("this add-on context cannot save options")
        return await self.configure(values, who, ip)

    @property
    def cameras(self) -> Cameras:
        """Return the camera service: sites and cameras changed as the Cameras page changes them.

        The same checks, audit entries and CameraChanged announcements; each change names the user
        who makes it (`who=`), so an add-on acts for a person, never on its own authority.
        """
        from appliance.cameras import Cameras  # imported here: the camera service imports the recorder

        return Cameras(self.audit, self.bus)

    @property
    def mqtt(self) -> MqttService:
        """Return the appliance's one MQTT connection: subscribe(), publish(), topic(), status.

        Subscriptions outlive reconnects; unsubscribe on ctx.stack: ctx.stack.callback(ctx.mqtt.subscribe(...)).
        """
        from appliance.mqtt import current  # the connection of the appliance running in this process

        return current()

    @property
    def detections(self) -> Detections:
        """Return the detections service: report() a detection, attach_snapshot() its picture.

        Reports are idempotent per (source, external_id); see docs/addon-hooks.md.
        """
        from appliance.detections import current

        return current()

    async def latest_jpeg(self, camera_id: int, wait_s: float = 2.0, max_age_s: float = 10.0) -> bytes | None:
        """Return the camera's newest picture (a keyframe of its sub stream) as JPEG.

        A picture older than max_age_s does not count; None when no fresh one came within wait_s
        (the camera is off, failing, or sends keyframes less often than max_age_s).
        """
        from appliance.live.service import current

        frame = await current().latest_frame(camera_id, wait_s, max_age_s)
        return frame.jpeg if frame is not None else None

    def camera_online(self, camera_id: int) -> bool:
        """Return whether the camera is recorded and not announced offline (CameraOffline) at this moment.

        Follow changes with the bus's CameraOnline and CameraOffline events.
        """
        from appliance.recorder.manager import current

        return current().online(camera_id)

    def host_request(self, flag: host.HostFlag, on: bool) -> bool:
        """Ask the box WardCam runs on for something only root may do; return True when the request changed.

        "firewall/mqtt-lan" opens MQTT to the LAN, "frigate-container/enabled" runs Frigate's container.
        On the WardCam image, systemd acts on it within a second; elsewhere nothing does (see appliance.host).
        """
        return host.set_flag(self.settings.data_dir, flag, on)

    def host_file(self, name: host.HostFile, text: str, *, private: bool = False, keep_existing: bool = False) -> None:
        """Write a file the box reads (Frigate's config and environment); private ones only root and WardCam read.

        With keep_existing, a file already there stays as it is (the program that reads it owns it then).
        """
        host.write_file(self.settings.data_dir, name, text, private=private, keep_existing=keep_existing)
