"""An admin reads the installed version on the System page and uploads update packages: a bad one says why."""

from __future__ import annotations

import json
import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nicegui import ui
from nicegui.testing import User

from appliance import __version__
from appliance.db.models.audit import AuditEntry
from appliance.requests.keys import public_pem
from appliance.update.package import write_package
from tests.web.conftest import AddUser, log_in
from web import context


@dataclass
class Release:
    good: bytes  # signed by the trusted release key, version 9.9.9
    tampered: bytes  # the same with one byte of its wheel changed


@pytest.fixture
def release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Release:
    """A trusted release key, an install root without /opt/wardcam/current (as in a checkout), two packages."""
    key = Ed25519PrivateKey.generate()
    keys = tmp_path / "update-keys"
    keys.mkdir()
    (keys / "release.pem").write_bytes(public_pem(key.public_key()))
    monkeypatch.setenv("WARDCAM_UPDATE_KEYS", str(keys))
    monkeypatch.setenv("WARDCAM_INSTALL_ROOT", str(tmp_path / "opt"))
    wheel = tmp_path / "wardcam-9.9.9-py3-none-any.whl"
    wheel.write_bytes(b"PK" + bytes(4000))  # never installed here: only checked
    good = tmp_path / "good.wardcam-update"
    write_package(good, "9.9.9", [wheel], key)
    bad = Path(shutil.copy(good, tmp_path / "bad.wardcam-update"))
    with tarfile.open(bad) as tar:
        offset = tar.getmember(f"wheels/{wheel.name}").offset_data
    with bad.open("r+b") as f:
        f.seek(offset + 100)
        f.write(b"X")
    return Release(good.read_bytes(), bad.read_bytes())


async def upload(user: User, name: str, content: bytes) -> None:
    element = user.find(marker="update-file").elements.pop()
    assert isinstance(element, ui.upload)
    await element.handle_uploads([ui.upload.SmallFileUpload(name, "application/octet-stream", content)])


async def test_a_tampered_package_is_refused_and_updates_apply_only_on_the_image(
    release: Release, user: User, add_user: AddUser
) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/system")
    await user.should_see("Cập nhật phần mềm")
    await user.should_see(marker="update-installed")
    assert {e.text for e in user.find(marker="update-installed").elements} == {__version__}  # type: ignore[attr-defined]
    await user.should_see("Phiên bản trước (để quay lại)")
    await user.should_see("cập nhật chỉ áp dụng trên ảnh hệ thống")

    await upload(user, "wardcam-9.9.9.wardcam-update", release.tampered)
    await user.should_see("Một tệp trong gói cập nhật đã bị sửa hoặc bị hỏng", retries=50)

    await upload(user, "wardcam-9.9.9.wardcam-update", release.good)
    await user.should_see("Cập nhật chỉ áp dụng trên ảnh hệ thống WardCam", retries=50)
    await user.should_not_see(marker="update-rollback")

    entries = await AuditEntry.filter(action="update.refused").order_by("id")
    assert [(e.actor, e.detail["reason"], e.detail["to"]) for e in entries] == [
        ("admin", "update.error.tampered", ""),
        ("admin", "update.error.not_on_image", "9.9.9"),
    ]


@pytest.fixture
def on_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An install root laid out as on the image: 0.1.0 current, 0.0.9 kept for a rollback."""
    root = tmp_path / "opt"
    for version in ("0.0.9", __version__):
        (root / "versions" / version / "bin").mkdir(parents=True)
        (root / "versions" / version / "bin" / "python").symlink_to(sys.executable)
    (root / "current").symlink_to(f"versions/{__version__}")
    (root / "previous").symlink_to("versions/0.0.9")
    monkeypatch.setenv("WARDCAM_INSTALL_ROOT", str(root))
    return root


async def test_an_admin_rolls_back_to_the_previous_version_after_a_confirmation(
    on_image: Path, user: User, add_user: AddUser
) -> None:
    await add_user("admin")
    await log_in(user, "admin")
    await user.should_see("Tổng quan", retries=50)
    await user.open("/system")
    await user.should_see("Quay lại phiên bản 0.0.9")
    user.find(marker="update-rollback").click()
    await user.should_see("Cơ sở dữ liệu và cài đặt sẽ trở về như ngay trước lần cập nhật", retries=20)
    user.find(marker="update-rollback-confirm").click()
    await user.should_see("Đang quay lại phiên bản 0.0.9; bảng điều khiển sẽ khởi động lại.", retries=50)

    request = context.appliance().settings.data_dir / "update" / "request.json"
    assert json.loads(request.read_text())["action"] == "rollback"  # for wardcam-update.service
    entry = await AuditEntry.filter(action="update.rollback_requested").get()
    assert (entry.actor, entry.detail["from"], entry.detail["to"]) == ("admin", __version__, "0.0.9")
