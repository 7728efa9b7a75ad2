"""What the System page shows: version, uptime, disk, CPU, memory, database."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from appliance import __version__

STARTED_AT = time.time()


@dataclass(frozen=True)
class SystemStatus:
    """A snapshot of the appliance's health."""

    version: str
    uptime_s: float
    disk_total: int
    disk_used: int
    disk_free: int
    cpu_pct: float
    memory_total: int
    memory_used: int
    process_rss: int
    db_backend: str

    @property
    def disk_used_pct(self) -> float:
        """Return the used share of the data volume, in percent."""
        return 100.0 * self.disk_used / self.disk_total if self.disk_total else 0.0


def read_status(data_dir: Path, db_backend: str) -> SystemStatus:
    """Measure the system now (CPU over the time since the last call)."""
    disk = shutil.disk_usage(data_dir)
    mem = psutil.virtual_memory()
    return SystemStatus(
        version=__version__,
        uptime_s=time.time() - STARTED_AT,
        disk_total=disk.total,
        disk_used=disk.used,
        disk_free=disk.free,
        cpu_pct=psutil.cpu_percent(interval=None),
        memory_total=mem.total,
        memory_used=mem.total - mem.available,
        process_rss=psutil.Process().memory_info().rss,
        db_backend=db_backend,
    )
