"""A detection's picture: the analysed frame where motion started or peaked, encoded as a JPEG by a one-shot ffmpeg.

The frame is the one the comparison saw, so the picture shows the very moment, in colour, at the
analysis size (320 px wide by default). An ffmpeg start costs about 0.05 s of CPU; it runs at most
twice an episode (start and peak), not per frame, so no image library is needed.
"""

from __future__ import annotations

import asyncio

from addons.motion.argv import snapshot_argv
from addons.motion.source import Frame
from appliance.process import die_with_parent, kill

ENCODE_TIMEOUT_S = 10.0


class SnapshotFailed(RuntimeError):
    """ffmpeg could not encode the frame."""


async def encode_jpeg(frame: Frame, ffmpeg_binary: str = "ffmpeg") -> bytes:
    """Return the frame as a JPEG; SnapshotFailed when ffmpeg fails or takes longer than 10 s."""
    fmt = frame.format
    argv = snapshot_argv(fmt.width, fmt.height, full_range=fmt.full_range, ffmpeg_binary=ffmpeg_binary)
    proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE, preexec_fn=die_with_parent)  # fmt: skip
    try:
        jpeg, errors = await asyncio.wait_for(proc.communicate(frame.data), ENCODE_TIMEOUT_S)
    except TimeoutError:
        await kill(proc)
        raise SnapshotFailed(f"ffmpeg took longer than {ENCODE_TIMEOUT_S:.0f} s") from None
    if proc.returncode != 0 or not jpeg:
        raise SnapshotFailed(f"ffmpeg exited with code {proc.returncode}: {errors.decode(errors='replace')[-300:]}")
    return jpeg
