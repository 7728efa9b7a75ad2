"""The motion ffmpeg's command lines and what it writes: pure functions, no I/O, no subprocess.

One ffmpeg a camera decodes its sub stream (the main stream when there is none) and writes a few small
frames a second as YUV4MPEG2 on stdout: a header line with the size, then `FRAME` and the raw planes
of each frame. YUV4MPEG2 rather than bare raw video because the header says the height, which the
stream's aspect ratio decides, and nobody knows before ffmpeg has opened the stream.

What keeps the cost low (measured with ffmpeg 5.1 on a 640x360 15 fps H.264 stream, see README.md):
- one decoding thread, one filter thread: a few frames a second need no parallelism;
- `-skip_loop_filter all`: the decoder skips deblocking, about 15 % of its work; the blocking artefacts
  it leaves are far below the change of brightness that counts as motion;
- frames are dropped (`fps`) before they are scaled, so the scaler runs 3 times a second, not 15;
- each frame is stamped with the wall clock (since ffmpeg started) first, so that a camera whose
  timestamps step back (another client joining the RTSP server's stream) cannot make the fps filter hold
  frames back; the muxer passes the fps filter's frames through as they are (`-fps_mode passthrough`);
- no audio is decoded (only the first video stream is mapped).
"""

from __future__ import annotations

from dataclasses import dataclass

import ffmpeg

from appliance.live.worker import input_options

FFMPEG = "ffmpeg"
SNAPSHOT_QUALITY = 3  # ffmpeg's -q:v for mjpeg, 2 (best) .. 31; about 9 KB at 320x180
Y4M_MAGIC = b"YUV4MPEG2"
FRAME_MAGIC = b"FRAME"


def motion_argv(url: str, *, fps: int = 3, width: int = 320, rtsp_timeout_s: float = 5.0,
                ffmpeg_binary: str = FFMPEG) -> list[str]:  # fmt: skip
    """Return the argv of an ffmpeg that writes `fps` frames a second of `url`, `width` pixels wide, as YUV4MPEG2."""
    camera = ffmpeg.input(url, threads="1", skip_loop_filter="all", **input_options(url, rtsp_timeout_s))
    video = (
        camera["v:0"]
        .filter("settb", "AVTB")
        .filter("setpts", "RTCTIME-RTCSTART")
        .filter("fps", fps)
        .filter("scale", width, -2, flags="fast_bilinear")
    )
    output = ffmpeg.output(video, "pipe:1", f="yuv4mpegpipe", pix_fmt="yuv420p", an=None,
                           fps_mode="passthrough")  # fmt: skip
    # ffmpeg-python writes the filters as a -filter_complex graph, whose threads -filter_complex_threads sets
    argv = output.global_args("-hide_banner", "-nostdin", "-loglevel", "level+error", "-filter_complex_threads", "1",
                              ).compile(cmd=ffmpeg_binary)  # fmt: skip
    return [str(arg) for arg in argv]


def snapshot_argv(width: int, height: int, *, full_range: bool = False, quality: int = SNAPSHOT_QUALITY,
                  ffmpeg_binary: str = FFMPEG) -> list[str]:  # fmt: skip
    """Return the argv of an ffmpeg that reads one raw YUV 4:2:0 frame on stdin and writes it as a JPEG to stdout."""
    picture = ffmpeg.input("pipe:0", f="rawvideo", pix_fmt="yuv420p", s=f"{width}x{height}",
                           color_range="pc" if full_range else "tv")  # fmt: skip
    output = ffmpeg.output(picture, "pipe:1", f="image2pipe", vcodec="mjpeg", pix_fmt="yuvj420p", threads="1",
                           **{"frames:v": "1", "q:v": str(quality)})  # fmt: skip
    argv = output.global_args("-hide_banner", "-nostdin", "-loglevel", "error").compile(cmd=ffmpeg_binary)
    return [str(arg) for arg in argv]


@dataclass(frozen=True)
class FrameFormat:
    """The size and layout of the frames a YUV4MPEG2 stream carries."""

    width: int
    height: int
    full_range: bool = False  # the JPEG range (0..255) rather than video's 16..235

    @property
    def luma_size(self) -> int:
        """Return the bytes of the brightness plane, which comes first in every frame."""
        return self.width * self.height

    @property
    def frame_size(self) -> int:
        """Return the bytes of one frame's planes: Y, then U and V at half the width and height."""
        return self.luma_size + 2 * ((self.width + 1) // 2) * ((self.height + 1) // 2)


def parse_header(line: bytes) -> FrameFormat:
    """Read a YUV4MPEG2 header (`YUV4MPEG2 W320 H180 F3:1 Ip A1:1 C420mpeg2 ...`); ValueError if it is not one."""
    fields = line.split()
    if not fields or fields[0] != Y4M_MAGIC:
        raise ValueError(f"not a YUV4MPEG2 header: {line[:60]!r}")
    width = height = 0
    chroma = "420jpeg"  # the format's default
    full_range = False
    for field in fields[1:]:
        tag, value = field[:1], field[1:].decode("ascii", errors="replace")
        if tag == b"W":
            width = int(value)
        elif tag == b"H":
            height = int(value)
        elif tag == b"C":
            chroma = value
        elif tag == b"X" and value.upper() == "COLORRANGE=FULL":
            full_range = True
    if width <= 0 or height <= 0:
        raise ValueError(f"YUV4MPEG2 header without a size: {line[:60]!r}")
    if not chroma.startswith("420"):  # motion_argv() asks for yuv420p, whatever the camera sends
        raise ValueError(f"YUV4MPEG2 colour space {chroma} is not handled")
    return FrameFormat(width, height, full_range)


def is_frame_line(line: bytes) -> bool:
    """Return whether a line starts a frame (`FRAME`, possibly with parameters)."""
    return line.split(b" ", 1)[0].rstrip(b"\n") == FRAME_MAGIC
