"""Build the recording ffmpeg command line for one camera: pure functions, no I/O, no subprocess.

One ffmpeg a camera pulls RTSP over TCP and writes 10 s segments of fragmented MP4 straight to
DIR/<camera_id>/<YYYY-MM-DD>/<HH-MM-SS>.mp4, named by the wall-clock time at which ffmpeg opened
each one. Video is always stream-copied; audio is copied when MP4 can hold it (AAC), transcoded to
AAC when it cannot (G.711) or when the camera's policy says so, and dropped when the policy says so.

What the supervisor must know (measured with ffmpeg 5.1, see tests/appliance/recorder/test_argv.py):
- ffmpeg does not create folders: it exits ("Failed to open segment '...'") when the day's folder is
  missing, at start or at midnight. Create today's and tomorrow's folder (segment_dir) beforehand.
- stdout carries two kinds of lines: `key=value` progress blocks every second (a watchdog reads
  `out_time_us`) and one CSV line `HH-MM-SS.mp4,start,end` each time a segment is closed, written
  after the segment's trailer is flushed. parse_segment_line() reads it, segment_path() resolves it.
- stderr carries the input's description once (streams.py learns the codecs from it, so no ffprobe
  runs before a recording), a line per segment opened, then warnings and errors, each line tagged
  `[info]`, `[warning]` or `[error]`; ffmpeg echoes the input URL with its credentials there, so pass
  stderr through redact() before logging.
- A segment's name is when ffmpeg opened it, not when its first frame was filmed: the first segment
  of a run starts about 3 s (the probing) before its name says. Index the real times.
- Two segments opened within one second get one name, and the second overwrites the first: keep
  segments well longer than the probing (10 s is), and expect it when a restart follows at once.
- ffmpeg exits with code 0 when a camera hangs mid-recording or goes away: restart on any exit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import ffmpeg

from appliance.db.models.cameras import AudioPolicy

VideoCodec = Literal["h264", "hevc"]
AudioAction = Literal["copy", "aac", "drop"]

FFMPEG = "ffmpeg"
DAY_FOLDER = "%Y-%m-%d"  # strftime pattern of the per-day folder
SEGMENT_NAME = "%H-%M-%S.mp4"  # strftime pattern of a segment's file name: local wall-clock time
MP4_AUDIO = frozenset({"aac"})  # audio codecs (as ffprobe names them) copied into MP4 as they are
AAC_BITRATE = "32k"  # fits any rate: 8 kHz mono G.711 caps AAC at 48k (the default 128k warns)
# crash safety: a fragment per keyframe, each written out at once (flush_packets), so that a killed
# ffmpeg leaves every complete fragment playable; without flush_packets ffmpeg 5.1 writes in 256 KiB
# blocks, which a small stream takes tens of seconds to fill: measured, a SIGKILL then left 28 bytes.
MOVFLAGS = "+frag_keyframe+empty_moov+default_base_moof"
# and a fragment at least every second, whatever the camera's keyframe interval (4 s is common), so that
# a hard kill loses at most about a second; fragments need not start on a keyframe (mp4.py reads each
# sample's sync flag)
FRAGMENT_MAX_US = 1_000_000
SEGMENT_FORMAT_OPTIONS = f"movflags={MOVFLAGS}:frag_duration={FRAGMENT_MAX_US}:flush_packets=1"
# While transcoded audio has not produced its first frame, ffmpeg 5.1 holds all video in memory and
# writes nothing: a camera that announces audio but sends none would record nothing for minutes.
# These make it give up after this many video packets instead ("Too many packets buffered for output
# stream"), so that the supervisor can restart it with the audio dropped (failures.audio_blocked).
AUDIO_WAIT_PACKETS = 256
# ffmpeg's default 5 s of stream analysis delays the first recorded frame by about 2 s on an RTSP camera
# whose SDP already names the codecs (measured: first frame 3.1 s after start with the default, 1.1-1.2 s
# with 0.5-1 s; 16 cameras starting at once: worst 2.2 s with 0.5 s, 3.5 s with 1 s), so the recorder asks for 0.5 s
QUICK_ANALYZE_S = 0.5
PROGRESS_EVERY_S = 3  # the stall watchdog allows 15 s; more often only costs CPU
CLOCK_SLACK = timedelta(seconds=2)  # a name may be a little after the clock read when its line arrived

_USERINFO = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s:/@]*):[^\s/@]*@", re.IGNORECASE)
_SEGMENT_LINE = re.compile(r"^(?P<name>[^,=/\s]+\.mp4),(?P<start>-?\d+(?:\.\d+)?),(?P<end>-?\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class RecordingPlan:
    """What one camera's recording ffmpeg needs: its URL, where segments go, and what it sends."""

    url: str = field(repr=False)  # with percent-encoded credentials: stream_url_with_credentials()
    camera_id: int
    output_dir: Path  # the recordings folder; segments go to output_dir/<camera_id>/<day>/
    video_codec: VideoCodec | None = None  # as probed; None: unknown
    audio_codec: str | None = None  # as probed (aac, pcm_alaw, pcm_mulaw...); None: unknown or none
    audio_policy: AudioPolicy = AudioPolicy.COPY
    segment_seconds: int = 10
    rtsp_timeout_s: float = 5.0
    # how long ffmpeg looks at the stream before recording: QUICK_ANALYZE_S, or None for ffmpeg's own 5 s,
    # which the supervisor falls back to for a camera whose parameters take longer to show (probe_too_short)
    analyze_s: float | None = QUICK_ANALYZE_S


@dataclass(frozen=True)
class SegmentClosed:
    """One line of ffmpeg's segment list: a segment just closed, its times since the run started."""

    name: str  # the file name only, e.g. 12-30-15.mp4 (ffmpeg lists no folder)
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        """Return the segment's length in seconds."""
        return self.end_s - self.start_s


def audio_action(policy: AudioPolicy, audio_codec: str | None) -> AudioAction:
    """Decide what happens to the camera's audio: copied into MP4, transcoded to AAC, or dropped."""
    if policy == AudioPolicy.DROP:
        return "drop"
    if policy == AudioPolicy.COPY and audio_codec in MP4_AUDIO:
        return "copy"
    return "aac"  # G.711 and anything unknown: AAC always fits MP4


def camera_dir(plan: RecordingPlan) -> Path:
    """Return the camera's folder of day folders."""
    return plan.output_dir / str(plan.camera_id)


def segment_dir(plan: RecordingPlan, day: date) -> Path:
    """Return the folder of one day's segments, which must exist before ffmpeg opens a segment in it."""
    return camera_dir(plan) / day.strftime(DAY_FOLDER)


def segment_pattern(plan: RecordingPlan) -> str:
    """Return the strftime pattern ffmpeg names segments with."""
    return str(camera_dir(plan) / DAY_FOLDER / SEGMENT_NAME)


def _input_options(plan: RecordingPlan) -> dict[str, str]:
    """Return the options of the camera input: RTSP over TCP, and a socket timeout in microseconds."""
    timeout_us = str(round(plan.rtsp_timeout_s * 1_000_000))
    analyze = {} if plan.analyze_s is None else {"analyzeduration": str(round(plan.analyze_s * 1_000_000))}
    if urlsplit(plan.url).scheme.lower() in ("rtsp", "rtsps"):
        return {"rtsp_transport": "tcp", "timeout": timeout_us, **analyze}
    return {"rw_timeout": timeout_us, **analyze}  # http(s): a generic read/write timeout


def _output_options(plan: RecordingPlan, action: AudioAction, segment_list_fd: int) -> dict[str, str | None]:
    """Return the options of the segment output: copied video, the audio action, fMP4 segments."""
    options: dict[str, str | None] = {
        "c:v": "copy",
        "f": "segment",
        "segment_time": str(plan.segment_seconds),
        "segment_format": "mp4",
        "segment_format_options": SEGMENT_FORMAT_OPTIONS,
        "reset_timestamps": "1",
        "strftime": "1",
        "segment_list": f"pipe:{segment_list_fd}",
        "segment_list_type": "csv",
    }
    if plan.video_codec == "hevc":
        options["tag:v"] = "hvc1"  # MP4's default hev1 does not play in Safari; hvc1 on H.264 is fatal
    if action == "drop":
        options["an"] = None
    elif action == "copy":
        options["c:a"] = "copy"
    else:
        options |= {
            "c:a": "aac",
            "b:a": AAC_BITRATE,
            "max_muxing_queue_size": str(AUDIO_WAIT_PACKETS),
            "muxing_queue_data_threshold": "0",
        }
    return options


def recording_argv(plan: RecordingPlan, *, segment_list_fd: int = 1, ffmpeg_binary: str = FFMPEG) -> list[str]:
    """Return the recording ffmpeg's argv; segment closures go to segment_list_fd (stdout by default).

    With the default, stdout interleaves whole progress blocks and whole segment lines (each write is
    far below PIPE_BUF, so lines never mix). Another fd must be passed to the child (pass_fds).
    """
    action = audio_action(plan.audio_policy, plan.audio_codec)
    camera = ffmpeg.input(plan.url, **_input_options(plan))
    streams = [camera["v:0"]] if action == "drop" else [camera["v:0"], camera["a:0?"]]
    output = ffmpeg.output(*streams, segment_pattern(plan), **_output_options(plan, action, segment_list_fd))
    argv = output.global_args(
        "-hide_banner",
        "-nostdin",
        "-loglevel", "level+info",  # stderr: the input dump (streams.py), then problems, each tagged
        "-nostats",
        "-progress", "pipe:1",
        "-stats_period", str(PROGRESS_EVERY_S),
    ).compile(cmd=ffmpeg_binary)  # fmt: skip
    return [str(arg) for arg in argv]


def redact(text: str) -> str:
    """Return the text with the password of every URL in it replaced by ***."""
    return _USERINFO.sub(r"\g<head>:***@", text)


def redacted_argv(argv: Iterable[str]) -> list[str]:
    """Return the argv with URL passwords masked, for logs."""
    return [redact(arg) for arg in argv]


def parse_segment_line(line: str) -> SegmentClosed | None:
    """Return the closed segment a `NAME.mp4,START,END` line reports, or None for any other line."""
    match = _SEGMENT_LINE.match(line.strip())
    if match is None:
        return None
    return SegmentClosed(match["name"], float(match["start"]), float(match["end"]))


def segment_path(plan: RecordingPlan, name: str, closed_at: datetime) -> Path:
    """Return where a closed segment lies, given when (local wall-clock time) its line arrived.

    ffmpeg lists file names without their day folder. A segment opened before it closed, so its day is
    the last one on which its name's time is not after closed_at: a segment named 23-59-55.mp4 that
    closed at 00:00:04 lies in yesterday's folder.
    """
    hours, minutes, seconds = (int(part) for part in name.removesuffix(".mp4").split("-"))  # SEGMENT_NAME
    opened = datetime.combine(closed_at.date(), time(hours, minutes, seconds))
    if opened > closed_at + CLOCK_SLACK:
        opened -= timedelta(days=1)
    return segment_dir(plan, opened.date()) / name
