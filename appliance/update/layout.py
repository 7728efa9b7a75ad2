"""The install layout of the appliance image: one venv a version, and symlinks that say which one runs.

    INSTALL_ROOT/versions/<version>/   a complete venv (bin/python, bin/wardcam, lib/.../site-packages)
    INSTALL_ROOT/current  -> versions/<version>    what wardcam.service runs (ExecStart goes through it)
    INSTALL_ROOT/previous -> versions/<version>    kept for one rollback; older versions are deleted
    INSTALL_ROOT/venv     -> current               the image's first path, kept for tools that use it
    INSTALL_ROOT/update-keys/*.pem                 the release public keys this appliance trusts

A symlink is switched by making a new one beside it and renaming it over the old (atomic on POSIX).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

from appliance.durable import fsync_dir

log = logging.getLogger(__name__)

VERSIONS = "versions"
SAFE_VERSION = re.compile(r"[0-9][0-9A-Za-z.+_-]{0,63}")  # a release's version, maybe with a local part; no "/"
CURRENT = "current"
PREVIOUS = "previous"


class Layout:
    """The install root's versions and its current and previous symlinks."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.versions = root / VERSIONS
        self.current = root / CURRENT
        self.previous = root / PREVIOUS

    def on_image(self) -> bool:
        """Tell whether WardCam is installed this way (a current symlink to a venv)."""
        return self.current.is_symlink() and (self.current / "bin" / "python").exists()

    def version_dir(self, version: str) -> Path:
        """Return the folder of one installed version; ValueError for a name that is not a version.

        Versions also come from files the unprivileged appliance can write (pending.json, status.json), so
        a name is checked before root builds a path from it: "/etc" or ".." would leave versions/.
        """
        if not SAFE_VERSION.fullmatch(version):
            raise ValueError(f"not a version name: {version!r}")
        return self.versions / version

    @staticmethod
    def _target(link: Path) -> str | None:
        if not link.is_symlink():
            return None
        return Path(os.readlink(link)).name

    def current_version(self) -> str | None:
        """Return the version the current symlink points at."""
        return self._target(self.current)

    def previous_version(self) -> str | None:
        """Return the version kept for a rollback, if it is still installed."""
        version = self._target(self.previous)
        return version if version and self.version_dir(version).is_dir() else None

    def point(self, link: Path, version: str | None) -> None:
        """Point a symlink at versions/<version> atomically (None removes it)."""
        if version is None:
            link.unlink(missing_ok=True)
            return
        tmp = link.with_name(f".{link.name}.tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(self.version_dir(version).relative_to(self.root))
        os.replace(tmp, link)
        fsync_dir(link.parent)

    def prune(self) -> list[str]:
        """Delete every installed version but the current and the previous one; return their names."""
        keep = {self.current_version(), self.previous_version()}
        removed = []
        for path in sorted(self.versions.iterdir()) if self.versions.is_dir() else []:
            if path.name in keep:
                continue
            remove_tree(path)
            removed.append(path.name)
        if removed:
            log.info("deleted old versions: %s", ", ".join(removed))
        return removed


def remove_tree(path: Path) -> None:
    """Delete a version folder (or a symlink to one, without following it)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
