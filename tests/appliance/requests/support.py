"""Who acts in the footage request tests: an admin of the ward, an operator, and an officer granted sites."""

from __future__ import annotations

from appliance.auth.principal import Principal
from appliance.db.models.users import Role

ADMIN = Principal(1, "quantri", "Quản trị phường", Role.ADMIN, "vi")
OPERATOR = Principal(2, "trucban", "Trực ban", Role.OPERATOR, "vi")


def officer(*site_ids: int) -> Principal:
    """Return a police user granted these sites."""
    return Principal(3, "congan", "Đại úy Lê Văn Tâm", Role.POLICE, "vi", site_ids=frozenset(site_ids))
