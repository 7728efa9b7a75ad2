"""All Tortoise models, one module a concern."""

from appliance.db.models.addons import AddonState
from appliance.db.models.audit import AuditEntry
from appliance.db.models.cameras import AudioPolicy, Camera, Site
from appliance.db.models.detections import Detection
from appliance.db.models.notify import NotificationDelivery, NotificationMute, NotificationRule, NotificationTarget
from appliance.db.models.recordings import DiskSample, EvidenceLock, Segment
from appliance.db.models.requests import FootageRequest
from appliance.db.models.settings import Setting
from appliance.db.models.users import ApiToken, Role, Session, User

__all__ = [
    "AddonState",
    "ApiToken",
    "AudioPolicy",
    "AuditEntry",
    "Camera",
    "Detection",
    "DiskSample",
    "EvidenceLock",
    "FootageRequest",
    "NotificationDelivery",
    "NotificationMute",
    "NotificationRule",
    "NotificationTarget",
    "Role",
    "Segment",
    "Session",
    "Setting",
    "Site",
    "User",
]
