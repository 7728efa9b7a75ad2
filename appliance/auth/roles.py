"""Roles and the permissions each grants. This table is the single source of truth."""

from __future__ import annotations

from enum import StrEnum

from appliance.db.models.users import Role


class Permission(StrEnum):
    """Something a user may do."""

    VIEW_LIVE = "view_live"
    VIEW_PLAYBACK = "view_playback"
    VIEW_EVENTS = "view_events"
    ACK_EVENTS = "ack_events"
    REQUEST_FOOTAGE = "request_footage"
    APPROVE_FOOTAGE = "approve_footage"
    MANAGE_CAMERAS = "manage_cameras"
    MANAGE_USERS = "manage_users"
    MANAGE_NOTIFICATIONS = "manage_notifications"
    MANAGE_ADDONS = "manage_addons"
    MANAGE_SYSTEM = "manage_system"
    VIEW_AUDIT = "view_audit"
    OWN_ACCOUNT = "own_account"


P = Permission

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset({P.VIEW_LIVE, P.VIEW_PLAYBACK, P.VIEW_EVENTS, P.ACK_EVENTS, P.OWN_ACCOUNT}),
    Role.POLICE: frozenset({P.VIEW_LIVE, P.VIEW_PLAYBACK, P.REQUEST_FOOTAGE, P.OWN_ACCOUNT}),
    Role.VIEWER: frozenset({P.VIEW_LIVE, P.OWN_ACCOUNT}),
}

# Roles whose views of footage are written to the audit log.
AUDITED_VIEWERS = frozenset({Role.POLICE, Role.VIEWER})
# Roles that only see the sites granted to them.
SITE_RESTRICTED = frozenset({Role.POLICE})


def has_permission(role: Role, permission: Permission) -> bool:
    """Return whether a role grants a permission."""
    return permission in ROLE_PERMISSIONS[role]


def roles_with(permission: Permission) -> frozenset[Role]:
    """Return every role that grants a permission."""
    return frozenset(role for role, perms in ROLE_PERMISSIONS.items() if permission in perms)
