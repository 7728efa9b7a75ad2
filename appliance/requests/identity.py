"""The appliance's id: a random UUID made at first start, named in every evidence package."""

from __future__ import annotations

import uuid
from pathlib import Path

ID_FILE = "appliance-id"


def appliance_id(secrets_dir: Path) -> str:
    """Return the appliance's id, making it the first time."""
    path = secrets_dir / ID_FILE
    if path.exists():
        return path.read_text().strip()
    secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = str(uuid.uuid4())
    path.write_text(value + "\n")
    return value
