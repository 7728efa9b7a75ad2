"""The motion ffmpeg's command lines and the YUV4MPEG2 header it writes, checked without running ffmpeg."""

from __future__ import annotations

import pytest

from addons.motion.argv import FrameFormat, is_frame_line, motion_argv, parse_header, snapshot_argv
from appliance.recorder.argv import redacted_argv

URL = "rtsp://admin:bi-mat@127.0.0.1:8554/cam1?stream=sub"


def option(argv: list[str], name: str) -> str:
    """Return the value that follows an option (the first time it appears)."""
    return argv[argv.index(name) + 1]


def test_the_sub_stream_is_decoded_on_one_thread_without_deblocking_and_dropped_to_3_fps_before_scaling() -> None:
    argv = motion_argv(URL)
    before_input = argv[: argv.index("-i")]
    assert option(argv, "-i") == URL
    assert option(before_input, "-rtsp_transport") == "tcp"
    assert option(before_input, "-timeout") == "5000000"  # a hung camera makes ffmpeg give up after ~10 s
    assert option(before_input, "-threads") == "1"
    assert option(before_input, "-skip_loop_filter") == "all"
    graph = option(argv, "-filter_complex")
    assert graph.index("setpts=RTCTIME-RTCSTART") < graph.index("fps=3") < graph.index("scale=320:-2")
    assert "flags=fast_bilinear" in graph
    assert option(argv, "-filter_complex_threads") == "1"
    after_input = argv[argv.index("-i") :]
    assert "-an" in after_input
    assert option(after_input, "-f") == "yuv4mpegpipe"
    assert option(after_input, "-pix_fmt") == "yuv420p"
    assert option(after_input, "-fps_mode") == "passthrough"
    assert after_input.count("pipe:1") == 1  # frames go to stdout, and nothing else does


def test_the_rate_the_width_and_the_binary_are_the_callers() -> None:
    argv = motion_argv("rtsp://127.0.0.1/cam", fps=5, width=160, rtsp_timeout_s=2.5, ffmpeg_binary="/opt/ffmpeg")
    assert argv[0] == "/opt/ffmpeg"
    assert "fps=5" in option(argv, "-filter_complex")
    assert "scale=160:-2" in option(argv, "-filter_complex")
    assert option(argv, "-timeout") == "2500000"


def test_an_http_camera_gets_a_read_timeout_instead_of_rtsp_options() -> None:
    argv = motion_argv("http://127.0.0.1/video.mjpg")
    assert "-rtsp_transport" not in argv
    assert option(argv, "-rw_timeout") == "5000000"


def test_the_password_in_the_camera_url_is_masked_for_logs() -> None:
    logged = " ".join(redacted_argv(motion_argv(URL)))
    assert "bi-mat" not in logged
    assert "admin:***@127.0.0.1" in logged


def test_a_snapshot_is_one_raw_frame_in_and_one_jpeg_out() -> None:
    argv = snapshot_argv(320, 180)
    before_input = argv[: argv.index("-i")]
    assert option(argv, "-i") == "pipe:0"
    assert option(before_input, "-f") == "rawvideo"
    assert option(before_input, "-pix_fmt") == "yuv420p"
    assert option(before_input, "-s") == "320x180"
    assert option(before_input, "-color_range") == "tv"
    after_input = argv[argv.index("-i") :]
    assert option(after_input, "-vcodec") == "mjpeg"
    assert option(after_input, "-pix_fmt") == "yuvj420p"
    assert option(after_input, "-frames:v") == "1"
    assert argv[argv.index("-frames:v") :].count("pipe:1") == 1
    assert option(snapshot_argv(320, 180, full_range=True), "-color_range") == "pc"


def test_the_header_says_the_frame_size() -> None:
    header = b"YUV4MPEG2 W320 H180 F3:1 Ip A1:1 C420mpeg2 XYSCSS=420MPEG2 XCOLORRANGE=LIMITED\n"
    frame_format = parse_header(header)
    assert frame_format == FrameFormat(320, 180, full_range=False)
    assert frame_format.luma_size == 320 * 180
    assert frame_format.frame_size == 320 * 180 * 3 // 2
    assert parse_header(b"YUV4MPEG2 W320 H240 F3:1 C420jpeg XCOLORRANGE=FULL\n").full_range
    assert parse_header(b"YUV4MPEG2 W321 H181\n").frame_size == 321 * 181 + 2 * 161 * 91  # odd sizes round up


@pytest.mark.parametrize(
    "line",
    [b"", b"FRAME\n", b"YUV4MPEG2 F3:1\n", b"YUV4MPEG2 W320 H180 C444\n", b"RIFF....WAVE"],
)
def test_anything_else_is_refused(line: bytes) -> None:
    with pytest.raises(ValueError):
        parse_header(line)


def test_frame_lines_may_carry_parameters() -> None:
    assert is_frame_line(b"FRAME\n")
    assert is_frame_line(b"FRAME Ixyz\n")
    assert not is_frame_line(b"FRAMES\n")
    assert not is_frame_line(b"YUV4MPEG2 W2 H2\n")
