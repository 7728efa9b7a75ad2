"""The MP4 box reader against real files that ffmpeg writes, checked with ffprobe."""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import signal
import struct
import subprocess
import time
from pathlib import Path

import pytest

from appliance.recorder.argv import SEGMENT_FORMAT_OPTIONS
from appliance.recorder.mp4 import UnreadableSegment, read_segment, truncate_to_complete


@pytest.fixture(autouse=True)
def ffmpeg_installed() -> None:
    """These tests need ffmpeg and ffprobe: without them they fail, saying so, rather than being skipped."""
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    assert not missing, f"not installed: {', '.join(missing)} (make test installs them)"


FMP4_OPTIONS = SEGMENT_FORMAT_OPTIONS  # the recorder's own
VIDEO = ["-f", "lavfi", "-i", "testsrc=size=640x360:rate=10"]
AUDIO = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "20", "-bf", "0"]  # a keyframe every 2 s
H264_BFRAMES = ["-c:v", "libx264", "-preset", "veryfast", "-g", "20", "-bf", "3"]
SEGMENTER = ["-f", "segment", "-segment_time", "10", "-segment_format", "mp4", "-segment_format_options"]


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly and fail on any error."""
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, capture_output=True)


def has_encoder(name: str) -> bool:
    """Say whether this ffmpeg was built with an encoder."""
    encoders = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], check=True, capture_output=True, text=True)
    return f" {name} " in encoders.stdout


def record_segment(tmp_path: Path, *inputs_and_codecs: str, seconds: int = 10) -> Path:
    """Record one segment with the segment muxer as the recorder does and return its path."""
    ffmpeg(*inputs_and_codecs, "-t", str(seconds), *SEGMENTER, FMP4_OPTIONS, str(tmp_path / "seg%03d.mp4"))
    return tmp_path / "seg000.mp4"


def probe(path: Path, *entries: str) -> dict[str, str]:
    """Return ffprobe's format (or, with a stream selector first, stream) entries for a file."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", *entries, "-of", "json", str(path)], check=True, capture_output=True, text=True
    )
    data = json.loads(result.stdout)
    return dict(data["streams"][0] if data.get("streams") else data["format"])


def decode_errors(path: Path) -> str:
    """Return what ffprobe and a full decode by ffmpeg complain about (empty when the file is clean)."""
    probed = subprocess.run(["ffprobe", "-v", "error", str(path)], capture_output=True, text=True)
    decoded = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True
    )
    return (probed.stderr + decoded.stderr).strip()


def top_level_boxes(path: Path) -> list[tuple[str, int, int]]:
    """Return (type, start, end) of a complete file's top-level boxes, independently of the module."""
    data, boxes, pos = path.read_bytes(), [], 0
    while pos < len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        boxes.append((kind.decode(), pos, pos + size))
        pos += size
    return boxes


@pytest.fixture(scope="module")
def segment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a 10 s video-only fMP4 segment with a keyframe every 2 s."""
    return record_segment(tmp_path_factory.mktemp("segment"), *VIDEO, *H264)


# --- complete segments ----------------------------------------------------------------------------------


def test_fmp4_segment_has_ffprobes_duration_and_a_keyframe_every_2s(segment: Path) -> None:
    info = read_segment(segment)

    assert info.duration_s == pytest.approx(
        float(probe(segment, "-show_entries", "format=duration")["duration"]), abs=0.05
    )
    assert info.duration_s == pytest.approx(10.0, abs=0.05)
    assert info.keyframes_s == pytest.approx((0.0, 2.0, 4.0, 6.0, 8.0), abs=0.01)
    assert (info.video_codec, info.width, info.height) == ("avc1", 640, 360)
    assert info.first_pts_s == pytest.approx(0.0)
    assert (info.fragmented, info.fragments, info.truncated) == (True, 10, False)  # a fragment a second
    assert info.complete_bytes == info.size == segment.stat().st_size
    assert (info.has_audio, info.audio_codec) == (False, None)


def test_reading_a_segment_takes_well_under_5ms(segment: Path) -> None:
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        read_segment(segment)
    per_read_ms = (time.perf_counter() - started) / runs * 1000
    print(f"read_segment on a 10 s fMP4 segment: {per_read_ms:.3f} ms")  # measured, not asserted


def test_b_frames_give_ffprobes_start_time_and_duration(tmp_path: Path) -> None:
    path = record_segment(tmp_path, *VIDEO, *H264_BFRAMES)
    probed = probe(path, "-show_entries", "format=duration,start_time")

    info = read_segment(path)

    assert info.first_pts_s == pytest.approx(float(probed["start_time"]), abs=0.001)
    assert info.duration_s == pytest.approx(float(probed["duration"]), abs=0.05)
    assert info.keyframes_s == pytest.approx((0.0, 2.0, 4.0, 6.0, 8.0), abs=0.01)


def test_video_and_audio_segment_reads_the_video_track(tmp_path: Path) -> None:
    path = record_segment(tmp_path, *VIDEO, *AUDIO, *H264, "-c:a", "aac")
    video = probe(path, "-select_streams", "v:0", "-show_entries", "stream=duration")

    info = read_segment(path)

    assert (info.video_codec, info.has_audio, info.audio_codec) == ("avc1", True, "mp4a")
    assert info.timescale == 10240  # the video track's, not the audio's 48000
    assert info.duration_s == pytest.approx(float(video["duration"]), abs=0.05)
    assert len(info.keyframes_s) == 5
    assert (info.fragments, info.truncated) == (10, False)


@pytest.mark.parametrize(("tag", "fourcc"), [(["-tag:v", "hvc1"], "hvc1"), ([], "hev1")])
def test_h265_segment_reports_its_sample_entry(tmp_path: Path, tag: list[str], fourcc: str) -> None:
    assert has_encoder("libx265"), "Debian's ffmpeg has libx265: install ffmpeg from Debian (make test does)"
    x265 = [
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-x265-params",
        "keyint=20:min-keyint=20:bframes=0:log-level=error",
    ]
    path = record_segment(tmp_path, *VIDEO, *x265, *tag)

    info = read_segment(path)

    assert (info.video_codec, info.width, info.height) == (fourcc, 640, 360)
    assert info.duration_s == pytest.approx(
        float(probe(path, "-show_entries", "format=duration")["duration"]), abs=0.05
    )
    assert info.keyframes_s == pytest.approx((0.0, 2.0, 4.0, 6.0, 8.0), abs=0.01)


@pytest.mark.parametrize("faststart", [False, True])
@pytest.mark.parametrize("codec", [H264, H264_BFRAMES], ids=["no-bframes", "bframes"])
def test_plain_mp4_is_read_from_its_sample_tables(tmp_path: Path, faststart: bool, codec: list[str]) -> None:
    path = tmp_path / "plain.mp4"
    ffmpeg(*VIDEO, *codec, "-t", "10", *(["-movflags", "+faststart"] if faststart else []), str(path))
    probed = probe(path, "-show_entries", "format=duration,start_time")

    info = read_segment(path)

    assert (info.fragmented, info.fragments, info.truncated) == (False, 0, False)
    assert info.duration_s == pytest.approx(float(probed["duration"]), abs=0.05)
    assert info.first_pts_s == pytest.approx(float(probed["start_time"]), abs=0.001)
    assert info.keyframes_s == pytest.approx((0.0, 2.0, 4.0, 6.0, 8.0), abs=0.01)
    assert (info.video_codec, info.width, info.height) == ("avc1", 640, 360)


# --- segments cut short -------------------------------------------------------------------------------


def cut_points(segment: Path) -> list[tuple[str, int, int]]:
    """Return (what, offset, complete fragments before it) for cuts inside the segment's fragments."""
    fragments = [(start, end) for kind, start, end in top_level_boxes(segment) if kind == "moof"]
    mdats = [(start, end) for kind, start, end in top_level_boxes(segment) if kind == "mdat"]
    return [
        ("inside the first moof", fragments[0][0] + 50, 0),
        ("right after the second moof", fragments[1][1], 1),
        ("in the middle of the third mdat", (mdats[2][0] + mdats[2][1]) // 2, 2),
        ("3 bytes into the fourth moof's header", fragments[3][0] + 3, 3),
        ("in the middle of the fourth moof", (fragments[3][0] + fragments[3][1]) // 2, 3),
        ("one byte before the last mdat ends", mdats[4][1] - 1, 4),
    ]


@pytest.mark.parametrize("cut", range(6), ids=lambda index: f"cut{index}")
def test_truncated_segment_counts_only_complete_fragments(segment: Path, tmp_path: Path, cut: int) -> None:
    what, offset, complete = cut_points(segment)[cut]
    path = tmp_path / "torn.mp4"
    path.write_bytes(segment.read_bytes()[:offset])

    info = read_segment(path)

    assert info.truncated, what
    assert info.fragments == complete, what
    assert info.duration_s == pytest.approx(1.0 * complete), what  # a fragment every second
    assert len(info.keyframes_s) == (complete + 1) // 2, what  # a keyframe every other fragment
    assert info.complete_bytes < info.size == offset

    fixed = truncate_to_complete(path)

    assert path.stat().st_size == info.complete_bytes == fixed.size
    assert (fixed.truncated, fixed.fragments, fixed.duration_s) == (False, complete, info.duration_s)
    if complete:
        assert decode_errors(path) == ""
        assert float(probe(path, "-show_entries", "format=duration")["duration"]) == pytest.approx(info.duration_s)


def test_truncate_leaves_a_complete_segment_alone(segment: Path, tmp_path: Path) -> None:
    path = tmp_path / "whole.mp4"
    shutil.copyfile(segment, path)

    assert truncate_to_complete(path) == dataclasses.replace(read_segment(segment), path=path)
    assert path.read_bytes() == segment.read_bytes()


def test_segment_killed_while_recording_keeps_its_complete_fragments(tmp_path: Path) -> None:
    argv = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", *VIDEO, *H264, "-progress", "pipe:1", *SEGMENTER]
    recorder = subprocess.Popen([*argv, FMP4_OPTIONS, str(tmp_path / "seg%03d.mp4")], stdout=subprocess.PIPE, text=True)
    assert recorder.stdout is not None
    try:
        for line in recorder.stdout:  # out_time_us: how far into the recording ffmpeg has muxed
            key, _, value = line.strip().partition("=")
            if key == "out_time_us" and value.isdigit() and int(value) >= 5_000_000:
                break
    finally:
        recorder.send_signal(signal.SIGKILL)
        recorder.wait()
    path = tmp_path / "seg000.mp4"

    info = read_segment(path)
    print(f"killed 5 s into the segment: {info.duration_s:.2f} s recovered, {info.size} bytes, torn: {info.truncated}")

    assert 3.0 <= info.duration_s <= 5.0  # TESTING.md measured 4.0 s: the two fragments before the kill
    fixed = truncate_to_complete(path)
    assert decode_errors(path) == ""
    assert float(probe(path, "-show_entries", "format=duration")["duration"]) == pytest.approx(fixed.duration_s)


# --- files that are not segments ----------------------------------------------------------------------


def plain_mp4_cut_before_its_moov(tmp_path: Path) -> Path:
    """Write a plain MP4 (moov at the end, as a recording in progress has none yet) and cut off its moov."""
    path = tmp_path / "no-moov.mp4"
    ffmpeg(*VIDEO, *H264, "-t", "2", str(path))
    moov_at = next(start for kind, start, _ in top_level_boxes(path) if kind == "moov")
    path.write_bytes(path.read_bytes()[:moov_at])
    return path


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty", "empty file"),
        ("garbage", "not an MP4"),
        ("text", "not an MP4"),
        ("mpegts", "not an MP4"),
        ("ftyp-only", "no moov"),
        ("no-moov", "no moov"),
        ("audio-only", "no video track"),
    ],
)
def test_files_that_are_not_segments_raise_unreadable_segment(tmp_path: Path, name: str, reason: str) -> None:
    path = tmp_path / f"{name}.mp4"
    if name == "empty":
        path.touch()
    elif name == "garbage":
        path.write_bytes(random.Random(1).randbytes(4096))
    elif name == "text":
        path.write_text("Hello, this is not a video.\n" * 20)
    elif name == "mpegts":
        ffmpeg(*VIDEO, *H264, "-t", "1", "-f", "mpegts", str(path))
    elif name == "ftyp-only":
        path.write_bytes(struct.pack(">I4s4sI4s", 20, b"ftyp", b"isom", 512, b"isom"))
    elif name == "no-moov":
        path = plain_mp4_cut_before_its_moov(tmp_path)
    else:
        ffmpeg(*AUDIO, "-c:a", "aac", "-t", "2", str(path))

    with pytest.raises(UnreadableSegment, match=reason) as raised:
        read_segment(path)

    assert raised.value.path == str(path)


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_segment(tmp_path / "gone.mp4")


def test_corrupt_boxes_raise_unreadable_segment_or_read(segment: Path, tmp_path: Path) -> None:
    data = segment.read_bytes()
    boxes = [(start, end) for kind, start, end in top_level_boxes(segment) if kind in ("ftyp", "moov", "moof")]
    rng = random.Random(7)
    path = tmp_path / "corrupt.mp4"
    for _ in range(500):
        corrupt = bytearray(data)
        start, end = rng.choice(boxes)
        for _ in range(rng.randint(1, 4)):
            corrupt[rng.randrange(start, end)] = rng.randrange(256)
        path.write_bytes(corrupt)
        try:
            info = read_segment(path)
        except UnreadableSegment:
            continue
        assert 0 <= info.complete_bytes <= info.size
