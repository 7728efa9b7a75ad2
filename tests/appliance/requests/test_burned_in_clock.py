"""The burned-in clock after a gap in the recording: each frame shows when it was really filmed, not the time the
footage before the gap ran on to (ffmpeg joins files with the gaps left out)."""

from __future__ import annotations

import json
import subprocess
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.audit import AuditLog
from appliance.bus import EventBus
from appliance.db.models.cameras import Camera
from appliance.db.models.recordings import Segment
from appliance.playback.clip import plan_clip
from appliance.recorder.manager import Recorder
from appliance.requests import FootageRequests
from appliance.requests.export import burned_in_argv
from appliance.requests.verify import verify_package
from tests.appliance.playback.support import decode_errors, ffprobe_packets
from tests.appliance.requests.support import approved_request, exported
from tests.harness.waiting import until

FRAME_S = 0.1  # the synthetic cameras send 10 frames a second
CLOCK = "crop=320:40:0:ih-40,format=gray"  # the bottom-left corner, where the clock is drawn


def first_frame(path: Path, graph: str = "") -> bytes:
    """Return the clock's corner of a file's first frame (grey), after drawing `graph` on it if given."""
    argv = ["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", "1", "-vf", f"{graph},{CLOCK}" if graph else CLOCK,
            "-f", "rawvideo", "-"]  # fmt: skip
    return subprocess.run(argv, capture_output=True, check=True).stdout


def closer_to(shown: bytes, right: bytes, wrong: bytes) -> tuple[float, float]:
    """Return how far the shown picture is from each of two (mean absolute difference, grey), where they differ."""
    assert len(shown) == len(right) == len(wrong) == 320 * 40
    where = [i for i in range(len(shown)) if abs(right[i] - wrong[i]) > 60]
    assert len(where) > 20  # the two times drawn differ in some digits
    return (sum(abs(shown[i] - right[i]) for i in where) / len(where),
            sum(abs(shown[i] - wrong[i]) for i in where) / len(where))  # fmt: skip


def video_end(path: Path) -> float:
    """Return when the video's last frame ends, in the file's time (the re-encoded frames come out of order)."""
    return max(float(p["pts_time"]) + float(p["duration_time"]) for p in ffprobe_packets(path))


async def test_after_a_gap_the_burned_in_clock_shows_when_the_footage_was_really_recorded(
    db: Path, rtsp_cameras: Any
) -> None:
    bus = EventBus()
    recordings = db / "recordings"
    recorder = Recorder(recordings, bus, segment_seconds=2)
    corner = await Camera.create(name="Ngã ba Ông Tạ", main_url=rtsp_cameras.urls[3], retention_days=1)
    await recorder.start()
    try:
        await until(lambda: _closed(corner.id, 5), 30, "five closed segments")
    finally:
        await recorder.stop()
    segments = await Segment.filter(camera_id=corner.id).order_by("start")
    # the third segment's footage is gone from the disk, though the index still lists it (a damaged disk): the
    # package must show that stretch as a gap all the same, and the burned-in clock must not run on over it
    lost = segments.pop(2)
    (recordings / lost.path).unlink()
    before, after = segments[1], segments[2]  # the last segment before the gap, the first after it
    start, end = segments[0].start + timedelta(seconds=0.3), segments[-1].end
    requests = FootageRequests(db, bus, AuditLog(db / "secrets" / "audit-head.json"))
    async with requests.running():
        request = await approved_request(requests, (corner.id,), start, end, case_number="CV 49/2026",
                                         reason="Trộm xe")  # fmt: skip
        manifests = {}
        for variant in ("original", "burned_in"):
            package = await exported(requests, request.id, variant, db / f"{variant}.zip")
            assert verify_package(package, public_key=requests.public_key().pem.encode()).ok
            with zipfile.ZipFile(package) as archive:
                manifests[variant] = json.loads(archive.read("manifest.json"))
                for number, file in enumerate(manifests[variant]["files"], 1):
                    (db / f"{variant}{number}.mp4").write_bytes(archive.read(file["name"]))
        plan = await plan_clip(corner.id, start, end, recordings)
    listed_gap = {"start": before.end.isoformat(), "end": after.start.isoformat()}

    # the original stays one file across the gap (its time runs on, the gap listed), as before
    [original] = manifests["original"]["files"]
    assert (original["part"], original["parts"]) == (1, 1) and listed_gap in original["gaps"]

    # burned in: one file before the gap and one after, each starting when its first frame was really filmed
    files = manifests["burned_in"]["files"]
    assert [(f["name"], f["part"], f["parts"], f["codec"]) for f in files] == [
        (f"video/camera-{corner.id}-nga-ba-ong-ta_part{n}_burned-in.mp4", n, 2, "h264") for n in (1, 2)
    ]
    spans = [tuple(datetime.fromisoformat(f[k]) for k in ("actual_start", "actual_end")) for f in files]
    assert spans[0][0] == plan[0].segment.start + timedelta(seconds=plan[0].skipped_s) <= start
    assert spans[1][0] == after.start  # the real time of the first frame after the gap
    assert abs(spans[0][1] - before.end) < timedelta(seconds=2 * FRAME_S) and spans[1][1] <= end
    assert listed_gap in files[0]["gaps"] and files[1]["gaps"] == []
    # each file holds only recorded time: as long as the footage it says it covers (give or take the frames
    # ffmpeg repeats or drops where segments join), the gap nowhere in it
    gap_s = (after.start - before.end).total_seconds()
    assert gap_s > 1.5
    for number, (began, ended) in enumerate(spans, 1):
        video = db / f"burned_in{number}.mp4"
        assert decode_errors(video) == ""
        assert abs(video_end(video) - (ended - began).total_seconds()) < 5 * FRAME_S < gap_s

    # the clock drawn on the first frame after the gap is the real time, not the time before the gap plus the
    # footage in between: compared with the recorded frame with either time drawn in the same way
    def drawn(epoch: float) -> str:
        argv = burned_in_argv(db / "name.txt", epoch, niced=False)
        return argv[argv.index("-vf") + 1]

    (db / "name.txt").write_text("Ngã ba Ông Tạ", encoding="utf-8")
    real = after.start.timestamp()
    behind = real - gap_s  # what a clock run on over the gap showed
    assert f":{real:.6f}" in drawn(real)
    shown = first_frame(db / "burned_in2.mp4")
    right, wrong = closer_to(shown, first_frame(recordings / after.path, drawn(real)),
                             first_frame(recordings / after.path, drawn(behind)))  # fmt: skip
    assert right < wrong / 3, (right, wrong)


async def _closed(camera_id: int, count: int) -> bool:
    return await Segment.filter(camera_id=camera_id).count() >= count
