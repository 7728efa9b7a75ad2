"""The export joins recorded segments without ffmpeg: H.265 with AAC audio, exact cuts, gaps; a camera whose stream
changed within the range (audio switched on, H.264 to H.265) gets one file per unchanged stretch."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import subprocess
import threading
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from appliance.audit import AuditLog
from appliance.bus import CameraChanged, EventBus
from appliance.cli import main
from appliance.db.models.cameras import Camera
from appliance.db.models.recordings import Segment
from appliance.playback.clip import plan_clip
from appliance.playback.ffmpeg import concat_script, input_args
from appliance.playback.ranges import MERGE_GAP_S
from appliance.recorder.argv import MOVFLAGS
from appliance.recorder.manager import Recorder
from appliance.requests import FootageRequests
from appliance.requests.export import JobState
from appliance.requests.splice_export import SpliceStopped, in_own_thread, splice
from appliance.requests.verify import verify_package
from appliance.requests.workflow import RequestInput
from tests.appliance.playback.support import decode_errors, ffprobe_packets
from tests.appliance.requests.support import ADMIN, approved_request, exported
from tests.harness.waiting import until

GOP_S = 2.0  # the synthetic cameras send a keyframe every 2 s
FRAME_S = 0.1  # at 10 frames a second
# ffmpeg's concat demuxer copying a plan's files as fragmented MP4, to compare the splice with
CONCAT_COPY = ["ffmpeg", "-hide_banner", "-loglevel", "error", *input_args(),
               "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", "pipe:1"]  # fmt: skip


def probe_streams(path: Path) -> list[dict[str, Any]]:
    """Return a file's streams as ffprobe reads them: codec, tag and duration."""
    result = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name,codec_tag_string",
                             "-of", "json", str(path)], capture_output=True, text=True, check=True)  # fmt: skip
    streams: list[dict[str, Any]] = json.loads(result.stdout)["streams"]
    return streams


def video_end(path: Path, stream: str = "v:0") -> float:
    """Return when a stream's last packet ends, in the file's time."""
    last = ffprobe_packets(path, stream)[-1]
    return float(last["pts_time"]) + float(last["duration_time"])


async def _closed(camera_id: int, count: int, **codec: str) -> bool:
    return await Segment.filter(camera_id=camera_id, **codec).count() >= count


def pdf_text(path: Path) -> str:
    """Return a PDF's text as poppler's pdftotext reads it."""
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


async def test_h265_with_audio_is_cut_exactly_and_joined_across_a_gap_and_a_changed_stream_is_split_in_two(
    db: Path, rtsp_server_factory: Any, rtsp_cameras: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="appliance.requests.export")
    server = rtsp_server_factory(cameras=1, codec="h265", audio="aac")
    bus = EventBus()
    recordings = db / "recordings"
    recorder = Recorder(recordings, bus, segment_seconds=3)
    market = await Camera.create(name="Chợ Bến Thành", main_url=server.urls[0], retention_days=1)
    gate = await Camera.create(name="Cổng trường", main_url=rtsp_cameras.urls[1], retention_days=1)
    await recorder.start()
    try:
        await until(lambda: _closed(market.id, 5), 40, "five closed H.265 segments")
        await until(lambda: _closed(gate.id, 2), 20, "two closed H.264 segments")
    finally:
        await recorder.stop()
    segments = await Segment.filter(camera_id=market.id).order_by("start")
    assert {s.video_codec for s in segments} == {"hevc"}
    # a hole in the recording: the fourth segment is gone (as after a power cut)
    lost = segments.pop(3)
    (recordings / lost.path).unlink()
    await lost.delete()
    start = segments[1].start + timedelta(seconds=1.3)  # not on a keyframe (the first segment may be short)
    end = segments[-1].start + timedelta(seconds=1.55)  # inside the last segment, between two frames
    # the school gate camera's stream changed within the range: its microphone was switched on
    gate_segments = await Segment.filter(camera_id=gate.id, start__lt=end, end__gt=start).order_by("start")
    assert len(gate_segments) >= 2
    await asyncio.to_thread(with_audio_added, recordings / gate_segments[-1].path)
    requests = FootageRequests(db, bus, AuditLog(db / "secrets" / "audit-head.json"))
    async with requests.running():
        request = await requests.workflow.create(ADMIN, RequestInput(
            officer_name="Lê Văn Tâm", officer_unit="Công an phường Bến Thành", officer_badge="CA-654321",
            case_number="CV 47/2026", reason="Trộm cắp", start=start, end=end, camera_ids=(market.id, gate.id),
        ))  # fmt: skip
        await requests.workflow.approve(ADMIN, request.id, note="Đồng ý")
        job = await requests.export(ADMIN, request.id)
        while job.state in (JobState.QUEUED, JobState.WORKING):
            await until(lambda: job.state not in (JobState.QUEUED, JobState.WORKING), 60, "the export")
        assert job.state == JobState.DONE, job.error
        plan = await plan_clip(market.id, start, end, recordings)
    package = db / (await requests.workflow.get(request.id)).package_path
    assert verify_package(package, public_key=requests.public_key().pem.encode()).ok
    with zipfile.ZipFile(package) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        market_file, *gate_files = manifest["files"]
        (db / "market.mp4").write_bytes(archive.read(market_file["name"]))
        for number, gate_file in enumerate(gate_files, 1):
            (db / f"gate{number}.mp4").write_bytes(archive.read(gate_file["name"]))
    video = db / "market.mp4"

    # the market camera: spliced, H.265 (tagged hvc1, as recorded) with its AAC audio, every frame decodes
    assert market_file["codec"] == "hevc" and (market_file["part"], market_file["parts"]) == (1, 1)
    assert [(s["codec_type"], s["codec_name"]) for s in probe_streams(video)] == [("video", "hevc"), ("audio", "aac")]
    assert probe_streams(video)[0]["codec_tag_string"] == "hvc1"
    assert decode_errors(video) == ""
    # the first frame is the keyframe at or before the start; the manifest says when it was filmed
    packets = ffprobe_packets(video)
    assert packets[0]["flags"].startswith("K") and float(packets[0]["pts_time"]) == 0.0
    actual_start = datetime.fromisoformat(market_file["actual_start"])
    assert plan[0].segment.id == segments[1].id
    assert actual_start == segments[1].start + timedelta(seconds=plan[0].skipped_s)
    assert actual_start <= start and (start - actual_start).total_seconds() < GOP_S + 0.1
    # it ends at the end asked for (the last frame starts before it), the gap left out, the frames evenly spaced
    planned = sum(e.duration_s for e in plan)
    assert planned - FRAME_S < video_end(video) <= planned + FRAME_S
    steps = [float(b["pts_time"]) - float(a["pts_time"]) for a, b in itertools.pairwise(packets)]
    assert max(steps) < 1.6 * FRAME_S and min(steps) > 0.4 * FRAME_S
    # the audio runs along the video to the end, in order
    audio = [float(p["pts_time"]) for p in ffprobe_packets(video, "a:0")]
    assert all(b > a for a, b in itertools.pairwise(audio))
    assert audio[0] < 0.2 and abs(video_end(video, "a:0") - video_end(video)) < 0.2
    # the same frames, byte for byte, as ffmpeg's concat demuxer copies for the same plan
    copied = await asyncio.to_thread(
        subprocess.run, CONCAT_COPY, input=concat_script(plan).encode(), capture_output=True, check=True
    )
    (db / "copied.mp4").write_bytes(copied.stdout)
    assert [p["size"] for p in ffprobe_packets_with_size(video)] == [
        p["size"] for p in ffprobe_packets_with_size(db / "copied.mp4")
    ]
    # the lost segment is listed as a gap
    gaps = [(datetime.fromisoformat(g["start"]), datetime.fromisoformat(g["end"])) for g in market_file["gaps"]]
    assert (segments[2].end, segments[3].start) in gaps and segments[3].start - segments[2].end > 0.9 * (
        lost.end - lost.start
    )

    # the gate camera's stream changed within the range: one file without audio, then one with it, both spliced
    assert f"camera {gate.id}: its stream changed within the range: 2 files" in caplog.text
    assert f"camera {market.id}: its stream" not in caplog.text
    assert [(f["name"], f["part"], f["parts"]) for f in gate_files] == [
        (f"video/camera-{gate.id}-cong-truong_part{n}.mp4", n, 2) for n in (1, 2)
    ]
    assert [s["codec_name"] for s in probe_streams(db / "gate1.mp4")] == ["h264"]
    assert [s["codec_name"] for s in probe_streams(db / "gate2.mp4")] == ["h264", "aac"]
    assert decode_errors(db / "gate1.mp4") == "" and decode_errors(db / "gate2.mp4") == ""
    joint = [datetime.fromisoformat(gate_files[0]["actual_end"]), datetime.fromisoformat(gate_files[1]["actual_start"])]
    assert abs((joint[1] - joint[0]).total_seconds()) < 2 * FRAME_S  # the recording went on: they join up

    # a stopped export stops the splice before the next segment, having written nothing more
    halted, written = threading.Event(), bytearray()
    halted.set()
    with pytest.raises(SpliceStopped):
        splice(plan, written.extend, halted)
    assert written == b""


async def test_a_camera_switched_from_h264_to_h265_within_the_range_gets_a_file_per_stretch_that_plays_and_verifies(
    db: Path, rtsp_cameras: Any, rtsp_server_factory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bus = EventBus()
    recordings = db / "recordings"
    recorder = Recorder(recordings, bus, segment_seconds=3)
    lane = await Camera.create(name="Hẻm 42", main_url=rtsp_cameras.urls[2], retention_days=1)
    await recorder.start()
    try:
        await until(lambda: _closed(lane.id, 2), 25, "two closed H.264 segments")
        # the camera is replaced by one that sends H.265: its address is changed in the panel
        h265 = rtsp_server_factory(cameras=1, codec="h265")
        await Camera.filter(id=lane.id).update(main_url=h265.urls[0])
        bus.publish(CameraChanged(camera_id=lane.id, change="updated"))
        await until(lambda: _closed(lane.id, 2, video_codec="hevc"), 30, "two closed H.265 segments")
    finally:
        await recorder.stop()
    segments = await Segment.filter(camera_id=lane.id).order_by("start")
    start, end = segments[0].start + timedelta(seconds=1.3), segments[-1].end
    requests = FootageRequests(db, bus, AuditLog(db / "secrets" / "audit-head.json"))
    async with requests.running():
        request = await approved_request(requests, (lane.id,), start, end, case_number="CV 48/2026",
                                         reason="Đánh nhau")  # fmt: skip
        packages = {variant: await exported(requests, request.id, variant, db / f"{variant}.zip")
                    for variant in ("original", "burned_in")}  # fmt: skip
    public_key = requests.public_key().pem.encode()

    # one file per stretch the camera's stream did not change in, as ffprobe tells the recorded segments apart:
    # H.264, then H.265 (its first segment tagged hev1: the recorder's first run after the change still had
    # the H.264 plan, which does not set hvc1; it then restarts with hvc1), each spliced as recorded
    recorded = [(probe_streams(recordings / s.path)[0], s) for s in segments if s.end > start]
    runs = [[s for _, s in run] for _, run in itertools.groupby(
        recorded, key=lambda r: (r[0]["codec_name"], r[0]["codec_tag_string"]))]  # fmt: skip
    assert runs[0][0].video_codec == "h264" and runs[-1][-1].video_codec == "hevc"
    package = packages["original"]
    with zipfile.ZipFile(package) as archive:
        files = json.loads(archive.read("manifest.json"))["files"]
        for number, file in enumerate(files, 1):
            (db / f"part{number}.mp4").write_bytes(archive.read(file["name"]))
        (db / "handover.pdf").write_bytes(archive.read("handover.pdf"))
    count = len(runs)
    assert [(f["name"], f["part"], f["parts"], f["codec"]) for f in files] == [
        (f"video/camera-{lane.id}-hem-42_part{n}.mp4", n, count, run[0].video_codec) for n, run in enumerate(runs, 1)
    ]
    spans = [tuple(datetime.fromisoformat(f[k]) for k in ("actual_start", "actual_end")) for f in files]
    for number, (run, (began, ended)) in enumerate(zip(runs, spans, strict=True), 1):
        video = db / f"part{number}.mp4"
        assert [(s["codec_name"], s["codec_tag_string"]) for s in probe_streams(video)] == [
            (s["codec_name"], s["codec_tag_string"]) for s in probe_streams(recordings / run[0].path)
        ]
        assert decode_errors(video) == ""
        assert abs(video_end(video) - (ended - began).total_seconds()) < 2 * FRAME_S  # it holds what it says
        assert run[0].start <= began < run[0].end and run[-1].start < ended <= run[-1].end + timedelta(seconds=0.1)
    assert spans[0][0] <= start and spans[-1][1] <= end
    # their times join up: each file ends where the next starts (the recording's gaps under MERGE_GAP_S are not
    # listed, here as anywhere), or the time between is listed as a gap
    listed = [(datetime.fromisoformat(g["start"]), datetime.fromisoformat(g["end"])) for f in files for g in f["gaps"]]
    for (_, ended), (began, _) in itertools.pairwise(spans):
        assert ended <= began + timedelta(seconds=FRAME_S)
        assert began - ended < timedelta(seconds=MERGE_GAP_S) or any(
            abs(s - ended) < timedelta(seconds=0.5) and e == began for s, e in listed
        )
    text = pdf_text(db / "handover.pdf")
    assert all(f"phần {n}/{count}" in text and f["sha256"] in text for n, f in enumerate(files, 1))

    # `wardcam verify` passes, and one part altered is named
    assert main(["verify", str(package), "--fingerprint", requests.public_key().fingerprint, "--language", "en"]) == 0
    assert f"all {count} video files match their SHA-256" in capsys.readouterr().out
    tampered = db / "tampered.zip"
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            body = bytearray(src.read(info))
            if info.filename == files[1]["name"]:
                body[len(body) // 2] ^= 0x01
            dst.writestr(info, bytes(body))
    assert [(p.kind, p.name) for p in verify_package(tampered, public_key=public_key).problems] == [
        ("file_altered", files[1]["name"])
    ]

    # burned in: re-encoded to H.264 a stretch at a time, each as long as the original, decoding fully
    package = packages["burned_in"]
    assert verify_package(package, public_key=public_key).ok
    with zipfile.ZipFile(package) as archive:
        files = json.loads(archive.read("manifest.json"))["files"]
        assert [(f["name"], f["codec"]) for f in files] == [
            (f"video/camera-{lane.id}-hem-42_part{n}_burned-in.mp4", "h264") for n in range(1, count + 1)
        ]
        for number, file in enumerate(files, 1):
            video = db / f"burned{number}.mp4"
            video.write_bytes(archive.read(file["name"]))
            assert [s["codec_name"] for s in probe_streams(video)] == ["h264"] and decode_errors(video) == ""
            assert abs(video_end(video) - video_end(db / f"part{number}.mp4")) < 5 * FRAME_S


def with_audio_added(segment: Path) -> None:
    """Give a segment an AAC track (silence) beside its video, in the recorder's segment format."""
    changed = segment.with_suffix(".new.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(segment), "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
                    "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest",
                    "-movflags", MOVFLAGS, "-f", "mp4", str(changed)], check=True)  # fmt: skip
    stat = segment.stat()
    changed.replace(segment)
    os.utime(segment, (stat.st_atime, stat.st_mtime))


def ffprobe_packets_with_size(path: Path) -> list[dict[str, Any]]:
    """Return the video packets' sizes, as ffprobe reads them."""
    result = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=size",
                             "-of", "json", str(path)], capture_output=True, text=True, check=True)  # fmt: skip
    packets: list[dict[str, Any]] = json.loads(result.stdout)["packets"]
    return packets


def test_the_splice_thread_runs_at_the_lowest_cpu_and_disk_priority_and_leaves_the_others_alone() -> None:
    def priorities() -> tuple[int, str]:
        thread = threading.get_native_id()
        ionice = subprocess.run(["ionice", "-p", str(thread)], capture_output=True, text=True, check=True)
        return os.getpriority(os.PRIO_PROCESS, thread), ionice.stdout.strip()

    before = priorities()
    assert in_own_thread(priorities).result(timeout=10) == (19, "idle")
    assert in_own_thread(priorities, lowered=False).result(timeout=10) == before
    assert priorities() == before and before[0] < 19
