"""Discovery by entry point: an add-on that fails to import is listed as broken, and the rest go on."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.addons.manager import AddonManager, AddonStatus


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[Path]:
    """Put two 'installed' distributions on sys.path: one fine, one whose module does not import."""
    for dist, module, body in (
        ("good_addon", "good_addon", "from tests.appliance.addons.conftest import make_addon\n"
                                     "import sys\nsys.modules[__name__].__dict__.update(vars(make_addon('good')))\n"),
        ("bad_addon", "bad_addon", "raise ImportError('needs a library that is not installed')\n"),
    ):  # fmt: skip
        info = tmp_path / f"{dist}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[wardcam.addons]\n{module} = {module}\n")
        (tmp_path / f"{module}.py").write_text(body)
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in ("good_addon", "bad_addon"):
        sys.modules.pop(name, None)


async def test_an_entry_point_that_fails_to_import_is_broken_and_others_load(
    manager: AddonManager, installed: Path
) -> None:
    manager.discover()
    bad = manager.get("bad_addon")
    assert bad.status == AddonStatus.BROKEN
    assert bad.error == "ImportError: needs a library that is not installed"
    good = manager.get("good")
    assert good.origin == "good_addon 1.0"
    await manager.enable("good")
    assert good.running
