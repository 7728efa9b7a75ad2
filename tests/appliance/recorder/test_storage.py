"""Storage figures on a real database and real files: per camera, over time, days left, the minimum free space."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tortoise import connections

from appliance.auth.accounts import Accounts
from appliance.auth.principal import Principal
from appliance.bus import EventBus
from appliance.db.models.audit import AuditEntry
from appliance.db.models.cameras import Camera
from appliance.db.models.recordings import DiskSample, EvidenceLock, Segment
from appliance.db.models.users import Role
from appliance.recorder.retention import Retention, Usage, volume_usage
from appliance.recorder.storage import (
    CameraFigures,
    CameraStorage,
    Estimate,
    Measurement,
    Storage,
    StorageSettingsInvalid,
    camera_storage,
    estimate,
    measure,
    samples,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
MB = 1_000_000
PASSWORD = "mat-khau-du-dai-1"


async def record(recordings: Path, camera: Camera | None, start: datetime, size: int = MB) -> Segment:
    """Put a 10 s segment file on disk and in the index, as the recorder would."""
    relative = f"{camera.id if camera else 'xoa'}/{start:%Y-%m-%d}/{start:%H-%M-%S}.mp4"
    path = recordings / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    return await Segment.create(camera=camera, start=start, end=start + timedelta(seconds=10), duration_s=10,
                                size=size, path=relative)  # fmt: skip


def bytes_on_disk(recordings: Path) -> int:
    return sum(p.stat().st_size for p in recordings.rglob("*.mp4"))


def storage_over(recordings: Path, accounts: Accounts, limit_bytes: int) -> Storage:
    """Return the storage service over a recordings folder treated as a volume of limit_bytes."""
    retention = Retention(recordings, EventBus(), volume_usage(recordings, limit_bytes=limit_bytes))
    return Storage(retention, accounts.audit)


async def admin(accounts: Accounts) -> Principal:
    await accounts.create_user(None, "admin", PASSWORD, Role.ADMIN)
    return (await accounts.login("admin", PASSWORD, "127.0.0.1")).principal


async def test_each_cameras_recordings_are_summed_with_its_oldest_and_newest_and_days_kept(db: Path) -> None:
    recordings = db / "recordings"
    market = await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1/cam1", retention_days=30)
    alley = await Camera.create(name="Hẻm 7", main_url="rtsp://127.0.0.1/cam2", retention_days=7)
    junction = await Camera.create(name="Ngã ba", main_url="rtsp://127.0.0.1/cam3", retention_days=14)
    await record(recordings, market, NOW - timedelta(days=3), 2 * MB)
    await record(recordings, market, NOW - timedelta(days=1, hours=1))
    newest = await record(recordings, market, NOW - timedelta(minutes=10), 3 * MB)
    alley_only = await record(recordings, alley, NOW - timedelta(hours=2))
    kept = await record(recordings, None, NOW - timedelta(days=5), 4 * MB)  # a deleted camera's, kept

    measurement = await measure(NOW)

    assert await camera_storage(measurement) == [
        CameraStorage(market.id, "Cổng chợ", 6 * MB, 3, NOW - timedelta(days=3), newest.end, 30),
        CameraStorage(alley.id, "Hẻm 7", MB, 1, alley_only.start, alley_only.end, 7),
        CameraStorage(junction.id, "Ngã ba", 0, 0, None, None, 14),
        CameraStorage(None, "", 4 * MB, 1, kept.start, kept.end, 30),  # kept for the default days
    ]
    assert measurement.recordings_bytes == 11 * MB == bytes_on_disk(recordings)


async def test_the_estimate_divides_the_usable_space_by_the_last_24_hours(db: Path, accounts: Accounts) -> None:
    recordings = db / "recordings"
    camera = await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1/cam1")
    await record(recordings, camera, NOW - timedelta(days=2), 5 * MB)  # older than the day: not in the rate
    for hours in range(0, 24, 2):
        await record(recordings, camera, NOW - timedelta(hours=hours, minutes=30))  # 12 MB in the last 24 h
    storage = storage_over(recordings, accounts, limit_bytes=100 * MB)
    await storage.load_settings()

    await storage.measure(NOW)
    overview = await storage.overview()

    # 100 MB volume, 10 % kept free, nothing but recordings on it: 90 MB for 12 MB a day
    assert overview.usage == Usage(100 * MB, 100 * MB - 17 * MB)
    assert overview.estimate == Estimate(days=7.5, bytes_per_day=12 * MB, usable_bytes=90 * MB, basis="day")

    await storage.save_settings({"min_free_pct": 40}, await admin(accounts))
    assert (await storage.overview()).estimate == Estimate(5.0, 12 * MB, 60 * MB, "day")


async def test_with_less_than_a_day_the_last_hour_counts_and_with_less_than_an_hour_nothing_is_guessed(
    db: Path, accounts: Accounts
) -> None:
    recordings = db / "recordings"
    camera = await Camera.create(name="Hẻm 7", main_url="rtsp://127.0.0.1/cam1")
    await record(recordings, camera, NOW - timedelta(hours=3))
    await record(recordings, camera, NOW - timedelta(minutes=50), 2 * MB)
    await record(recordings, camera, NOW - timedelta(minutes=20), 2 * MB)
    storage = storage_over(recordings, accounts, limit_bytes=1000 * MB)

    await storage.measure(NOW)
    # 4 MB in the last hour is 96 MB a day; 900 MB may be used
    assert (await storage.overview()).estimate == Estimate(900 / 96, 96 * MB, 900 * MB, "hour")

    await storage.measure(NOW - timedelta(hours=2, minutes=30))  # then only 30 minutes had been recorded
    assert (await storage.overview()).estimate == Estimate(None, 0, 900 * MB, "none")


def test_space_taken_by_other_files_is_not_counted_as_room_for_recordings() -> None:
    day = CameraFigures(1, bytes=20 * MB, segments=20, oldest=NOW - timedelta(days=2), newest=NOW,
                        last_day=10 * MB, last_hour=MB)  # fmt: skip
    measurement = Measurement(NOW, {1: day})
    # 200 MB disk, 100 MB used: 20 MB recordings and 80 MB of system and database
    guess = estimate(Usage(200 * MB, 100 * MB), 10, measurement)
    assert guess == Estimate(days=10.0, bytes_per_day=10 * MB, usable_bytes=100 * MB, basis="day")


async def test_the_sampler_keeps_the_volume_over_time_and_drops_samples_after_90_days(
    db: Path, accounts: Accounts
) -> None:
    recordings = db / "recordings"
    camera = await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1/cam1")
    for minutes in (30, 20, 10):
        await record(recordings, camera, NOW - timedelta(minutes=minutes), 2 * MB)
    await DiskSample.create(at=NOW - timedelta(days=91), total_bytes=50 * MB, free_bytes=50 * MB, recordings_bytes=0)
    kept = await DiskSample.create(at=NOW - timedelta(days=89), total_bytes=50 * MB, free_bytes=49 * MB,
                                   recordings_bytes=MB)  # fmt: skip
    storage = storage_over(recordings, accounts, limit_bytes=50 * MB)

    sample = await storage.sample(NOW)

    assert (sample.total_bytes, sample.free_bytes, sample.recordings_bytes) == (50 * MB, 44 * MB, 6 * MB)
    assert [s.id for s in await DiskSample.all().order_by("at")] == [kept.id, sample.id]
    assert await samples(NOW - timedelta(days=30)) == [(NOW, 50 * MB, 44 * MB, 6 * MB)]


async def test_a_long_history_is_thinned_for_the_chart_but_keeps_its_ends(db: Path) -> None:
    start = NOW - timedelta(days=7)
    every_5_minutes = [start + timedelta(minutes=5 * i) for i in range(2016)]
    await DiskSample.bulk_create(
        [DiskSample(at=at, total_bytes=100 * MB, free_bytes=90 * MB, recordings_bytes=MB) for at in every_5_minutes]
    )
    points = await samples(start, max_points=100)
    assert 90 <= len(points) <= 101
    assert points[0][0] == start and points[-1][0] == every_5_minutes[-1]
    assert [p[0] for p in points] == sorted(p[0] for p in points)


async def test_the_minimum_free_space_is_stored_applied_at_once_and_audited(db: Path, accounts: Accounts) -> None:
    recordings = db / "recordings"
    camera = await Camera.create(name="Cổng chợ", main_url="rtsp://127.0.0.1/cam1")
    segments = [await record(recordings, camera, NOW - timedelta(minutes=10 * (8 - i))) for i in range(8)]
    storage = storage_over(recordings, accounts, limit_bytes=10 * MB)  # 8 MB recorded: 20 % free
    assert (await storage.load_settings()).min_free_pct == 10
    assert storage.retention.min_free_pct == 10
    assert (await storage.retention.run_once(NOW)).deleted_by_guard == 0

    who = await admin(accounts)
    await storage.save_settings({"min_free_pct": 40}, who, ip="127.0.0.1")

    assert storage.retention.min_free_pct == 40  # no restart: the next pass keeps 40 % free
    summary = await storage.retention.run_once(NOW)
    assert summary.deleted_by_guard == 2
    assert not await Segment.filter(id__in=[s.id for s in segments[:2]]).exists()
    assert bytes_on_disk(recordings) == 6 * MB
    entry = await AuditEntry.get(action="storage.settings_changed")
    assert (entry.actor, entry.ip, entry.detail) == ("admin", "127.0.0.1", {"min_free_pct": [10, 40]})

    restarted = storage_over(recordings, accounts, limit_bytes=10 * MB)
    await restarted.load_settings()
    assert restarted.retention.min_free_pct == 40


@pytest.mark.parametrize(
    ("value", "vi", "en"),
    [
        (60, "Phải nhỏ hơn hoặc bằng 50.", "Must be at most 50."),
        (1, "Phải lớn hơn hoặc bằng 2.", "Must be at least 2."),
        ("nhiều", "Cần một số nguyên.", "Must be a whole number."),
        (None, "Cần một số nguyên.", "Must be a whole number."),
    ],
)
async def test_a_bad_minimum_is_refused_with_a_translated_message_and_nothing_changes(
    db: Path, accounts: Accounts, value: object, vi: str, en: str
) -> None:
    storage = storage_over(db / "recordings", accounts, limit_bytes=10 * MB)
    await storage.load_settings()
    with pytest.raises(StorageSettingsInvalid) as refused:
        await storage.save_settings({"min_free_pct": value}, await admin(accounts))
    assert refused.value.field_messages("", "vi") == {"min_free_pct": vi}
    assert refused.value.field_messages("", "en") == {"min_free_pct": en}
    assert storage.retention.min_free_pct == 10
    assert not await AuditEntry.exists(action="storage.settings_changed")


async def test_the_last_retention_pass_is_kept_across_a_restart(db: Path, accounts: Accounts) -> None:
    recordings = db / "recordings"
    camera = await Camera.create(name="Hẻm 7", main_url="rtsp://127.0.0.1/cam1", retention_days=7)
    await record(recordings, camera, NOW - timedelta(days=8), 2 * MB)
    evidence = await record(recordings, camera, NOW - timedelta(days=9))
    await EvidenceLock.create(camera=camera, start=evidence.start, end=evidence.end, reason="vụ trộm xe máy")
    storage = storage_over(recordings, accounts, limit_bytes=100 * MB)
    await storage.load_settings()

    await storage.retention.run_once(NOW)

    restarted = storage_over(recordings, accounts, limit_bytes=100 * MB)  # a new process: nothing in memory
    passes = await restarted.passes()
    assert passes.last_deletion is not None and passes.latest == passes.last_deletion
    deletion = passes.last_deletion
    assert (deletion.at, deletion.deleted_by_age, deletion.deleted_by_guard, deletion.freed_bytes) == (
        NOW,
        1,
        0,
        2 * MB,
    )
    assert (deletion.kept_locked, deletion.only_locked_left, deletion.min_free_pct) == (1, False, 10)

    await restarted.retention.run_once(NOW + timedelta(minutes=1))  # nothing more to delete
    passes = await restarted.passes()
    assert passes.latest is not None and passes.latest.at == NOW + timedelta(minutes=1)
    assert passes.latest.deleted == 0 and passes.latest.kept_locked == 1
    assert passes.last_deletion == deletion


async def test_a_month_of_many_cameras_is_measured_in_the_database_not_in_python(db: Path) -> None:
    cameras = [await Camera.create(name=f"Camera {i:02}", main_url=f"rtsp://127.0.0.1/cam{i}") for i in range(62)]
    per_camera = 2000  # one every 20 minutes over about four weeks
    rows = [
        (c.id, str(NOW - timedelta(minutes=20 * k)), str(NOW - timedelta(minutes=20 * k, seconds=-10)),
         10.0, 1000 + k, f"{c.id}/{k}.mp4", "[]")
        for c in cameras for k in range(per_camera)
    ]  # fmt: skip
    await connections.get("default").execute_many(
        'INSERT INTO segment (camera_id, start, "end", duration_s, size, path, keyframes, video_codec, audio_codec,'
        " width, height, recovered, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, '', '', 0, 0, 0, ?)",
        [(*row, str(NOW)) for row in rows],
    )

    began = time.monotonic()
    measurement = await measure(NOW)
    took = time.monotonic() - began

    each = sum(1000 + k for k in range(per_camera))
    assert measurement.recordings_bytes == 62 * each
    assert measurement.cameras[cameras[0].id].segments == per_camera
    assert measurement.cameras[cameras[0].id].oldest == NOW - timedelta(minutes=20 * (per_camera - 1))
    assert measurement.cameras[cameras[0].id].last_day == sum(1000 + k for k in range(73))  # 24 h back included
    # 124,000 segments: loading them as objects takes about 6 s here; the aggregate queries about 0.3 s
    assert took < 1.5, f"measuring took {took:.2f} s"
