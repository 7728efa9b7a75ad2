"""Killing the whole appliance with SIGKILL loses almost nothing: at the next start the last segments are indexed."""

from __future__ import annotations

import signal
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.harness.appliance import start_appliance


def segments(data_dir: Path) -> list[tuple[str, float, str, str, int]]:
    with closing(sqlite3.connect(data_dir / "wardcam.db")) as db:
        return db.execute('SELECT path, duration_s, start, "end", recovered FROM segment ORDER BY start').fetchall()


def test_after_sigkill_the_next_start_indexes_what_was_recorded(tmp_path: Path, rtsp_server_factory: Any) -> None:
    server = rtsp_server_factory(cameras=1)
    data_dir = tmp_path / "data"
    first = start_appliance(data_dir)
    first.add_user("admin", "admin")
    admin = first.login("admin")
    assert admin.post("/api/cameras", json={"name": "Hẻm 1", "main_url": server.urls[0]}).status_code == 201
    deadline = time.monotonic() + 40
    while not segments(data_dir):
        assert time.monotonic() < deadline, "nothing was recorded"
        time.sleep(0.5)
    time.sleep(6)  # well into the next segment
    killed_at = datetime.now(UTC)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)
    before = segments(data_dir)
    on_disk = sorted(p for p in (data_dir / "recordings").glob("*/*/*.mp4"))
    assert len(on_disk) > len(before), "the open segment should be on disk, not indexed yet"

    second = start_appliance(data_dir)
    try:
        after = segments(data_dir)
        recovered = [row for row in after if row[4]]
        assert recovered, after
        assert all(duration > 3.0 for _, duration, *_ in recovered)
        # the torn segment is placed at its real time (its last write), not at the time of the recovery,
        # and lost at most the fragment being filled (a fragment a second)
        newest_end = max(datetime.fromisoformat(str(end)) for _, _, _, end, _ in after)
        lost = (killed_at - newest_end).total_seconds()
        assert -0.5 <= lost <= 2.0, f"{lost:.2f} s lost at the kill"
        assert {row[0] for row in after} >= {str(p.relative_to(data_dir / "recordings")) for p in on_disk[:-1]}
    finally:
        second.stop()
