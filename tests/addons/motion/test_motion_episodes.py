"""Frames become episodes of motion: one detection each, with new, update and end, and a snapshot at the peak."""

from __future__ import annotations

from datetime import UTC, datetime

from addons.motion.compare import Measurement
from addons.motion.episodes import MAX_EPISODE_S, UPDATE_EVERY_S, EpisodeTracker, Report

T0 = 1_800_000_000.0  # wall-clock seconds
STILL = Measurement()


def moving(score: float = 0.02, *zones: str) -> Measurement:
    return Measurement(motion=True, changed=int(score * 57600), score=score, zones=zones)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


def feed(tracker: EpisodeTracker[str], frames: list[tuple[float, Measurement]]) -> list[Report[str]]:
    """Feed (seconds after T0, measurement) pairs; the frame is named after its time."""
    reports: list[Report[str]] = []
    for seconds, measurement in frames:
        reports += tracker.feed(measurement, T0 + seconds, f"frame@{seconds:g}")
    return reports


def test_an_episode_starts_on_the_second_frame_in_a_row_and_ends_after_the_quiet_time() -> None:
    tracker: EpisodeTracker[str] = EpisodeTracker(camera_id=3, quiet_s=5)
    reports = feed(tracker, [(0, STILL), (1 / 3, moving(0.02)), (2 / 3, moving(0.05)), (1, moving(0.03))])
    assert [r.phase for r in reports] == ["new"]
    new = reports[0]
    assert new.start == at(1 / 3)  # the first frame that moved, not the one that confirmed it
    assert new.end is None
    assert new.snapshot == "frame@0.666667"
    assert new.event_id.startswith(f"3-{int(T0)}-")

    assert tracker.tick(T0 + 5.9) == []  # 4.9 s after the last motion
    (end,) = tracker.tick(T0 + 6.0)
    assert (end.phase, end.event_id, end.start, end.end) == ("end", new.event_id, at(1 / 3), at(1))
    assert end.score == 0.05
    assert end.snapshot is None  # the peak was the frame already sent with "new"
    assert tracker.episode is None and tracker.episodes == 1


def test_one_odd_frame_is_not_an_episode() -> None:
    tracker: EpisodeTracker[str] = EpisodeTracker(camera_id=1, quiet_s=5)
    frames = [(i / 3, moving() if i % 2 else STILL) for i in range(30)]
    assert feed(tracker, frames) == []
    assert tracker.episodes == 0


def test_a_new_zone_is_reported_at_once_and_the_peak_frame_comes_with_the_end() -> None:
    tracker: EpisodeTracker[str] = EpisodeTracker(camera_id=2, quiet_s=3)
    reports = feed(tracker, [(0, moving(0.01, "Ngõ")), (0.5, moving(0.01, "Ngõ")), (1, moving(0.02, "Ngõ")),
                             (1.5, moving(0.09, "Ngõ", "Cổng")), (2, moving(0.03, "Cổng"))])  # fmt: skip
    assert [(r.phase, r.zones) for r in reports] == [("new", ("Ngõ",)), ("update", ("Ngõ", "Cổng"))]
    assert reports[1].score == 0.09
    assert reports[1].snapshot is None
    (end,) = tracker.tick(T0 + 5)
    assert end.zones == ("Ngõ", "Cổng")
    assert end.snapshot == "frame@1.5"  # where motion peaked


def test_long_motion_gets_an_update_now_and_then_and_is_cut_into_episodes_of_ten_minutes() -> None:
    tracker: EpisodeTracker[str] = EpisodeTracker(camera_id=4, quiet_s=10)
    seconds = [i / 3 for i in range(int((MAX_EPISODE_S + 30) * 3))]
    reports = feed(tracker, [(s, moving()) for s in seconds])
    phases = [r.phase for r in reports]
    assert phases[0] == "new"
    assert phases.count("update") >= MAX_EPISODE_S // UPDATE_EVERY_S - 1
    assert phases.count("end") == 1 and phases.count("new") == 2
    first, second = reports[0].event_id, reports[-1].event_id
    assert first != second
    end = next(r for r in reports if r.phase == "end")
    assert end.event_id == first and end.end is not None and end.end - end.start <= at(MAX_EPISODE_S) - at(0)


def test_an_episode_open_when_the_camera_stops_being_watched_is_ended() -> None:
    tracker: EpisodeTracker[str] = EpisodeTracker(camera_id=5, quiet_s=30)
    feed(tracker, [(0, moving()), (0.5, moving())])
    (end,) = tracker.close()
    assert end.phase == "end" and end.end == at(0.5)
    assert tracker.close() == []
