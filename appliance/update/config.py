"""Where WardCam is installed and how updates are checked: from the environment, with the image's defaults."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field


def _env_path(name: str, default: str) -> Path:
    return Path(os.environ.get(name) or default)


class UpdateConfig(BaseModel):
    """The install layout and limits of updates (tests point the paths at a temporary folder)."""

    install_root: Path = Field(
        default_factory=lambda: _env_path("WARDCAM_INSTALL_ROOT", "/opt/wardcam"),
        title="Install root: versions/<version>/ (one venv each), the current and previous symlinks",
    )
    keys_dir: Path | None = Field(
        default_factory=lambda: _env_path("WARDCAM_UPDATE_KEYS", "") if os.environ.get("WARDCAM_UPDATE_KEYS") else None,
        title="Folder of trusted release public keys (*.pem); empty means INSTALL_ROOT/update-keys",
    )
    health_url: str = Field(
        default_factory=lambda: os.environ.get("WARDCAM_HEALTH_URL", "http://127.0.0.1:8080/healthz"),
        title="Where the restarted appliance answers /healthz",
    )
    service: str = Field(default="wardcam.service", title="The systemd unit restarted after the switch")
    max_package_bytes: int = Field(default=1024**3, ge=1, title="Largest update package accepted")
    max_members: int = Field(default=500, ge=3, title="Most files a package may hold")
    min_free_bytes: int = Field(default=300 * 1024**2, ge=0, title="Free space needed beside the package's own size")
    smoke_timeout_s: float = Field(
        default=180.0, gt=0, title="How long the new version may take to answer in its trial start"
    )
    health_timeout_s: float = Field(
        default_factory=lambda: float(os.environ.get("WARDCAM_UPDATE_HEALTH_TIMEOUT_S", "300")),
        gt=0,
        title="How long the restarted new version may take to answer /healthz before it is rolled back",
    )
    max_boots: int = Field(
        default=3, ge=1, title="Starts of the updater while an update awaits confirmation, then roll back"
    )

    @property
    def trusted_keys_dir(self) -> Path:
        """Return the folder of trusted release keys."""
        return self.keys_dir or self.install_root / "update-keys"
