"""Write files so that a power cut leaves either the old content or the new, never a torn or empty file."""

from __future__ import annotations

import errno
import os
from pathlib import Path

UNSUPPORTED = {errno.EINVAL, errno.ENOTSUP, errno.EBADF}  # some network shares cannot fsync a folder


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename or a new link in it) to disk, where its file system can."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in UNSUPPORTED:
            raise
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes, suffix: str = ".tmp") -> None:
    """Write a file under a temporary name, fsync it, rename it into place and fsync its folder."""
    tmp = path.with_name(path.name + suffix)
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.rename(path)
    fsync_dir(path.parent)
