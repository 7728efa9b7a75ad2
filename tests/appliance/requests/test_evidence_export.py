"""End to end: a real recorder records a real RTSP camera; a request is approved, exported and verified."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.audit import AuditLog
from appliance.bus import EventBus, RequestStateChanged
from appliance.cli import main
from appliance.db.models.cameras import Camera
from appliance.db.models.recordings import Segment
from appliance.db.models.requests import FootageRequest, RequestStatus
from appliance.recorder.manager import Recorder
from appliance.requests import FootageRequests
from appliance.requests.export import JobState
from appliance.requests.verify import verify_package
from appliance.requests.workflow import RequestInput
from tests.appliance.playback.support import decode_errors, ffprobe_packets
from tests.appliance.requests.support import ADMIN
from tests.harness.waiting import until

GOP_S = 2.0  # the synthetic camera sends a keyframe every 2 s
ROOT = Path(__file__).resolve().parents[3]


def verify_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `wardcam verify` as a user would, offline, in English."""
    env = {**os.environ, "LANG": "en_US.UTF-8"}
    return subprocess.run([sys.executable, "-m", "appliance", "verify", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=60)  # fmt: skip


async def test_recorded_footage_is_requested_approved_locked_exported_signed_and_verified(
    db: Path, rtsp_cameras: Any, capsys: Any
) -> None:
    bus = EventBus()
    states: list[str] = []
    bus.subscribe(RequestStateChanged, lambda e: states.append(e.state))
    recorder = Recorder(db / "recordings", bus, segment_seconds=3)
    gate = await Camera.create(name="Cổng chợ Bà Chiểu", main_url=rtsp_cameras.urls[0], retention_days=1)
    await recorder.start()
    try:
        await until(lambda: _at_least(gate.id, 3), 25, "three closed segments")
    finally:
        await recorder.stop()
    segments = await Segment.filter(camera_id=gate.id).order_by("start")
    back = await Camera.create(name="Cổng sau", main_url="rtsp://127.0.0.1:9/none", enabled=False)  # recorded nothing

    requests = FootageRequests(db, bus, AuditLog(db / "secrets" / "audit-head.json"))
    async with requests.running():
        key_file = db / "secrets" / "evidence-ed25519.pem"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        start = segments[1].start + timedelta(seconds=1.3)  # not on a keyframe
        end = segments[-1].end
        request = await requests.workflow.create(ADMIN, RequestInput(
            officer_name="Lê Văn Tâm", officer_unit="Công an phường 7", officer_badge="CA-123456",
            case_number="CV 45/2026", reason="Va chạm xe máy", start=start, end=end, camera_ids=(gate.id, back.id),
        ))  # fmt: skip
        await requests.workflow.approve(ADMIN, request.id, note="Đồng ý")

        # a retention pass days later deletes the footage before the range, and keeps the locked footage
        summary = await recorder.retention.run_once(now=datetime.now(UTC) + timedelta(days=3))
        left = await Segment.filter(camera_id=gate.id).order_by("start").values_list("id", flat=True)
        assert left == [s.id for s in segments[1:]] and summary.kept_locked == len(segments) - 1
        assert not (db / "recordings" / segments[0].path).exists()
        assert all((db / "recordings" / s.path).exists() for s in segments[1:])

        job = await requests.export(ADMIN, request.id)
        progress = [job.progress]
        while job.state in (JobState.QUEUED, JobState.WORKING):
            await until(lambda: job.progress != progress[-1] or job.state not in (JobState.QUEUED, JobState.WORKING),
                        20, "export progress")  # fmt: skip
            progress.append(job.progress)
        assert job.state == JobState.DONE, job.error
        assert progress == sorted(progress) and progress[-1] == 1.0
        await bus.drain()
        assert states == ["pending", "approved", "exported"]

    exported = await requests.workflow.get(request.id)
    assert exported.status == RequestStatus.EXPORTED and exported.package_path == f"evidence/request-{request.id}.zip"
    package = db / exported.package_path
    assert package.stat().st_size == exported.package_size
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        video_name = manifest["files"][0]["name"]
        (db / "video.mp4").write_bytes(archive.read(video_name))
        (db / "handover.pdf").write_bytes(archive.read("handover.pdf"))
    assert sorted(names) == sorted([video_name, "handover.pdf", "manifest.json", "manifest.sig", "public_key.pem"])
    assert video_name == f"video/camera-{gate.id}-cong-cho-ba-chieu.mp4"
    assert manifest["appliance_id"] == (db / "secrets" / "appliance-id").read_text().strip()
    assert manifest["request"]["case_number"] == "CV 45/2026" and manifest["request"]["approved_by"] == "quantri"
    assert manifest["key_fingerprint"] == requests.public_key().fingerprint
    gate_file, back_file = manifest["files"]
    assert gate_file["codec"] == "h264" and gate_file["size"] == (db / "video.mp4").stat().st_size
    actual_start = datetime.fromisoformat(gate_file["actual_start"])
    assert actual_start <= start and (start - actual_start).total_seconds() < GOP_S + 0.1  # the keyframe before
    assert datetime.fromisoformat(gate_file["requested_start"]) == start
    assert ffprobe_packets(db / "video.mp4")[0]["flags"].startswith("K") and decode_errors(db / "video.mp4") == ""
    # the camera that recorded nothing has no file, and its whole range is listed as a gap
    assert back_file["camera_name"] == "Cổng sau" and back_file["name"] is None and back_file["size"] == 0
    assert back_file["gaps"] == [{"start": start.isoformat(), "end": end.isoformat()}]
    # the handover record, listed with its hash so that the signature covers it, in Vietnamese for both parties
    [record] = manifest["documents"]
    assert (record["name"], record["kind"]) == ("handover.pdf", "handover_record")
    assert record["sha256"] == hashlib.sha256((db / "handover.pdf").read_bytes()).hexdigest()
    text, fonts = read_pdf(db / "handover.pdf")
    for expected in ("BIÊN BẢN BÀN GIAO DỮ LIỆU HÌNH ẢNH CAMERA", "CV 45/2026", "Cổng chợ", "BÊN GIAO", "BÊN NHẬN",
                     f"SHA-256: {gate_file['sha256']}", "Camera Cổng sau: không có bản ghi",
                     manifest["appliance_id"], " ".join(requests.public_key().fingerprint.split())[:19]):  # fmt: skip
        assert expected in " ".join(text.split()), expected
    assert "DejaVuSans" in fonts and all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:])  # embedded

    fingerprint = requests.public_key().fingerprint
    (db / "appliance.pem").write_text(requests.public_key().pem)
    ok = verify_cli(str(package), "--fingerprint", fingerprint)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "The package is intact: the signature is valid and all 1 video files match their SHA-256." in ok.stdout
    assert fingerprint in ok.stdout

    # one byte flipped in the video, as someone might "fix" a frame
    data = bytearray(package.read_bytes())
    tampered = db / "tampered.zip"
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            body = bytearray(src.read(info))
            if info.filename == video_name:
                body[len(body) // 2] ^= 0x01
            dst.writestr(info, bytes(body))
    assert main(["verify", str(tampered), "--public-key", str(db / "appliance.pem"), "--language", "vi"]) == 1
    out = capsys.readouterr().out
    assert f"{video_name} đã bị sửa: mã SHA-256 hoặc kích thước khác với bản kê." in out
    assert "Gói chứng cứ KHÔNG còn nguyên vẹn: phát hiện 1 vấn đề." in out
    assert bytes(data) == package.read_bytes()  # the original is untouched


def read_pdf(path: Path) -> tuple[str, str]:
    """Return a PDF's text and its font table, as poppler's pdftotext and pdffonts read them."""
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    return text.stdout, fonts.stdout


async def _at_least(camera_id: int, count: int) -> bool:
    return await Segment.filter(camera_id=camera_id).count() >= count


def top_left_gray(path: Path, at_s: float = 0.5) -> bytes:
    """Return the top-left corner (160x30 pixels, grey) of the frame at at_s seconds, where the camera name goes."""
    argv = ["ffmpeg", "-v", "error", "-ss", str(at_s), "-i", str(path), "-frames:v", "1", "-vf",
            "crop=160:30:0:0,format=gray", "-f", "rawvideo", "-"]  # fmt: skip
    return subprocess.run(argv, capture_output=True, check=True).stdout


async def test_a_burned_in_export_left_waiting_by_a_stop_is_made_at_the_next_start(db: Path, rtsp_cameras: Any) -> None:
    bus = EventBus()
    recorder = Recorder(db / "recordings", bus, segment_seconds=3)
    gate = await Camera.create(name="Ngã tư Bảy Hiền", main_url=rtsp_cameras.urls[0], retention_days=1)
    await recorder.start()
    try:
        await until(lambda: _at_least(gate.id, 2), 25, "two closed segments")
    finally:
        await recorder.stop()
    segments = await Segment.filter(camera_id=gate.id).order_by("start")
    audit = AuditLog(db / "secrets" / "audit-head.json")

    before = FootageRequests(db, bus, audit)
    async with before.running():
        request = await before.workflow.create(ADMIN, RequestInput(
            officer_name="Lê Văn Tâm", officer_unit="Công an phường 7", officer_badge="CA-123456",
            case_number="CV 46/2026", reason="Cướp giật", start=segments[0].start, end=segments[-1].end,
            camera_ids=(gate.id,),
        ))  # fmt: skip
        await before.workflow.approve(ADMIN, request.id, note="Đồng ý")
        await before.export(ADMIN, request.id, variant="burned_in")
    # the appliance stopped before the package was made: the request still says it is waiting
    waiting = await before.workflow.get(request.id)
    assert waiting.status == RequestStatus.APPROVED and waiting.export_queued_at is not None
    assert waiting.export_variant == "burned_in" and not list((db / "evidence").glob("*.zip"))

    after = FootageRequests(db, bus, audit)
    async with after.running():
        await until(lambda: _exported(request.id), 60, "the package made after the restart")
    made = await after.workflow.get(request.id)
    assert made.export_queued_at is None and made.export_error == ""
    package = db / made.package_path
    assert verify_package(package, public_key=after.public_key().pem.encode()).ok
    with zipfile.ZipFile(package) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        [video] = manifest["files"]
        (db / "burned.mp4").write_bytes(archive.read(video["name"]))
        (db / "handover.pdf").write_bytes(archive.read("handover.pdf"))
    assert (manifest["variant"], manifest["re_encoded"]) == ("burned_in", True)
    assert video["name"].endswith("_burned-in.mp4") and video["codec"] == "h264"
    assert decode_errors(db / "burned.mp4") == ""
    # the camera's name is drawn in the corner: it differs from the camera's own picture there
    original = top_left_gray(db / "recordings" / segments[0].path)
    burned = top_left_gray(db / "burned.mp4")
    assert len(original) == len(burned) == 160 * 30
    assert sum(abs(a - b) for a, b in zip(original, burned, strict=True)) / len(burned) > 20
    text, _ = read_pdf(db / "handover.pdf")
    assert "mã hóa lại, có in ngày giờ và tên camera lên hình" in " ".join(text.split())


async def _exported(request_id: int) -> bool:
    return await FootageRequest.filter(id=request_id, status=RequestStatus.EXPORTED).exists()
