"""Notifications through Apprise: targets, rules, system notifications, maintenance mutes and the delivery queue."""

from appliance.notify.errors import NotifyInputInvalid, UnknownService
from appliance.notify.service import Notifications
from appliance.notify.system import NotifySettings

__all__ = ["Notifications", "NotifyInputInvalid", "NotifySettings", "UnknownService"]
