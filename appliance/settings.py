"""Bootstrap settings: what the appliance needs before its database is open.

Everything else (cameras, users, notification rules, ...) lives in the database and is
edited in the browser. These few values come from the command line or the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


def default_data_dir() -> Path:
    """Return the data directory from WARDCAM_DATA_DIR, or ./data."""
    return Path(os.environ.get("WARDCAM_DATA_DIR", "./data"))


class Settings(BaseModel):
    """Start-up settings of one appliance."""

    data_dir: Path = Field(default_factory=default_data_dir, title="Data directory")
    host: str = Field("127.0.0.1", title="Address the web panel listens on")
    port: int = Field(8080, ge=1, le=65535, title="Port of the web panel")
    database_url: str | None = Field(
        default_factory=lambda: os.environ.get("DATABASE_URL") or None,
        title="Database URL (PostgreSQL); empty means SQLite in the data directory",
    )
    log_level: LogLevel = Field(
        default_factory=lambda: os.environ.get("WARDCAM_LOG_LEVEL", "INFO").upper(),  # type: ignore[arg-type]
        title="Log level",
    )
    safe_mode: bool = Field(False, title="Start with no add-ons")
    demo: bool = Field(False, title="Demo mode")
    trial: bool = Field(
        False, title="The updater's trial start: database and pages only, no camera, broker, notification or add-on"
    )
    volume_limit_bytes: int | None = Field(
        default_factory=lambda: (
            int(os.environ["WARDCAM_VOLUME_LIMIT_BYTES"]) if os.environ.get("WARDCAM_VOLUME_LIMIT_BYTES") else None
        ),
        title="Treat the recordings volume as this big (tests, or a disk shared with other data)",
    )
    frontend: str = Field("web.app:run", title="Module and function that serve the web panel")

    @property
    def db_url(self) -> str:
        """Return the Tortoise connection URL: DATABASE_URL, or SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite://{(self.data_dir / 'wardcam.db').resolve()}"

    @property
    def db_backend(self) -> str:
        """Return 'postgresql' or 'sqlite'."""
        return "postgresql" if self.db_url.startswith(("postgres://", "postgresql://", "asyncpg://")) else "sqlite"

    def prepare(self) -> None:
        """Create the data directory and its sub-folders."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "secrets").mkdir(mode=0o700, exist_ok=True)
