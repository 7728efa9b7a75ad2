"""`wardcam verify` catches every change to an evidence package: each byte flipped, files added and removed."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appliance.cli import main
from appliance.requests.keys import SigningKey
from appliance.requests.package import (
    HashingWriter,
    PackedFile,
    build_manifest,
    finish_package,
    open_package,
    write_member,
)
from appliance.requests.verify import Problem, verify_package

AT = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)
VIDEOS = {"video/camera-1-cong-cho.mp4": bytes(range(256)) * 40, "video/camera-2-nga-tu.mp4": b"\x00\x01ftyp" * 700}
RECORD = b"%PDF-1.3 a handover record " * 40  # its content does not matter to the check, only its bytes


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, SigningKey]:
    """Write a package the way the export job does (two small files), signed by a key made for the test."""
    key = SigningKey(tmp_path / "secrets")
    path = tmp_path / "request-7.zip"
    archive = open_package(path)
    files = []
    for number, (name, data) in enumerate(VIDEOS.items(), start=1):
        writer = HashingWriter(archive, name)
        writer.write(data[:1000])
        writer.write(data[1000:])
        files.append(PackedFile(name, number, f"Camera {number}", AT, AT + timedelta(minutes=5), AT, AT,
                                sha256=writer.close(), size=writer.size, codec="h264"))  # fmt: skip
    request = {"id": 7, "case_number": "CV 45/2026", "officer_name": "Lê Văn Tâm"}
    record = {"name": "handover.pdf", "kind": "handover_record", **write_member(archive, "handover.pdf", RECORD)}
    finish_package(archive, key, build_manifest("box-1", request, files, key, AT, documents=[record]))
    return path, key


def rewrite(source: Path, target: Path, change: dict[str, bytes | None], add: dict[str, bytes] | None = None) -> Path:
    """Copy a package, replacing members (None: leaving them out) and adding some: a well-formed zip, CRCs right."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            body = change.get(info.filename, src.read(info))
            if body is not None:
                dst.writestr(info, body)
        for name, body in (add or {}).items():
            dst.writestr(name, body)
    return target


def flipped(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


def test_an_untouched_package_verifies_with_the_key_the_fingerprint_or_alone(signed: tuple[Path, SigningKey]) -> None:
    path, key = signed
    info = key.info()
    for result in (verify_package(path, public_key=info.pem.encode()),
                   verify_package(path, expected_fingerprint=info.fingerprint.replace(" ", ":").upper()),
                   verify_package(path)):  # fmt: skip
        assert result.ok and result.problems == [] and result.files_ok == 2 and result.fingerprint == info.fingerprint
    assert not verify_package(path).trusted


def test_every_byte_flipped_in_every_file_is_caught_and_named(signed: tuple[Path, SigningKey], tmp_path: Path) -> None:
    path, key = signed
    expected_kind = {"manifest.json": "manifest_altered", "manifest.sig": "signature_altered",
                     "public_key.pem": "key_altered"}  # fmt: skip
    pem = key.info().pem.encode()
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    assert set(members) == {*VIDEOS, "handover.pdf", *expected_kind}
    checked = 0
    for name, data in members.items():
        positions = range(len(data)) if name in expected_kind else (0, len(data) // 2, len(data) - 1)
        for at in positions:
            copy = rewrite(path, tmp_path / "copy.zip", {name: flipped(data, at)})
            kind = expected_kind.get(name, "file_altered")
            for trusted in ({"public_key": pem}, {}):
                result = verify_package(copy, **trusted)  # type: ignore[arg-type]
                assert not result.ok, (name, at)
                assert result.problems == [Problem(kind, name)], (name, at, trusted)
            checked += 1
    assert checked > 1000


def test_a_file_added_or_removed_is_named(signed: tuple[Path, SigningKey], tmp_path: Path) -> None:
    path, _ = signed
    added = rewrite(path, tmp_path / "added.zip", {}, add={"video/extra.mp4": b"not from the appliance"})
    assert verify_package(added).problems == [Problem("file_added", "video/extra.mp4")]
    for name in (*VIDEOS, "handover.pdf", "manifest.sig", "public_key.pem"):
        removed = rewrite(path, tmp_path / "removed.zip", {name: None})
        result = verify_package(removed)
        assert not result.ok and result.problems == [Problem("file_removed", name)], name
    no_manifest = rewrite(path, tmp_path / "bare.zip", {"manifest.json": None})
    assert verify_package(no_manifest).problems == [Problem("manifest_missing", "manifest.json")]
    with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile allows it, with a warning
        twice = rewrite(path, tmp_path / "twice.zip", {}, add={"video/camera-1-cong-cho.mp4": b"a second copy"})
    assert Problem("file_added", "video/camera-1-cong-cho.mp4") in verify_package(twice).problems


def test_a_package_from_another_appliance_fails_against_the_fingerprint_of_this_one(
    signed: tuple[Path, SigningKey], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = signed
    other = SigningKey(tmp_path / "other").info()
    assert main(["verify", str(path), "--fingerprint", other.fingerprint, "--language", "en"]) == 1
    out = capsys.readouterr().out
    assert "public_key.pem is not the key with the fingerprint you gave" in out
    assert main(["verify", str(path), "--language", "vi"]) == 0
    out = capsys.readouterr().out
    assert "Gói chứng cứ còn nguyên vẹn: chữ ký hợp lệ và cả 2 tệp video khớp mã SHA-256." in out
    assert "Hãy so dấu vân tay này với dấu vân tay trên trang Hệ thống" in out
    (tmp_path / "junk.zip").write_bytes(b"PK not really")
    assert main(["verify", str(tmp_path / "junk.zip"), "--language", "en"]) == 1
    assert "junk.zip is not an evidence package" in capsys.readouterr().out
