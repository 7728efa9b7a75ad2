"""The built-in "Zalo" add-on: Zalo Bot Platform messages as an Apprise service (zalobot://TOKEN/CHAT_ID).

It contributes one Apprise custom plugin (apprise_zalo.py) through the wardcam_notification_services hook;
while it runs, the Notifications page offers Zalo among the services. See README.md for what it can and
cannot send.
"""

from __future__ import annotations

from pathlib import Path

from appliance.addons.context import AddonContext
from appliance.addons.hookspecs import hookimpl
from appliance.addons.manifest import AddonManifest
from appliance.addons.types import NotificationService

SCHEME = "zalobot"
PLUGIN = Path(__file__).with_name("apprise_zalo.py")

MANIFEST = AddonManifest(
    name="zalo",
    version="1.0.0",
    title="addon.zalo.title",
    description="addon.zalo.description",
    icon="chat",
    builtin=True,
)


@hookimpl
def wardcam_notification_services(ctx: AddonContext) -> list[NotificationService]:
    """Offer zalobot:// to the notification system."""
    return [NotificationService(SCHEME, "addon.zalo.title", str(PLUGIN))]
