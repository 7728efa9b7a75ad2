"""Who acts in the motion tests, and what they look at: the admin, and the appliance's motion ffmpegs."""

from __future__ import annotations

import psutil

from appliance.auth.principal import Principal
from appliance.db.models.users import Role

ADMIN = Principal(user_id=1, username="admin", display_name="", role=Role.ADMIN, language="vi")


def motion_ffmpegs() -> list[psutil.Process]:
    """Return this process's motion ffmpegs (the ones writing YUV4MPEG2)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.name() == "ffmpeg" and "yuv4mpegpipe" in child.cmdline():
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found
