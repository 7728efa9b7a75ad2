"""The power goes off while the updater works: at the next boot the attempt is finished or recorded, never lost.

The cut is played by stopping the updater at one of its steps (an exception nothing in the updater
catches), then stopping the service stand-in (the power is off) and starting it from whatever `current`
names (systemd at boot), and running the updater again (wardcam-update.service runs at every boot).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from appliance.db.models.audit import AuditEntry
from appliance.i18n import t
from appliance.update import runner
from appliance.update.layout import Layout
from appliance.update.runner import Runner
from tests.appliance.update.conftest import NEW, Installed, Packages, ServedAppliance
from tests.appliance.update.test_apply import _wait, usernames
from tests.appliance.update.test_rollback_safety import add_user, run_updater
from tests.web.conftest import eventually


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
async def test_an_update_cut_off_during_its_switch_is_finished_or_recorded_at_the_next_boot(
    installed: Installed,
    packages: Packages,
    service: ServedAppliance,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    which: int,
) -> None:
    """`previous` is pointed first, then pending.json is written, then `current` is switched."""
    service.start()
    await installed.updates().submit(installed.admin, Path(shutil.copy(packages.good, tmp_path / "u.wardcam-update")))
    with monkeypatch.context() as patch:
        cut_at_link_change(patch, which)
        with pytest.raises(PowerCut):
            Runner(installed.config, installed.settings, service).run()
    assert installed.layout.current_version() == "0.1.0"  # the cut came before the switch was made
    assert installed.updates().files.pending.exists() == (which == 1)

    service.stop()  # the power is off
    service.start()  # the box boots: systemd starts whatever `current` names
    outcome = Runner(installed.config, installed.settings, service).run()  # the updater, at boot

    layout = installed.layout
    assert outcome is not None, outcome
    if which == 1:  # the switch was written down: it is finished, and the new version confirmed
        assert (outcome.action, outcome.outcome) == ("apply", "succeeded"), outcome
        assert (layout.current_version(), layout.previous_version()) == (NEW, "0.1.0")
        assert sorted(p.name for p in layout.versions.iterdir()) == ["0.1.0", NEW]
        assert service.calls == ["start", "stop", "start", "restart"] and service.answers(NEW)
        assert (installed.root / "backups" / "pre-update.wardcam").is_file()  # still there for a rollback
    else:  # it was not: the attempt is recorded as stopped half-way, and the box stays as it was
        assert (outcome.action, outcome.outcome, outcome.reason) == ("apply", "failed", "update.error.interrupted")
        assert (layout.current_version(), layout.previous_version()) == ("0.1.0", None)
        assert sorted(p.name for p in layout.versions.iterdir()) == ["0.1.0"]
        assert service.calls == ["start", "stop", "start"]
    assert not installed.updates().busy()
    await installed.updates().record_outcomes()  # unless the started WardCam took it first
    action = "update.succeeded" if which == 1 else "update.failed"

    async def audited() -> list[tuple[str, str]]:
        return [(e.actor, e.detail["to"]) for e in await AuditEntry.filter(action=action)]

    await eventually(audited, [("admin", NEW)], 60)


def cut_at(monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """Make the updater's process end when it reaches one of its steps (a name in appliance.update.runner)."""

    def cut(*args: object, **kwargs: object) -> None:
        raise PowerCut(step)

    monkeypatch.setattr(runner, step, cut)


async def test_an_update_cut_off_before_its_switch_is_recorded_at_the_next_boot_and_leaves_nothing(
    installed: Installed,
    packages: Packages,
    service: ServedAppliance,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service.start()
    await installed.updates().submit(installed.admin, Path(shutil.copy(packages.good, tmp_path / "u.wardcam-update")))
    layout = installed.layout
    before = (layout.current_version(), layout.previous_version(), sorted(p.name for p in layout.versions.iterdir()))
    with monkeypatch.context() as patch:
        cut_at(patch, "smoke_check")  # installed, not yet tried
        with pytest.raises(PowerCut):
            Runner(installed.config, installed.settings, service).run()
    assert installed.layout.version_dir(NEW).is_dir()  # what the cut left
    assert installed.updates().busy()

    service.stop()
    service.start()
    outcome = Runner(installed.config, installed.settings, service).run()

    assert outcome is not None, outcome
    assert (outcome.action, outcome.outcome, outcome.reason) == ("apply", "failed", "update.error.interrupted")
    after = (layout.current_version(), layout.previous_version(), sorted(p.name for p in layout.versions.iterdir()))
    assert after == before == ("0.1.0", None, ["0.1.0"])
    assert not installed.layout.version_dir(NEW).exists() and not (installed.root / "staging").exists()
    assert sorted(p.name for p in (installed.root / "backups").iterdir()) == []
    assert await _wait(lambda: service.answers("0.1.0"))
    status = installed.updates().files.read_status()
    assert status is not None and status.state == "interrupted"
    assert "bị dừng giữa chừng" in t("update.state.interrupted", from_version="0.1.0", to_version=NEW)
    assert not installed.updates().busy()  # the admin can try again
    await installed.updates().record_outcomes()  # unless the started WardCam took it first

    async def failed() -> list[tuple[str, str]]:  # who asked, though the updater that knew it was gone
        return [(e.actor, e.detail["to"]) for e in await AuditEntry.filter(action="update.failed")]

    await eventually(failed, [("admin", NEW)], 60)

    assert Runner(installed.config, installed.settings, service).run() is None  # the boot after: nothing to do


@pytest.mark.parametrize("cut", ["current-link", "previous-link", "restore"])
async def test_a_rollback_cut_off_is_finished_at_the_next_boot_with_the_database_restored(
    installed: Installed,
    packages: Packages,
    service: ServedAppliance,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cut: str,
) -> None:
    service.start()
    await installed.updates().submit(installed.admin, Path(shutil.copy(packages.good, tmp_path / "u.wardcam-update")))
    first = Runner(installed.config, installed.settings, service).run()
    assert first is not None and first.outcome == "succeeded", first
    db = installed.data_dir / "wardcam.db"
    before_update = usernames(db)
    add_user(db, "added-on-011")  # the newer version changed the database
    await installed.updates().request_rollback(installed.admin, "127.0.0.1")
    with monkeypatch.context() as patch:
        if cut == "restore":
            cut_at(patch, "restore_as_owner")  # the service stopped, the versions switched back
        else:
            cut_at_link_change(patch, 0 if cut == "current-link" else 1)
        with pytest.raises(PowerCut):
            await run_updater(installed, service)

    service.stop()  # the power is off (the exception played the cut, but the updater's `finally` still ran)
    service.start()  # the box boots: systemd starts whatever `current` names
    outcome = await run_updater(installed, service)  # wardcam-update.service at boot

    assert outcome is not None, outcome
    assert (outcome.action, outcome.outcome, outcome.detail) == ("rollback", "rolled_back", "database restored")
    assert (installed.layout.current_version(), installed.layout.previous_version()) == ("0.1.0", None)
    assert sorted(p.name for p in installed.layout.versions.iterdir()) == ["0.1.0"]
    assert usernames(db) == before_update
    assert service.calls[-2:] == ["stop", "start"]
    assert await _wait(lambda: service.answers("0.1.0"))
    assert not installed.updates().busy()
