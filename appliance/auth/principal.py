"""Who is making a request: a logged-in user, through a browser session or an API token."""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance.auth.roles import Permission, has_permission
from appliance.db.models.users import Role


@dataclass(frozen=True)
class Principal:
    """The authenticated user behind one request."""

    user_id: int
    username: str
    display_name: str
    role: Role
    language: str
    via: str = "session"  # "session" or "token"
    site_ids: frozenset[int] = field(default_factory=frozenset)

    def can(self, permission: Permission) -> bool:
        """Return whether this user's role grants the permission."""
        return has_permission(self.role, permission)

    @property
    def label(self) -> str:
        """Return the name to show in the header."""
        return self.display_name or self.username
