"""Frigate's official container on the WardCam image: its first config, its environment, and the request to run it.

WardCam writes ``frigate-container/config/config.yml`` once (Frigate owns it afterwards; later changes go
through "push the config" on the add-on's page), and ``frigate-container/frigate.env`` at every start and
camera change: the cameras' passwords (percent-encoded, as they sit inside stream URLs) and the broker
password, which the config names as ``{FRIGATE_CAM_<id>_PASSWORD}`` and ``{FRIGATE_MQTT_PASSWORD}``.
Then it asks the box to run the container (appliance.host); the image's frigate.service reads both files.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from addons.frigate import frigate_config
from addons.frigate.config import FrigateOptions
from appliance.addons.context import AddonContext

CONFIG_FILE: Final = "frigate-container/config/config.yml"
ENV_FILE: Final = "frigate-container/frigate.env"


def environment(cameras: list[frigate_config.CameraSource], mqtt_password: str) -> str:
    """Return the container's environment file: one VARIABLE=value line a password."""
    lines = [f"{frigate_config.password_variable(c.id)}={quote(c.password, safe='')}" for c in cameras if c.password]
    if mqtt_password:
        lines.append(f"{frigate_config.MQTT_PASSWORD_VARIABLE}={mqtt_password}")
    return "".join(line + "\n" for line in lines)


def prepare(ctx: AddonContext, options: FrigateOptions, cameras: list[frigate_config.CameraSource],
            broker: frigate_config.Broker | None) -> None:  # fmt: skip
    """Write the first config (only when Frigate has none) and the environment, and ask for the container."""
    config = frigate_config.render(frigate_config.build(cameras, broker, options))
    ctx.host_file(CONFIG_FILE, config, keep_existing=True)
    ctx.host_file(ENV_FILE, environment(cameras, options.mqtt_password.get_secret_value()), private=True)
    if ctx.host_request("frigate-container/enabled", True):
        ctx.log.info("asked the box to run Frigate's container (%d cameras in its first config)", len(cameras))
