"""Requests from WardCam to the box it runs on, as files in the data folder.

WardCam runs unprivileged. On the WardCam image, root-owned systemd path units watch these files and
act (see image/README.md):

- ``firewall/mqtt-lan``: open MQTT (1883) to the LAN; wardcam-firewall.path loads the firewall again.
- ``frigate-container/enabled``: run Frigate's official container; frigate.path starts it, and stops it
  when the file goes. Its config folder is ``frigate-container/config`` and its environment (the
  cameras' and the broker's passwords, never in the YAML) ``frigate-container/frigate.env``.

Elsewhere (a development checkout, a box installed by hand) the files are written all the same and
nothing acts on them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

HostFlag = Literal["firewall/mqtt-lan", "frigate-container/enabled"]
HostFile = Literal["frigate-container/config/config.yml", "frigate-container/frigate.env"]


def set_flag(data_dir: Path, flag: HostFlag, on: bool) -> bool:
    """Create or remove a flag file; return True when that changed something."""
    path = data_dir / flag
    if on == path.exists():
        return False
    if on:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("set by WardCam; remove it from WardCam's pages, not by hand\n", encoding="utf-8")
    else:
        path.unlink(missing_ok=True)
    log.info("host request %s: %s", flag, "on" if on else "off")
    return True


def write_file(
    data_dir: Path, name: HostFile, text: str, *, private: bool = False, keep_existing: bool = False
) -> None:
    """Write a file for the host in one step (a reader never sees half of it); private files are 0600.

    With keep_existing, a file already there is left as it is (the host's program owns it from then on).
    A file that already holds this text is not written again (a path unit watching it would act for nothing).
    """
    path = data_dir / name
    if path.exists() and (keep_existing or path.read_text(encoding="utf-8") == text):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    tmp.replace(path)
