"""The built-in "Mosquitto broker": a local MQTT broker under WardCam's supervision, like Home Assistant's add-on.

It uses only the public hooks and `ctx.mqtt`: at setup it writes the config, starts mosquitto
(restarted after any exit, see broker.py) and tells the appliance's MQTT connection where it
listens and with which login, which the connection uses while the MQTT settings say "built-in
broker". Other programs (Frigate, Home Assistant) log in as the users listed in the options, with
passwords set on the add-on's page (/addon/mosquitto/users): write-only, stored only as
mosquitto_passwd hashes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from addons.mosquitto.broker import BrokerState, SupervisedBroker
from addons.mosquitto.config import APPLIANCE_USER, BrokerFiles, MosquittoOptions
from appliance.addons.context import AddonContext
from appliance.addons.hookspecs import hookimpl
from appliance.addons.manifest import AddonManifest
from appliance.addons.types import AddonPage, HealthCheck, HealthResult
from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.errors import WardCamError
from appliance.mqtt import BuiltinBroker

MANIFEST = AddonManifest(
    name="mosquitto",
    version="1.0.0",
    title="addon.mosquitto.title",
    description="addon.mosquitto.description",
    icon="hub",
    options=MosquittoOptions,
    builtin=True,
)
PASSWORD_MIN = 8
PASSWORD_MAX = 128


class PasswordRefused(WardCamError):
    """A broker user's new password is too short, too long or has characters a password file cannot hold."""

    key = "addon.mosquitto.error.password"
    status = 422
    field = "password"


class UnknownUser(WardCamError):
    """The user is not listed in the add-on's options."""

    key = "addon.mosquitto.error.unknown_user"
    status = 404


@dataclass
class Runtime:
    """What the add-on holds while it runs."""

    ctx: AddonContext
    options: MosquittoOptions
    files: BrokerFiles
    broker: SupervisedBroker


runtime: Runtime | None = None


def running() -> Runtime:
    """Return the running add-on's state; its page is only served while it runs."""
    if runtime is None:
        raise RuntimeError("the Mosquitto broker add-on is not running")
    return runtime


async def set_password(username: str, password: str, who: Principal | None = None, ip: str = "") -> None:
    """Give a listed user a new password: hashed into the password file, read by mosquitto at once, audited."""
    rt = running()
    if username not in rt.options.users:
        raise UnknownUser(user=username)
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX or any(ord(c) < 32 for c in password):
        raise PasswordRefused(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)
    await asyncio.to_thread(rt.files.set_password, username, password)
    await rt.broker.reload()
    await rt.ctx.audit.record("addon.mosquitto.password_set", who=who, object_type="addon", object_id="mosquitto",
                              ip=ip, detail={"user": username})  # fmt: skip
    rt.ctx.log.info("broker user %s has a new password", username)


@hookimpl
async def wardcam_setup(ctx: AddonContext, options: MosquittoOptions) -> None:
    global runtime
    files = BrokerFiles(ctx.data_dir)
    broker = SupervisedBroker(files, options)
    await broker.start()
    ctx.stack.push_async_callback(broker.stop)
    ctx.host_request("firewall/mqtt-lan", options.listen_on_lan)  # the image's firewall opens 1883, or not
    ctx.stack.callback(ctx.host_request, "firewall/mqtt-lan", False)
    runtime = Runtime(ctx, options, files, broker)
    login = await asyncio.to_thread(files.appliance_password)
    await ctx.mqtt.set_builtin_broker(BuiltinBroker(broker.url, APPLIANCE_USER, login))
    ctx.stack.push_async_callback(ctx.mqtt.set_builtin_broker, None)  # closed first: say "offline" while it runs


@hookimpl
def wardcam_teardown(ctx: AddonContext) -> None:
    global runtime
    runtime = None


@hookimpl
def wardcam_pages(ctx: AddonContext) -> list[AddonPage]:
    from addons.mosquitto.page import users_page

    return [AddonPage(path="users", title_key="addon.mosquitto.page_title", build=users_page,
                      access=Permission.MANAGE_ADDONS, icon="hub")]  # fmt: skip


async def broker_health() -> HealthResult:
    """Tell whether the built-in broker runs, and where it listens."""
    rt = running()
    status = rt.broker.status
    where: dict[str, str | int | float] = {"port": rt.options.port}
    if status.state == BrokerState.RUNNING:
        key = "addon.mosquitto.health.lan" if rt.options.listen_on_lan else "addon.mosquitto.health.local"
        return HealthResult(ok=True, message_key=key, params=where)
    return HealthResult(ok=False, message_key="addon.mosquitto.health.down",
                        params={**where, "code": "—" if status.last_exit is None else status.last_exit})  # fmt: skip


@hookimpl
def wardcam_health_checks(ctx: AddonContext) -> list[HealthCheck]:
    return [HealthCheck(name_key="addon.mosquitto.health.name", run=broker_health)]
