"""An admin uploads a package that must not be installed: refused with its reason, audited, and nothing changes."""

from __future__ import annotations

import io
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.db.models.audit import AuditEntry
from appliance.i18n import t
from appliance.update.errors import (
    BadSignature,
    NotAnUpdate,
    NotNewer,
    NotOnImage,
    NoTrustedKey,
    TamperedFile,
    UnsafePackage,
    Unsigned,
    UpdateRefused,
)
from appliance.update.package import write_package
from appliance.update.runner import Runner
from tests.appliance.update.conftest import NEW, Installed, Packages, ServedAppliance, load_key


def tampered(packages: Packages, out: Path) -> Path:
    """The good package with one byte of its wheel changed (the signed manifest untouched)."""
    shutil.copy(packages.good, out)
    with tarfile.open(out) as tar:
        offset = tar.getmember(f"wheels/wardcam-{NEW}-py3-none-any.whl").offset_data
    with out.open("r+b") as f:
        f.seek(offset + 1000)
        byte = f.read(1)
        f.seek(offset + 1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    return out


def signed_by_another_key(packages: Packages, out: Path) -> Path:
    write_package(out, NEW, [packages.wheel], key=load_key(packages.other_key))
    return out


def unsigned(packages: Packages, out: Path) -> Path:
    write_package(out, NEW, [packages.wheel], key=None)
    return out


def older(packages: Packages, out: Path) -> Path:
    """A properly signed package that claims 0.0.9 (its manifest's version is what is compared)."""
    wheel = out.parent / "old" / "wardcam-0.0.9-py3-none-any.whl"
    wheel.parent.mkdir()
    shutil.copy(packages.wheel, wheel)
    write_package(out, "0.0.9", [wheel], key=load_key(packages.release_key))
    return out


def with_a_link(packages: Packages, out: Path) -> Path:
    """A tar whose wheel is a symlink to a file of the system."""
    with tarfile.open(out, "w") as tar:
        with tarfile.open(packages.good) as good:
            for name in ("manifest.json", "manifest.sig"):
                member = good.getmember(name)
                tar.addfile(member, good.extractfile(member))
        link = tarfile.TarInfo(f"wheels/wardcam-{NEW}-py3-none-any.whl")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    return out


def cut_short(packages: Packages, out: Path) -> Path:
    """The good package broken off half-way, as an interrupted download leaves it."""
    out.write_bytes(packages.good.read_bytes()[: packages.good.stat().st_size // 2])
    return out


def a_photo(_packages: Packages, out: Path) -> Path:
    out.write_bytes(b"\xff\xd8\xff\xe0 a holiday photo")
    return out


CASES: list[tuple[str, Callable[[Packages, Path], Path], type[UpdateRefused], str]] = [
    ("tampered", tampered, TamperedFile, "đã bị sửa hoặc bị hỏng"),
    ("another key", signed_by_another_key, BadSignature, "không phải của nhà phát hành WardCam"),
    ("unsigned", unsigned, Unsigned, "không có chữ ký"),
    ("older", older, NotNewer, "không mới hơn phiên bản đang chạy"),
    ("a link", with_a_link, UnsafePackage, "liên kết hoặc đường dẫn không được phép"),
    ("cut short", cut_short, TamperedFile, "đã bị sửa hoặc bị hỏng"),
    ("not a package", a_photo, NotAnUpdate, "không phải gói cập nhật WardCam"),
]


@pytest.mark.parametrize(("case", "make", "error", "words"), CASES, ids=[c[0] for c in CASES])
async def test_a_bad_package_is_refused_with_its_reason_and_nothing_changes(
    installed: Installed,
    packages: Packages,
    tmp_path: Path,
    case: str,
    make: Callable[[Packages, Path], Path],
    error: type[UpdateRefused],
    words: str,
) -> None:
    before = installed.snapshot()
    package = make(packages, tmp_path / "upload.wardcam-update")

    with pytest.raises(error) as refused:
        await installed.updates().submit(installed.admin, package, "127.0.0.1")

    assert words in t(refused.value.message_key)
    assert "Không có gì bị thay đổi" in t(refused.value.message_key)
    assert t(refused.value.message_key, "en").endswith("Nothing was changed.")
    assert installed.snapshot() == before
    assert not (installed.data_dir / "update" / "request.json").exists()
    entry = await AuditEntry.filter(action="update.refused").get()
    assert (entry.actor, entry.detail["reason"], entry.detail["from"]) == ("admin", error.message_key, "0.1.0")


async def test_with_no_release_key_installed_every_package_is_refused(installed: Installed, packages: Packages) -> None:
    shutil.rmtree(installed.root / "update-keys")
    with pytest.raises(NoTrustedKey) as refused:
        await installed.updates().submit(installed.admin, packages.good)
    assert "chưa được cài khóa phát hành" in t(refused.value.message_key)
    assert packages.good.exists()


async def test_a_good_package_outside_the_appliance_image_is_checked_but_not_applied(
    installed: Installed, packages: Packages, tmp_path: Path
) -> None:
    installed.layout.current.unlink()  # a checkout or a hand-made install: no /opt/wardcam/current
    package = shutil.copy(packages.good, tmp_path / "upload.wardcam-update")
    with pytest.raises(NotOnImage) as refused:
        await installed.updates().submit(installed.admin, Path(package))
    assert t(refused.value.message_key).startswith("Cập nhật chỉ áp dụng trên ảnh hệ thống WardCam")
    entry = await AuditEntry.filter(action="update.refused").get()
    assert (entry.detail["to"], entry.detail["reason"]) == (NEW, "update.error.not_on_image")


async def test_the_updater_checks_again_a_package_changed_after_the_appliance_accepted_it(
    installed: Installed, packages: Packages, service: ServedAppliance, tmp_path: Path
) -> None:
    """The updater runs as root and does not trust the unprivileged appliance's check."""
    package = Path(shutil.copy(packages.good, tmp_path / "upload.wardcam-update"))
    await installed.updates().submit(installed.admin, package)
    before = installed.snapshot()
    incoming = installed.data_dir / "update" / "incoming.wardcam-update"
    tampered(packages, tmp_path / "swapped.wardcam-update").replace(incoming)

    outcome = Runner(installed.config, installed.settings, service).run()

    assert outcome is not None
    assert (outcome.outcome, outcome.reason) == ("refused", "update.error.tampered")
    assert installed.snapshot() == before
    assert service.calls == []
    assert not incoming.exists() and not (installed.root / "staging").exists()
    assert await installed.updates().record_outcomes() == 1
    entry = await AuditEntry.filter(action="update.refused").get()
    assert (entry.actor, entry.detail["from"], entry.detail["to"]) == ("admin", "0.1.0", "")


def test_a_package_written_by_hand_into_a_tar_cannot_escape_its_folder(packages: Packages, tmp_path: Path) -> None:
    """Names like ../../etc/cron.d/x are refused before anything is written."""
    from appliance.update.package import check_package, trusted_keys

    out = tmp_path / "escape.wardcam-update"
    with tarfile.open(out, "w") as tar:
        for name in ("manifest.json", "../../etc/cron.d/wardcam"):
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"{}"))
    with pytest.raises(UnsafePackage):
        check_package(
            out,
            trusted_keys(packages.release_public.parent),
            max_bytes=10**9,
            max_members=10,
            extract_to=tmp_path / "x",
        )
    assert not (tmp_path / "x").exists()
