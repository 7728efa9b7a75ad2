"""The power goes off while the updater switches versions: at the next boot the update finishes, nothing older returns.

The cut is played by stopping the updater at one of the switch's link changes (an exception nothing in the
updater catches), then stopping the service stand-in (the power is off) and starting it from whatever
`current` names (systemd at boot), and running the updater again (wardcam-update.path at boot: the
pending switch is still there).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from appliance.update.layout import Layout
from appliance.update.runner import Runner
from tests.appliance.update.conftest import NEW, Installed, Packages, ServedAppliance


class PowerCut(BaseException):
    """The updater's process ends here, as it would with the power."""


def cut_at_link_change(monkeypatch: pytest.MonkeyPatch, which: int) -> None:
    """Make the updater's `which`-th link change (0: `previous`, 1: `current`) never happen."""
    real = Layout.point
    seen = [0]

    def point(self: Layout, link: Path, version: str | None) -> None:
        if seen[0] == which:
            raise PowerCut(f"before pointing {link.name} at {version}")
        seen[0] += 1
        real(self, link, version)

    monkeypatch.setattr(Layout, "point", point)


@pytest.mark.parametrize("which", [0, 1], ids=["before-previous-is-pointed", "before-current-is-pointed"])
async def test_an_update_cut_off_during_its_switch_is_finished_at_the_next_boot(
    installed: Installed,
    packages: Packages,
    service: ServedAppliance,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    which: int,
) -> None:
    service.start()
    await installed.updates().submit(installed.admin, Path(shutil.copy(packages.good, tmp_path / "u.wardcam-update")))
    with monkeypatch.context() as patch:
        cut_at_link_change(patch, which)
        with pytest.raises(PowerCut):
            Runner(installed.config, installed.settings, service).run()
    assert installed.layout.current_version() == "0.1.0"  # the cut came before the switch was made
    assert installed.updates().files.pending.exists()

    service.stop()  # the power is off
    service.start()  # the box boots: systemd starts whatever `current` names
    outcome = Runner(installed.config, installed.settings, service).run()  # the updater, at boot

    assert outcome is not None and (outcome.action, outcome.outcome) == ("apply", "succeeded"), outcome
    layout = installed.layout
    assert (layout.current_version(), layout.previous_version()) == (NEW, "0.1.0")
    assert sorted(p.name for p in layout.versions.iterdir()) == ["0.1.0", NEW]
    assert service.calls == ["start", "stop", "start", "restart"] and service.answers(NEW)
    assert (installed.root / "backups" / "pre-update.wardcam").is_file()  # still there for a rollback
    assert not installed.updates().busy()
    assert await installed.updates().record_outcomes() == 1
