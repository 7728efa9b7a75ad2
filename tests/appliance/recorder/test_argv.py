"""The recording ffmpeg command line: its argv for each camera, then real recordings and real failures.

The real runs start GStreamer RTSP servers and several ffmpeg processes at once, so that the whole
module stays under about 35 s: one test records five cameras side by side, another provokes every
failure side by side (the slowest, a camera that hangs mid-recording, takes about 10 s to notice).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import ffmpeg
import pytest

from appliance.cameras import stream_url_with_credentials
from appliance.db.models.cameras import AudioPolicy, Camera
from appliance.demo.cameras import BlockingSyntheticCameras
from appliance.net import free_port
from appliance.recorder.argv import (
    PROGRESS_EVERY_S,
    RecordingPlan,
    SegmentClosed,
    audio_action,
    parse_segment_line,
    recording_argv,
    redact,
    redacted_argv,
    segment_dir,
    segment_path,
)
from appliance.recorder.failures import audio_blocked, classify_failure, probe_too_short
from appliance.recorder.streams import InputDump

log = logging.getLogger(__name__)

URL = "rtsp://10.0.0.5:554/Streaming/Channels/101"
OUT = Path("/data/recordings")
RUN_S = 13.0  # each real recording; 6 s segments give two closed segments and a finalized third
STOP_TIMEOUT = 10.0
FAIL_TIMEOUT = 20.0
# warnings a healthy recording may print once at start; anything else on stderr is a real problem
BENIGN = (
    "Timestamps are unset in a packet",  # the first packets of an RTSP stream
    "has not been used for any stream",  # -b:a when the camera turns out to have no audio
    "Non-monotonous DTS in output stream 0:0; previous: 0, current: 0",  # the same first packets
)
# the RTSP demuxer moves a stream's clock back when the camera's first RTCP sender report arrives (seconds
# late on a loaded machine, so not always in the first segment); ffmpeg corrects the timestamps ("replacing
# by guess" when the DTS lands after the PTS)
SESSION_START = ("Non-monotonous DTS in output stream", "Queue input is backward in time", "Invalid DTS: ")


def real_problems(stderr: list[str]) -> list[str]:
    """Return the stderr lines that are neither [info], nor benign, nor the clock fix of one RTCP resync.

    The clock fix (SESSION_START) is accepted in one segment of the session only: the first sender
    report comes once; warnings of that kind in a second segment mean timestamps go wrong again and again.
    """
    problems, opened, fixed_in = [], 0, set()
    for line in stderr:
        opened += "[info] Opening '" in line
        if "[info]" in line or any(b in line for b in BENIGN):
            continue
        if any(s in line for s in SESSION_START):
            fixed_in.add(opened)
            if len(fixed_in) == 1:
                continue
        problems.append(line)
    return problems


def plan(**changes: Any) -> RecordingPlan:
    """Return a plan for camera 7 with H.264 and AAC, changed as given."""
    fields: dict[str, Any] = {"url": URL, "camera_id": 7, "output_dir": OUT, "video_codec": "h264",
                              "audio_codec": "aac"}  # fmt: skip
    return RecordingPlan(**(fields | changes))


def option(argv: list[str], name: str) -> str | None:
    """Return the value after an option, None when it is absent."""
    return argv[argv.index(name) + 1] if name in argv else None


def maps(argv: list[str]) -> list[str]:
    """Return the values of every -map."""
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == "-map"]


# --- the argv, pure ----------------------------------------------------------------------------


def test_h264_with_aac_is_copied_whole_into_fragmented_mp4_segments() -> None:
    assert recording_argv(plan()) == [
        "ffmpeg",
        "-analyzeduration", "500000", "-rtsp_transport", "tcp", "-timeout", "5000000", "-i", URL,
        "-map", "0:v:0", "-map", "0:a:0?",
        "-f", "segment", "-c:a", "copy", "-c:v", "copy", "-reset_timestamps", "1",
        "-segment_format", "mp4",
        "-segment_format_options",
        "movflags=+frag_keyframe+empty_moov+default_base_moof:frag_duration=1000000:flush_packets=1",
        "-segment_list", "pipe:1", "-segment_list_type", "csv", "-segment_time", "10", "-strftime", "1",
        "/data/recordings/7/%Y-%m-%d/%H-%M-%S.mp4",
        "-hide_banner", "-nostdin", "-loglevel", "level+info", "-nostats",
        "-progress", "pipe:1", "-stats_period", "3",
    ]  # fmt: skip


def test_h265_is_tagged_hvc1_and_only_h265() -> None:
    assert option(recording_argv(plan(video_codec="hevc")), "-tag:v") == "hvc1"
    # hvc1 on H.264 is fatal ("Tag hvc1 incompatible with output codec id '27' (avc1)"): never guess
    assert "-tag:v" not in recording_argv(plan(video_codec="h264"))
    assert "-tag:v" not in recording_argv(plan(video_codec=None))


def test_video_is_never_reencoded() -> None:
    for video in ("h264", "hevc", None):
        for policy in AudioPolicy:
            argv = recording_argv(plan(video_codec=video, audio_policy=policy))
            assert option(argv, "-c:v") == "copy"
            assert maps(argv)[0] == "0:v:0"


@pytest.mark.parametrize("audio", ["pcm_alaw", "pcm_mulaw", "opus", None])
def test_audio_mp4_cannot_hold_or_unknown_audio_is_transcoded_to_aac(audio: str | None) -> None:
    argv = recording_argv(plan(audio_codec=audio))
    assert (option(argv, "-c:a"), option(argv, "-b:a")) == ("aac", "32k")
    assert maps(argv) == ["0:v:0", "0:a:0?"]  # "?": a camera without audio still records
    # give up quickly on a camera that announces audio and sends none (see the real test below)
    assert (option(argv, "-max_muxing_queue_size"), option(argv, "-muxing_queue_data_threshold")) == ("256", "0")


def test_aac_policy_transcodes_even_aac() -> None:
    assert option(recording_argv(plan(audio_codec="aac", audio_policy=AudioPolicy.AAC)), "-c:a") == "aac"


def test_drop_policy_records_video_only() -> None:
    argv = recording_argv(plan(audio_codec="pcm_alaw", audio_policy=AudioPolicy.DROP))
    assert "-an" in argv
    assert maps(argv) == ["0:v:0"]
    assert "-c:a" not in argv and "-max_muxing_queue_size" not in argv


def test_audio_action_for_each_policy_and_codec() -> None:
    assert [audio_action(AudioPolicy.COPY, codec) for codec in ("aac", "pcm_alaw", None)] == ["copy", "aac", "aac"]
    assert [audio_action(AudioPolicy.AAC, codec) for codec in ("aac", "pcm_alaw", None)] == ["aac", "aac", "aac"]
    assert [audio_action(AudioPolicy.DROP, codec) for codec in ("aac", "pcm_alaw", None)] == ["drop"] * 3


def test_timeout_segment_length_and_segment_list_fd_are_taken_from_the_plan() -> None:
    argv = recording_argv(plan(rtsp_timeout_s=2.5, segment_seconds=6), segment_list_fd=5)
    assert (option(argv, "-timeout"), option(argv, "-segment_time")) == ("2500000", "6")
    assert option(argv, "-segment_list") == "pipe:5"
    assert option(argv, "-progress") == "pipe:1"


def test_http_camera_gets_a_read_timeout_instead_of_rtsp_options() -> None:
    argv = recording_argv(plan(url="http://10.0.0.5/video.mjpg"))
    assert option(argv, "-rw_timeout") == "5000000"
    assert "-rtsp_transport" not in argv and "-timeout" not in argv


def test_credentials_stay_percent_encoded_in_the_argv_and_are_masked_for_logs() -> None:
    camera = Camera(main_url="rtsp://10.0.0.5:554/live", username="op@site", password="p@:/#%w rd")
    url = stream_url_with_credentials(camera)
    assert url == "rtsp://op%40site:p%40%3A%2F%23%25w%20rd@10.0.0.5:554/live"
    rec = plan(url=url)
    argv = recording_argv(rec)
    assert option(argv, "-i") == url  # one argument: no shell, no quoting, nothing decoded
    assert "p@:/#%w rd" not in " ".join(argv)
    shown = redacted_argv(argv)
    assert option(shown, "-i") == "rtsp://op%40site:***@10.0.0.5:554/live"
    assert "p%40%3A" not in " ".join(shown)
    assert "p%40%3A" not in repr(rec)  # a logged plan does not show the URL at all


def test_redact_masks_the_urls_ffmpeg_echoes_on_stderr() -> None:
    line = "[error] rtsp://admin:s3cr%40t@10.0.0.5:554/live: Server returned 401 Unauthorized (authorization failed)"
    assert (
        redact(line)
        == "[error] rtsp://admin:***@10.0.0.5:554/live: Server returned 401 Unauthorized (authorization failed)"
    )
    assert redact("rtsp://10.0.0.5/live and tcp://10.0.0.5:554?timeout=5000000") == (
        "rtsp://10.0.0.5/live and tcp://10.0.0.5:554?timeout=5000000"
    )


def test_segment_lines_are_told_apart_from_progress_lines() -> None:
    assert parse_segment_line("12-30-15.mp4,4.138379,14.138379\n") == SegmentClosed("12-30-15.mp4", 4.138379, 14.138379)
    assert parse_segment_line("12-30-15.mp4,0.000000,2.138379").duration_s == pytest.approx(2.138379)  # type: ignore[union-attr]
    for other in ("out_time_us=3810449", "progress=continue", "bitrate=N/A", "", "stream_0_0_q=-1.0"):
        assert parse_segment_line(other) is None


def test_segment_path_finds_the_day_folder_across_midnight() -> None:
    rec = plan()
    assert segment_dir(rec, date(2026, 11, 28)) == OUT / "7" / "2026-11-28"
    closed = datetime(2026, 11, 28, 12, 30, 25)
    assert segment_path(rec, "12-30-15.mp4", closed) == OUT / "7/2026-11-28/12-30-15.mp4"
    assert segment_path(rec, "23-59-55.mp4", datetime(2026, 11, 29, 0, 0, 5)) == OUT / "7/2026-11-28/23-59-55.mp4"
    assert segment_path(rec, "00-00-01.mp4", datetime(2026, 11, 29, 0, 0, 11)) == OUT / "7/2026-11-29/00-00-01.mp4"
    # a name a second after the clock read (it was read just before ffmpeg's) is still today's
    assert segment_path(rec, "12-30-26.mp4", closed) == OUT / "7/2026-11-28/12-30-26.mp4"


# --- real ffmpeg against real RTSP servers -----------------------------------------------------


@dataclass
class Recording:
    """One recording ffmpeg and what it reported, read by threads as it ran."""

    plan: RecordingPlan
    proc: subprocess.Popen[bytes]
    started: float
    closed: list[tuple[SegmentClosed, float, int]] = field(default_factory=list)  # segment, when, size then
    progress_us: list[tuple[float, int]] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    ended: float | None = None

    def read(self, stream: IO[bytes]) -> None:
        """Read stdout or the segment list: progress and closed segments, each with its arrival time."""
        for raw in stream:
            line = raw.decode(errors="replace").strip()
            if (segment := parse_segment_line(line)) is not None:
                path = segment_path(self.plan, segment.name, datetime.now())
                size = path.stat().st_size if path.exists() else -1
                self.closed.append((segment, time.monotonic(), size))
            elif line.startswith("out_time_us=") and line[12:].isdigit():
                self.progress_us.append((time.monotonic(), int(line[12:])))
        stream.close()

    def read_stderr(self) -> None:
        """Collect stderr lines and note when the process closed it (it exited)."""
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.stderr.append(raw.decode(errors="replace").rstrip())
        self.ended = time.monotonic()

    def wait(self, timeout: float) -> int:
        """Wait for the process and its readers; return the exit code."""
        code = self.proc.wait(timeout)
        for thread in self.threads:
            thread.join(timeout)
        return code

    @property
    def stderr_text(self) -> str:
        return "\n".join(self.stderr)

    @property
    def runtime(self) -> float:
        assert self.ended is not None
        return self.ended - self.started


def record(rec: RecordingPlan, *, own_list_fd: bool = False) -> Recording:
    """Start the recording ffmpeg for a plan, as the supervisor would, with readers on its pipes."""
    for day in (date.today(), date.today() + timedelta(days=1)):
        segment_dir(rec, day).mkdir(parents=True, exist_ok=True)
    list_read, list_write = os.pipe() if own_list_fd else (-1, -1)
    argv = recording_argv(rec, segment_list_fd=list_write if own_list_fd else 1)
    log.info("starting %s", " ".join(redacted_argv(argv)))
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            pass_fds=(list_write,) if own_list_fd else ())  # fmt: skip
    run = Recording(rec, proc, time.monotonic())
    stdout = proc.stdout
    assert stdout is not None
    sources: list[Callable[[], None]] = [lambda: run.read(stdout), run.read_stderr]
    if own_list_fd:
        os.close(list_write)
        list_pipe = os.fdopen(list_read, "rb")
        sources.append(lambda: run.read(list_pipe))
    for source in sources:
        thread = threading.Thread(target=source, daemon=True)
        thread.start()
        run.threads.append(thread)
    return run


def ffprobe(path: Path) -> dict[str, Any]:
    """Return the streams (frames decoded and counted) and duration of a file."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-of", "json", "-show_entries",
         "stream=codec_type,codec_name,codec_tag_string,nb_read_frames:format=duration", str(path)],
        capture_output=True, text=True, timeout=20, check=True,
    ).stdout  # fmt: skip
    info: dict[str, Any] = json.loads(out)
    return info


def stop(runs: list[Recording]) -> None:
    """Stop recordings that still run, as the supervisor does: SIGINT finalizes the open segment."""
    for run in runs:
        if run.proc.poll() is None:
            run.proc.send_signal(signal.SIGINT)
    for run in runs:
        try:
            run.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            run.proc.kill()
            run.wait(STOP_TIMEOUT)


@pytest.fixture
def recordings() -> Iterator[list[Recording]]:
    """Collect the test's recordings; stop any left running."""
    runs: list[Recording] = []
    yield runs
    stop(runs)


def test_real_cameras_record_playable_segments_that_are_announced_when_closed(
    rtsp_server_factory: Callable[..., BlockingSyntheticCameras], recordings: list[Recording], tmp_path: Path
) -> None:
    small = {"width": 320, "height": 180}
    alaw = rtsp_server_factory(cameras=2, audio="alaw", **small)
    hevc = rtsp_server_factory(cameras=1, codec="h265", audio="aac", **small)
    locked = rtsp_server_factory(cameras=1, user="op@site", password="p@:/#%w rd", **small)
    camera = Camera(main_url=locked.urls[0], username="op@site", password="p@:/#%w rd")

    def at(url: str, camera_id: int, **changes: Any) -> RecordingPlan:
        return RecordingPlan(url=url, camera_id=camera_id, output_dir=tmp_path / "rec", segment_seconds=6, **changes)

    cases = {
        "h264+alaw": (at(alaw.urls[0], 1, video_codec="h264", audio_codec="pcm_alaw"), False),
        "unknown": (at(alaw.urls[1], 2), False),
        "drop": (at(alaw.urls[1], 3, video_codec="h264", audio_codec="pcm_alaw", audio_policy=AudioPolicy.DROP), False),
        "h265+aac": (at(hevc.urls[0], 4, video_codec="hevc", audio_codec="aac"), True),
        "password": (at(stream_url_with_credentials(camera), 5, video_codec="h264"), False),
    }
    runs = {name: record(rec, own_list_fd=own_fd) for name, (rec, own_fd) in cases.items()}
    recordings.extend(runs.values())
    no_day_folder = at(alaw.urls[0], 6, video_codec="h264", audio_codec="pcm_alaw")
    missing = Recording(no_day_folder, subprocess.Popen(recording_argv(no_day_folder), stdout=subprocess.DEVNULL,
                                                        stderr=subprocess.PIPE), time.monotonic())  # fmt: skip
    time.sleep(RUN_S)
    running_at_stop = {name: run.proc.poll() is None for name, run in runs.items()}
    stop_sent = time.monotonic()
    stop(list(runs.values()))

    # ffmpeg does not create the day folder: the supervisor must (today's and tomorrow's)
    _, err = missing.proc.communicate(timeout=STOP_TIMEOUT)
    assert missing.proc.returncode == 1
    assert "Failed to open segment" in err.decode() and "No such file or directory" in err.decode()

    expected = {  # name: video codec, video tag, audio codec
        "h264+alaw": ("h264", "avc1", "aac"),
        "unknown": ("h264", "avc1", "aac"),
        "drop": ("h264", "avc1", None),
        "h265+aac": ("hevc", "hvc1", "aac"),
        "password": ("h264", "avc1", None),
    }
    for name, run in runs.items():
        log.info("%s: exit %s, stderr %r, segments %s", name, run.proc.returncode, run.stderr, run.closed)
        assert running_at_stop[name], f"{name} stopped early: {run.stderr}"
        assert run.proc.returncode == 255, run.stderr  # SIGINT
        assert real_problems(run.stderr) == [], f"{name}: stderr should carry only real problems besides [info] lines"
        # the input dump tells the supervisor what the camera sends, without an ffprobe
        dump = InputDump()
        learned = next(info for line in [*run.stderr, ""] if (info := dump.feed(line)) is not None)
        assert (learned.video_codec, learned.width, learned.height) == (expected[name][0], 320, 180), name
        assert learned.audio_codec == {"h264+alaw": "pcm_alaw", "unknown": "pcm_alaw", "drop": "pcm_alaw",
                                       "h265+aac": "aac", "password": None}[name]  # fmt: skip
        # progress for the watchdog: a block every PROGRESS_EVERY_S, out_time_us advancing
        times = [us for _, us in run.progress_us]
        assert times == sorted(times) and times[-1] > 8_000_000, f"{name}: {times}"
        assert len(run.progress_us) >= (RUN_S - 5) // PROGRESS_EVERY_S  # a progress block every few seconds
        # a line per closed segment: the first arrives while recording goes on, the last on SIGINT
        segments = [segment for segment, _, _ in run.closed]
        assert len(segments) >= 2, f"{name}: {segments}"
        assert run.closed[0][1] < stop_sent < run.closed[-1][1]
        assert [s.start_s for s in segments[1:]] == [s.end_s for s in segments[:-1]]
        today = segment_dir(run.plan, date.today())
        assert sorted(p.name for p in today.iterdir()) == sorted(s.name for s in segments), name
        for segment, _, size_when_announced in run.closed:
            path = today / segment.name
            # announced after its trailer was written: the file does not change afterwards
            assert path.stat().st_size == size_when_announced, f"{name}: {segment}"
            info = ffprobe(path)
            video = [s for s in info["streams"] if s["codec_type"] == "video"]
            audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
            codec, tag, audio_codec = expected[name]
            assert [(s["codec_name"], s["codec_tag_string"]) for s in video] == [(codec, tag)], f"{name}: {info}"
            assert int(video[0]["nb_read_frames"]) >= 10 * segment.duration_s - 5  # 10 fps, decodable
            assert [s["codec_name"] for s in audio] == ([audio_codec] if audio_codec else []), f"{name}: {info}"
            assert float(info["format"]["duration"]) == pytest.approx(segment.duration_s, abs=0.6)


def _silent_port() -> tuple[socket.socket, list[socket.socket], int]:
    """Return a listening socket whose backlog is full, so that a new connection gets no answer."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):  # it stays pending: the backlog fills
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.2)
    return server, fillers, port


def _media_file(path: Path, *args: str) -> Path:
    """Encode a small local file with ffmpeg's test sources."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(path)], check=True, timeout=30)
    return path


def test_real_failures_end_ffmpeg_quickly_with_recognisable_messages(
    rtsp_server_factory: Callable[..., BlockingSyntheticCameras], recordings: list[Recording], tmp_path: Path
) -> None:
    small = {"width": 320, "height": 180}
    locked = rtsp_server_factory(cameras=1, user="op", password="right", **small)
    hangs = rtsp_server_factory(cameras=1, **small)
    server, fillers, silent = _silent_port()
    audio_only = _media_file(tmp_path / "audio.mka", "-f", "lavfi", "-i", "sine=d=2")
    mute = _media_file(  # announces G.711 audio and sends none of it (every packet dropped)
        tmp_path / "mute.mkv", "-f", "lavfi", "-i", "testsrc=size=160x90:rate=10", "-f", "lavfi",
        "-i", "sine=sample_rate=8000", "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-g", "20",
        "-c:a", "pcm_alaw", "-bsf:a", "noise=drop=1", "-t", "30",
    )  # fmt: skip

    def at(url: str, camera_id: int, **changes: Any) -> RecordingPlan:
        return RecordingPlan(url=url, camera_id=camera_id, output_dir=tmp_path / "rec", **changes)

    port = locked.port
    cases = {  # name: plan, expected kind, expected message
        "wrong password": (at(f"rtsp://op:wrong@127.0.0.1:{port}/cam1", 1), "auth", "401 Unauthorized"),
        "no password": (at(f"rtsp://127.0.0.1:{port}/cam1", 2), "auth", "401 Unauthorized"),
        "unknown path": (at(f"rtsp://op:right@127.0.0.1:{port}/cam9", 3), "not_found", "404 Not Found"),
        "refused": (at(f"rtsp://127.0.0.1:{free_port()}/cam1", 4), "unreachable", "Connection refused"),
        "no answer": (at(f"rtsp://127.0.0.1:{silent}/cam1", 5), "unreachable", "failed: Connection timed out"),
        "no video": (at(str(audio_only), 6), "not_video", "matches no streams"),
        "audio never comes": (at(str(mute), 7, audio_codec="pcm_alaw"), "unknown", "Too many packets buffered"),
    }
    try:
        hung = record(at(hangs.urls[0], 8, video_codec="h264"))
        recordings.append(hung)
        runs = {name: record(rec) for name, (rec, _, _) in cases.items()}
        recordings.extend(runs.values())
        deadline = time.monotonic() + FAIL_TIMEOUT
        while not hung.progress_us or hung.progress_us[-1][1] < 2_000_000:
            assert time.monotonic() < deadline and hung.proc.poll() is None, hung.stderr
            time.sleep(0.1)
        os.kill(hangs.pid, signal.SIGSTOP)  # the camera hangs mid-recording...
        hung_at = time.monotonic()
        late = record(at(hangs.urls[0], 9))  # ...and a camera that hangs before ffmpeg connects
        recordings.append(late)
        for run in runs.values():
            run.wait(FAIL_TIMEOUT)
        late.wait(FAIL_TIMEOUT)
        hung.wait(FAIL_TIMEOUT)
    finally:
        os.kill(hangs.pid, signal.SIGCONT)
        server.close()
        for filler in fillers:
            filler.close()

    for name, run in runs.items():
        _, kind, message = cases[name]
        log.info("%s: exit %s after %.2f s: %r", name, run.proc.returncode, run.runtime, run.stderr)
        assert run.proc.returncode == 1, f"{name}: {run.stderr}"
        assert message in run.stderr_text, f"{name}: {run.stderr}"
        assert classify_failure(run.stderr_text, waited_s=run.runtime) == kind, f"{name}: {run.stderr}"
        assert run.runtime < 10 if name == "no answer" else run.runtime < 3, f"{name}: {run.runtime:.1f} s"
        assert "right" not in redact(run.stderr_text) and "wrong" not in redact(run.stderr_text)
    assert audio_blocked(runs["audio never comes"].stderr_text)
    assert runs["no answer"].runtime > 4.5  # the -timeout of 5 s

    # hung mid-recording: ffmpeg notices after about twice the -timeout, and exits with code 0
    assert hung.ended is not None
    log.info("hung: exit %s %.2f s after SIGSTOP: %r", hung.proc.returncode, hung.ended - hung_at, hung.stderr)
    assert hung.proc.returncode == 0
    assert 8 < hung.ended - hung_at < 13
    assert "Connection timed out" in hung.stderr_text
    assert classify_failure(hung.stderr_text, waited_s=hung.runtime) == "timeout"
    assert hung.closed, "the segment open when the camera hung is finalized and announced"

    # hung before ffmpeg connected: the kernel accepted the connection, nobody answered
    log.info("late: exit %s after %.2f s: %r", late.proc.returncode, late.runtime, late.stderr)
    assert late.proc.returncode == 1
    assert 4.5 < late.runtime < 8
    assert "Invalid data found when processing input" in late.stderr_text
    assert classify_failure(late.stderr_text, waited_s=late.runtime) == "timeout"
    assert classify_failure(late.stderr_text) == "not_video"  # without the time, it looks like a web server


def test_a_camera_whose_parameters_come_late_is_analysed_longer(tmp_path: Path) -> None:
    """Most cameras name their codecs in the SDP, so 1 s of analysis is enough; one that sends its H.264
    parameters only with the next keyframe (4 s away here) fails the quick analysis, which the supervisor
    recognises (probe_too_short) and answers by leaving the analysis to ffmpeg's own 5 s."""
    whole, late = tmp_path / "whole.h264", tmp_path / "late.h264"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=10",
                    "-t", "10", "-c:v", "libx264", "-preset", "ultrafast", "-g", "40", "-keyint_min", "40",
                    "-sc_threshold", "0", "-bf", "0", "-f", "h264", str(whole)], check=True)  # fmt: skip
    data = whole.read_bytes()
    first_p_slice = next(i for i in range(len(data) - 4) if data[i : i + 3] == b"\0\0\1" and data[i + 3] & 0x1F == 1)
    late.write_bytes(data[first_p_slice:])  # joined after the first keyframe: no SPS/PPS until the next one

    def record(analyze_s: float | None) -> subprocess.CompletedProcess[str]:
        options = {} if analyze_s is None else {"analyzeduration": str(round(analyze_s * 1_000_000))}
        argv = (
            ffmpeg.input(str(late), f="h264", framerate="10", **options)
            .output(str(tmp_path / "out.mp4"), c="copy")
            .compile()
        )
        return subprocess.run(
            [*argv, "-y", "-hide_banner", "-loglevel", "level+warning"], capture_output=True, text=True
        )

    quick = record(plan().analyze_s)
    assert quick.returncode != 0 and probe_too_short(quick.stderr)
    assert "-analyzeduration" not in recording_argv(plan(analyze_s=None))
    longer = record(None)
    assert longer.returncode == 0 and not probe_too_short(longer.stderr)
