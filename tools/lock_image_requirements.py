"""Write image/requirements.txt: every Python package the image installs, pinned to one version.

    .venv/bin/python tools/lock_image_requirements.py

The versions are the ones installed in this venv (the ones `make test` just tested). The list is
WardCam's runtime dependencies (from pyproject.toml) and theirs, followed through the installed
packages' metadata with the markers of Python 3.11 on Linux, for both image architectures (x86_64
and aarch64); test tools are left out. image/build.sh downloads exactly these wheels, so two builds
of one commit install the same Python packages whatever PyPI has published since. Run it again
after changing the dependencies in pyproject.toml, and commit the result with that change.
"""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

TOP = Path(__file__).resolve().parent.parent
LOCK = TOP / "image" / "requirements.txt"
PYPROJECT = TOP / "pyproject.toml"
MACHINES = ("x86_64", "aarch64")


def environments() -> list[dict[str, str]]:
    """Return the marker environments of the images: this Python on Linux, for each machine."""
    base = default_environment()
    return [{**base, "platform_machine": m, "sys_platform": "linux", "platform_system": "Linux"} for m in MACHINES]


def wanted(requirement: Requirement, extras: frozenset[str]) -> bool:
    """Tell whether an image needs this requirement (with the extras asked for; on any of the machines)."""
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**env, "extra": e}) for env in environments() for e in extras | {""})


def closure(requirements: list[str]) -> dict[str, str]:
    """Return name -> installed version for these requirements and everything they need at run time."""
    pinned: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    missing: list[str] = []
    todo = [Requirement(text) for text in requirements]
    while todo:
        requirement = todo.pop()
        name, extras = canonicalize_name(requirement.name), frozenset(requirement.extras)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            missing.append(name)
            continue
        pinned[name] = dist.version
        todo += [r for r in map(Requirement, dist.requires or []) if wanted(r, extras)]
    if missing:
        sys.exit(f"not installed here, so no version to pin: {', '.join(sorted(missing))} (install it first)")
    return pinned


def main() -> int:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    pinned = closure(project["dependencies"])  # WardCam itself is built from the committed tree by build.sh
    lines = [f"{name}=={version}" for name, version in sorted(pinned.items())]
    header = "# Written by tools/lock_image_requirements.py from the tested venv; image/build.sh installs these.\n"
    LOCK.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{LOCK.relative_to(LOCK.parent.parent)}: {len(lines)} packages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
