"""Learn what a camera sends from the recording ffmpeg's own input dump, instead of probing it first.

At `-loglevel level+info` ffmpeg describes its input once it has analysed it, before it writes
anything (measured with ffmpeg 5.1 against the GStreamer RTSP test server):

    [info] Input #0, rtsp, from 'rtsp://user:pass@10.0.0.5/live':
    [info]   Stream #0:0: Video: hevc (Main), yuvj420p(pc), 1920x1080, 15 fps, 15 tbr, 90k tbn
    [info]   Stream #0:1: Audio: pcm_alaw, 8000 Hz, 1 channels, s16, 64 kb/s
    [info] Output #0, segment, to '...':

Reading it costs nothing (the lines arrive anyway), adds no connection to the camera (cheap cameras
allow few RTSP sessions) and no start-up delay, where a separate ffprobe before every run cost about
0.25 s CPU and 2-4 s of latency per camera.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_INPUT = re.compile(r"^(?:\[info\] )?Input #0\b")
_OUTPUT = re.compile(r"^(?:\[info\] )?Output #0\b")
_STREAM = re.compile(
    r"^(?:\[info\] )?\s+Stream #0:\d+\S*: (?P<kind>Video|Audio): (?P<codec>[A-Za-z0-9_]+)(?P<rest>.*)$"
)
_SIZE = re.compile(r"\b(?P<w>\d{2,5})x(?P<h>\d{2,5})\b")
_FPS = re.compile(r"\b(?P<fps>\d+(?:\.\d+)?) fps\b")


@dataclass(frozen=True)
class StreamInfo:
    """What a camera's stream carries."""

    video_codec: str | None
    audio_codec: str | None
    width: int | None
    height: int | None
    fps: float | None


class InputDump:
    """Read ffmpeg's stderr lines one by one; `info` is set once the input's description is complete."""

    def __init__(self) -> None:
        self._inside = False
        self._video: tuple[str, int | None, int | None, float | None] | None = None
        self._audio: str | None = None
        self.info: StreamInfo | None = None

    def feed(self, line: str) -> StreamInfo | None:
        """Take one stderr line; return the StreamInfo on the line that completes it, else None."""
        if self.info is not None:
            return None
        if _INPUT.match(line):
            self._inside = True
            return None
        if not self._inside:
            return None
        stream = _STREAM.match(line)
        if stream is not None:
            self._stream(stream)
            return None
        if _OUTPUT.match(line) or not line.startswith(("[info]   ", "    ", "  ")):
            self.info = self._complete()
            return self.info
        return None

    def _stream(self, match: re.Match[str]) -> None:
        codec, rest = match["codec"], match["rest"]
        if match["kind"] == "Video" and self._video is None:
            size = _SIZE.search(rest)
            fps = _FPS.search(rest)
            self._video = (
                codec,
                int(size["w"]) if size else None,
                int(size["h"]) if size else None,
                float(fps["fps"]) if fps else None,
            )
        elif match["kind"] == "Audio" and self._audio is None:
            self._audio = codec

    def _complete(self) -> StreamInfo:
        codec, width, height, fps = self._video or (None, None, None, None)
        return StreamInfo(video_codec=codec, audio_codec=self._audio, width=width, height=height, fps=fps)
