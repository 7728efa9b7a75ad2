"""Why a recording ffmpeg stopped, told from what ffmpeg 5.1 really printed.

Every message here was printed by ffmpeg 5.1 (Debian 12) with the recorder's argv
(`-loglevel level+warning`), against the GStreamer RTSP test server or a plain socket; only the
addresses were shortened. test_argv.py provokes the same failures live and checks them again.
"""

from __future__ import annotations

import pytest

from appliance.recorder.argv import redact
from appliance.recorder.failures import FailureKind, audio_blocked, classify_failure

WRONG_PASSWORD = """\
[rtsp @ 0x556e9ac03340] [error] method DESCRIBE failed: 401 Unauthorized
[error] rtsp://op:wrong@127.0.0.1:36157/cam1: Server returned 401 Unauthorized (authorization failed)"""

NO_PASSWORD = """\
[rtsp @ 0x561938353340] [error] method DESCRIBE failed: 401 Unauthorized
[error] rtsp://127.0.0.1:36157/cam1: Server returned 401 Unauthorized (authorization failed)"""

UNKNOWN_PATH = """\
[rtsp @ 0x555c8fb38340] [error] method DESCRIBE failed: 404 Not Found
[error] rtsp://op:right@127.0.0.1:36157/cam9: Server returned 404 Not Found"""

REFUSED = """\
[tcp @ 0x561566ab6080] [error] Connection to tcp://127.0.0.1:55247?timeout=5000000 failed: Connection refused
[error] rtsp://127.0.0.1:55247/cam1: Connection refused"""

NO_ANSWER = """\
[tcp @ 0x55b83727f080] [error] Connection to tcp://127.0.0.1:47719?timeout=5000000 failed: Connection timed out
[error] rtsp://127.0.0.1:47719/cam1: Connection timed out"""  # after 5.4 s: nothing answered the SYN

UNKNOWN_HOST = """\
[tcp @ 0x561103806a80] [error] Failed to resolve hostname nosuchhost.invalid: Name or service not known
[error] rtsp://nosuchhost.invalid/x: Input/output error"""

HUNG_MID_RECORDING = """\
[segment @ 0x559cfb320180] [warning] Timestamps are unset in a packet for stream 0. This is deprecated and \
will stop working in the future. Fix your code to set the timestamps properly
[segment @ 0x559cfb320180] [warning] Non-monotonous DTS in output stream 0:0; previous: 0, current: 0; \
changing to 1. This may result in incorrect timestamps in the output file.
[error] rtsp://127.0.0.1:36803/cam1: Connection timed out"""  # exit code 0, about 10 s after SIGSTOP

NOBODY_SPEAKS = "[error] rtsp://127.0.0.1:36803/cam1: Invalid data found when processing input"
# the same line from a server hung before ffmpeg connected (after 5.2 s), from a web server or from a
# port that accepts and closes (after 0.1 s)

NO_VIDEO = """\
[fatal] Stream map '0:v:0' matches no streams.
To ignore this, add a trailing '?' to the map."""

AUDIO_NEVER_COMES = """\
[warning] Guessed Channel Layout for Input Stream #0.1 : mono
[error] Too many packets buffered for output stream 0:0."""

NO_DAY_FOLDER_AT_START = """\
[segment @ 0x5564871ffbc0] [error] Failed to open segment '/tmp/exp/out6/7/2026-11-28/12-41-16.mp4'
[error] Could not write header for output file #0 (incorrect codec parameters ?): No such file or directory
[error] Error initializing output stream 0:1 -- """

# the next folder missing when a segment opens mid-run, as at midnight (simulated with a folder a second)
NO_DAY_FOLDER_AT_MIDNIGHT = """\
[segment @ 0x562d0e7094c0] [error] Failed to open segment 'out5/52/12-40-52.mp4'
[error] av_interleaved_write_frame(): No such file or directory
[error] av_interleaved_write_frame(): Invalid argument
[error] av_interleaved_write_frame(): Invalid argument
[error] Error writing trailer of out5/%S/%H-%M-%S.mp4: Invalid argument"""

HVC1_ON_H264 = """\
[mp4 @ 0x5627a2e64800] [error] Tag hvc1 incompatible with output codec id '27' (avc1)
[error] Could not write header for output file #0 (incorrect codec parameters ?): Invalid data found when \
processing input
[error] Error initializing output stream 0:0 -- """


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        (WRONG_PASSWORD, "auth"),
        (NO_PASSWORD, "auth"),
        (UNKNOWN_PATH, "not_found"),
        (REFUSED, "unreachable"),
        (NO_ANSWER, "unreachable"),
        (UNKNOWN_HOST, "unreachable"),
        (HUNG_MID_RECORDING, "timeout"),
        (NOBODY_SPEAKS, "not_video"),
        (NO_VIDEO, "not_video"),
        (AUDIO_NEVER_COMES, "unknown"),
        (NO_DAY_FOLDER_AT_START, "unknown"),
        (NO_DAY_FOLDER_AT_MIDNIGHT, "unknown"),
        (HVC1_ON_H264, "unknown"),
        ("", "unknown"),
    ],
)
def test_each_real_message_is_classified(stderr: str, kind: FailureKind) -> None:
    assert classify_failure(stderr) == kind


def test_a_camera_that_accepts_and_then_says_nothing_is_a_timeout_once_ffmpeg_waited_the_timeout() -> None:
    assert classify_failure(NOBODY_SPEAKS, waited_s=5.18) == "timeout"
    assert classify_failure(NOBODY_SPEAKS, waited_s=0.12) == "not_video"
    assert classify_failure(NOBODY_SPEAKS, waited_s=2.6, timeout_s=2.5) == "timeout"


def test_the_time_waited_changes_nothing_else() -> None:
    for stderr, kind in ((REFUSED, "unreachable"), (WRONG_PASSWORD, "auth"), (NO_VIDEO, "not_video")):
        assert classify_failure(stderr, waited_s=60) == kind


def test_the_last_lines_of_a_long_stderr_are_enough() -> None:
    warnings = "[segment @ 0x1] [warning] Timestamps are unset in a packet for stream 0.\n" * 50
    assert classify_failure(warnings + REFUSED) == "unreachable"
    assert classify_failure(warnings) == "unknown"


def test_audio_that_never_comes_is_told_apart_so_that_the_supervisor_drops_it() -> None:
    assert audio_blocked(AUDIO_NEVER_COMES)
    assert not any(audio_blocked(s) for s in (WRONG_PASSWORD, HUNG_MID_RECORDING, NO_DAY_FOLDER_AT_MIDNIGHT))


def test_messages_carry_the_password_until_redacted() -> None:
    assert "wrong" in WRONG_PASSWORD
    assert "rtsp://op:***@127.0.0.1:36157/cam1" in redact(WRONG_PASSWORD)
    assert classify_failure(redact(WRONG_PASSWORD)) == "auth"
