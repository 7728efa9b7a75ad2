"""Run WardCam's Recorder in-process for bench/recording.py, so that its CPU is measured apart.

Protocol (stdout, one line each; logs go to stderr):
  parent starts `python bench/recording_runner.py --data-dir D --urls U1 U2 ...`
  runner -> `READY`                (database migrated, one Camera row per URL)
  parent -> `GO` on stdin
  runner -> `STARTED <epoch>`      (taken just before Recorder.start())
  parent -> `STOP` on stdin (or closes stdin)
  runner -> `STOPPED <epoch>`      (Recorder.stop() returned: every open segment closed and indexed)
The Segment table stays in D/wardcam.db for the parent to read.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.bus import EventBus
from appliance.db.connection import close_database, migrate, open_database
from appliance.db.models.cameras import AudioPolicy, Camera
from appliance.recorder.manager import Recorder

log = logging.getLogger("bench.recording_runner")


def db_url(data_dir: Path) -> str:
    """Return the SQLite URL of the bench database in data_dir."""
    return f"sqlite://{data_dir / 'wardcam.db'}"


def say(line: str) -> None:
    """Write one protocol line to the parent."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def read_line() -> str:
    """Read one line from stdin without blocking the event loop; '' at EOF."""
    return await asyncio.to_thread(sys.stdin.readline)


async def run(data_dir: Path, urls: list[str], segment_seconds: int, stall_s: float) -> None:
    """Set up the database, then record the cameras between GO and STOP."""
    url = db_url(data_dir)
    await migrate(url)
    await open_database(url)
    try:
        for i, camera_url in enumerate(urls, 1):
            await Camera.create(name=f"bench{i}", main_url=camera_url, audio_policy=AudioPolicy.DROP)
        recorder = Recorder(data_dir / "recordings", EventBus(), segment_seconds=segment_seconds, stall_s=stall_s)
        say("READY")
        if (await read_line()).strip() != "GO":
            return
        say(f"STARTED {time.time():.6f}")
        await recorder.start()
        await read_line()  # STOP, or EOF
        await recorder.stop()
        say(f"STOPPED {time.time():.6f}")
    finally:
        await close_database()


def main() -> None:
    """Parse the command line and run."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--segment-seconds", type=int, default=10)
    p.add_argument("--stall-s", type=float, default=15.0)
    p.add_argument("--urls", nargs="+", required=True)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="runner %(levelname)s %(name)s %(message)s")
    asyncio.run(run(args.data_dir, args.urls, args.segment_seconds, args.stall_s))


if __name__ == "__main__":
    main()
