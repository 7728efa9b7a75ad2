"""Playback for the panel and the API: the streams being watched, the clips being made, and their audit.

Playback by the roles whose views of footage are audited (police, viewers) writes `recordings.played`
(who, which camera, from when); the same user asking again for the same camera and moment within
REPEAT_S (a reload, a reconnect) writes nothing new. When such a viewing ends (the player closed, another
moment chosen, the page left) `recordings.play_ended` says which range of footage was sent to the viewer:
from, until, its seconds (sent_s), and how long the stream was open (open_s). The server cannot know
what was looked at; what was sent is what the viewer could have seen. The stream is sent as fast as the
browser takes it, so a short recording can be all sent in less time than it plays.
Every clip download, by anyone, writes `recordings.clip_downloaded` (who, which camera, which range).
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.auth.roles import AUDITED_VIEWERS
from appliance.db.models.cameras import Camera
from appliance.errors import NotFound

from .clip import Clip, Clips
from .ranges import Recordings, recordings
from .stream import PlaybackStream

REPEAT_S = 60.0
MIN_WATCHED_S = 1.0  # a stream stopped sooner (a click straight onto another moment) ends nothing worth noting
MAX_STREAMS = 256  # streams whose map is kept (the newest), for the pages still playing them
PLAYBACK_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

WritingSince = Callable[[int], datetime | None]


def _nothing_written(camera_id: int) -> datetime | None:
    return None


class Playback:
    """Everything playback keeps while the appliance runs."""

    def __init__(self, recordings_dir: Path, work_dir: Path, audit: AuditLog,
                 writing_since: WritingSince = _nothing_written) -> None:  # fmt: skip
        self.recordings_dir = recordings_dir
        self.audit = audit
        self.writing_since = writing_since  # when the segment a camera is writing now was opened, if any
        self.clips = Clips(recordings_dir, work_dir)
        self.streams: OrderedDict[tuple[int, str], PlaybackStream] = OrderedDict()
        self._played: dict[tuple[int, int, str], float] = {}

    async def recordings(self, camera_id: int, start: datetime, end: datetime, *,
                         with_segments: bool = True) -> Recordings:  # fmt: skip
        """Return what a camera recorded in a window, with the segment being written now."""
        return await recordings(camera_id, start, end, writing_since=self.writing_since(camera_id),
                                with_segments=with_segments)  # fmt: skip

    async def open_stream(self, who: Principal, camera_id: int, at: datetime, playback_id: str = "") -> PlaybackStream:
        """Open a stream from a moment (NothingRecorded when there is nothing to play), kept under its id."""
        stream = PlaybackStream(camera_id, at, self.recordings_dir,
                                following=lambda: self.writing_since(camera_id) is not None)  # fmt: skip
        await stream.open()
        if PLAYBACK_ID.match(playback_id):
            key = (who.user_id, playback_id)
            self.streams.pop(key, None)
            self.streams[key] = stream
            while len(self.streams) > MAX_STREAMS:
                self.streams.popitem(last=False)
        return stream

    def stream(self, who: Principal, playback_id: str) -> PlaybackStream:
        """Return one of the user's streams by its id; NotFound for anything else."""
        stream = self.streams.get((who.user_id, playback_id))
        if stream is None:
            raise NotFound()
        return stream

    async def played(self, who: Principal, camera: Camera, stream: PlaybackStream, ip: str = "") -> bool:
        """Audit a playback by police or a viewer; return whether an entry was written."""
        if who.role not in AUDITED_VIEWERS:
            return False
        now = time.monotonic()
        key = (who.user_id, camera.id, stream.start.isoformat())
        last = self._played.get(key)
        self._played[key] = now
        if len(self._played) > 10_000:
            self._played = {k: v for k, v in self._played.items() if now - v < REPEAT_S}
        if last is not None and now - last < REPEAT_S:
            return False
        await self.audit.record(
            "recordings.played", who=who, object_type="camera", object_id=camera.id, ip=ip,
            detail={"camera": camera.name, "from": stream.start.isoformat(timespec="seconds"),
                    "asked": stream.at.isoformat(timespec="seconds")},
        )  # fmt: skip
        return True

    async def play_ended(self, who: Principal, camera: Camera, stream: PlaybackStream, open_s: float,
                         ip: str = "") -> bool:  # fmt: skip
        """Audit the end of a playback by police or a viewer: the range sent; return whether one was written.

        A stream stopped within MIN_WATCHED_S (a click straight onto another moment) writes nothing more; one
        that sent all it had in that time (a short recording, up to where the camera's stream changed) does:
        the browser has it all to play.
        """
        if who.role not in AUDITED_VIEWERS or (open_s < MIN_WATCHED_S and not stream.ran_out):
            return False
        sent_s = stream.sent_s
        until = stream.wall_clock(sent_s) or stream.start + timedelta(seconds=sent_s)
        await self.audit.record(
            "recordings.play_ended", who=who, object_type="camera", object_id=camera.id, ip=ip,
            detail={"camera": camera.name, "from": stream.start.isoformat(timespec="seconds"),
                    "until": until.isoformat(timespec="seconds"), "sent_s": round(sent_s, 1),
                    "open_s": round(open_s, 1)},
        )  # fmt: skip
        return True

    async def clip_downloaded(self, who: Principal, camera: Camera, clip: Clip, ip: str = "") -> None:
        """Audit a clip's download, whoever downloads it."""
        await self.audit.record(
            "recordings.clip_downloaded", who=who, object_type="camera", object_id=camera.id, ip=ip,
            detail={"camera": camera.name, "start": clip.start.isoformat(timespec="seconds"),
                    "end": clip.end.isoformat(timespec="seconds"), "from": clip.begins.isoformat(timespec="seconds"),
                    "duration_s": round(clip.duration_s, 1)},
        )  # fmt: skip

    async def close(self) -> None:
        """Stop every stream and clip."""
        for stream in list(self.streams.values()):
            await stream.close()
        self.streams.clear()
        await self.clips.close()
