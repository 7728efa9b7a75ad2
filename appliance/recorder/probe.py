"""Ask a camera what it sends with ffprobe (the "Test connection" button): codecs, size, frame rate.

The recorder does not probe: it reads the same facts from its own ffmpeg (streams.py).
"""

from __future__ import annotations

import asyncio
import json
import time

from appliance.process import kill
from appliance.recorder.argv import redact
from appliance.recorder.failures import FailureKind, classify_failure
from appliance.recorder.streams import StreamInfo

FFPROBE = "ffprobe"


class ProbeFailed(Exception):
    """The camera could not be probed; `kind` says why in terms the panel can explain."""

    def __init__(self, kind: FailureKind, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


# A connection test is not a recording: "WardCam keeps retrying" makes no sense in its answer.
TEST_FAILURE_KEYS: dict[FailureKind, str] = {"unknown": "recorder.probe.unknown", "dropped": "recorder.probe.dropped"}


def failure_key(kind: FailureKind) -> str:
    """Return the translation key that explains why a connection test failed, in plain words."""
    return TEST_FAILURE_KEYS.get(kind, f"recorder.failure.{kind}")


def probe_argv(url: str, rtsp_timeout_s: float = 5.0) -> list[str]:
    """Return the ffprobe command line for a stream URL."""
    transport = ["-rtsp_transport", "tcp", "-timeout", str(int(rtsp_timeout_s * 1_000_000))]
    entries = "stream=codec_type,codec_name,width,height,avg_frame_rate"
    rtsp = transport if url.startswith(("rtsp://", "rtsps://")) else []
    return [FFPROBE, "-v", "error", *rtsp, "-show_entries", entries, "-of", "json", url]


def parse_probe(output: str) -> StreamInfo:
    """Read ffprobe's JSON into a StreamInfo."""
    streams = json.loads(output or "{}").get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    fps = None
    if video and "/" in str(video.get("avg_frame_rate", "")):
        num, den = str(video["avg_frame_rate"]).split("/")
        fps = float(num) / float(den) if float(den) else None
    return StreamInfo(
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        width=video.get("width") if video else None,
        height=video.get("height") if video else None,
        fps=fps,
    )


async def probe(url: str, limit_s: float = 10.0) -> StreamInfo:
    """Probe a stream; raise ProbeFailed with a plain reason when it cannot be read in time."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *probe_argv(url), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limit_s)
    except TimeoutError:
        await kill(proc)
        raise ProbeFailed("timeout", f"no answer within {limit_s:.0f} s") from None
    stderr = redact(err.decode(errors="replace"))
    if proc.returncode != 0:
        raise ProbeFailed(classify_failure(stderr, waited_s=time.monotonic() - started), stderr[-500:])
    info = parse_probe(out.decode(errors="replace"))
    if info.video_codec is None:
        raise ProbeFailed("not_video", "the stream has no video")
    return info
