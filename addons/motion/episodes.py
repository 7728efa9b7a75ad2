"""Turn one camera's per-frame measurements into episodes of motion: a detection each, with new, update and end.

- An episode starts when START_FRAMES frames in a row show motion (one odd frame is not an episode):
  a `new` report, with the frame as its snapshot.
- While it goes on: an `update` at once when a zone sees motion for the first time in the episode,
  and otherwise every UPDATE_EVERY_S, with the episode's highest score so far.
- It ends when no frame has shown motion for the quiet time: an `end` report whose end is the last
  frame that showed motion, with the frame where motion peaked as its snapshot when that came later
  than the first one.
- An episode longer than MAX_EPISODE_S (a tree in the wind all afternoon) is ended and the next one
  starts with the next motion, so that no detection lasts for hours.
- When the add-on stops or stops watching the camera, the open episode is ended.

Pure: times are passed in, nothing is sent; the watcher sends the reports.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Literal, TypeVar

from addons.motion.compare import Measurement

START_FRAMES = 2
UPDATE_EVERY_S = 10.0
MAX_EPISODE_S = 600.0

F = TypeVar("F")  # a frame, kept for the snapshot


@dataclass(frozen=True)
class Report(Generic[F]):
    """One message about one episode, for ctx.detections.report()."""

    phase: Literal["new", "update", "end"]
    event_id: str
    start: datetime
    end: datetime | None
    score: float
    zones: tuple[str, ...]
    snapshot: F | None = None  # a frame to attach as the detection's picture


@dataclass
class Episode(Generic[F]):
    """An episode of motion while it goes on."""

    event_id: str
    start: float
    last_motion: float
    score: float
    zones: list[str]
    first_frame: F
    peak_frame: F
    last_report: float


def new_event_id(camera_id: int, at: float) -> str:
    """Return a new episode's id: the camera, the second it started, and a random part."""
    return f"{camera_id}-{int(at)}-{secrets.token_hex(3)}"


def _time(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


@dataclass
class EpisodeTracker(Generic[F]):
    """Follow one camera's motion from frame to frame."""

    camera_id: int
    quiet_s: float
    episode: Episode[F] | None = None
    episodes: int = 0  # started so far
    last_motion_at: float | None = None  # the last frame that showed motion (wall-clock seconds)
    _streak: int = 0  # frames in a row that showed motion
    _streak_start: float = 0.0

    def feed(self, measurement: Measurement, at: float, frame: F) -> list[Report[F]]:
        """Take one frame's measurement (at: wall-clock seconds); return what to report."""
        reports = self.tick(at)
        if not measurement.motion:
            self._streak = 0
            return reports
        self._streak += 1
        if self._streak == 1:
            self._streak_start = at
        self.last_motion_at = at
        episode = self.episode
        if episode is None:
            if self._streak < START_FRAMES:
                return reports
            start = self._streak_start
            episode = self.episode = Episode(new_event_id(self.camera_id, start), start, at, measurement.score,
                                             list(measurement.zones), frame, frame, at)  # fmt: skip
            self.episodes += 1
            return [*reports, self._report("new", episode, snapshot=frame)]
        episode.last_motion = at
        if measurement.score > episode.score:
            episode.score, episode.peak_frame = measurement.score, frame
        fresh = [zone for zone in measurement.zones if zone not in episode.zones]
        episode.zones.extend(fresh)
        if fresh or at - episode.last_report >= UPDATE_EVERY_S:
            episode.last_report = at
            reports.append(self._report("update", episode))
        return reports

    def tick(self, now: float) -> list[Report[F]]:
        """End the episode when it has been quiet long enough, or has lasted too long."""
        episode = self.episode
        if episode is None:
            return []
        if now - episode.last_motion >= self.quiet_s or now - episode.start >= MAX_EPISODE_S:
            return [self._end(episode)]
        return []

    def close(self) -> list[Report[F]]:
        """End the open episode now (the camera is no longer watched)."""
        return [self._end(self.episode)] if self.episode is not None else []

    def _end(self, episode: Episode[F]) -> Report[F]:
        self.episode = None
        self._streak = 0
        peak_later = episode.peak_frame is not episode.first_frame
        return self._report("end", episode, end=_time(episode.last_motion),
                            snapshot=episode.peak_frame if peak_later else None)  # fmt: skip

    @staticmethod
    def _report(phase: Literal["new", "update", "end"], episode: Episode[F], end: datetime | None = None,
                snapshot: F | None = None) -> Report[F]:  # fmt: skip
        return Report(phase, episode.event_id, _time(episode.start), end, round(episode.score, 4),
                      tuple(episode.zones), snapshot)  # fmt: skip
