"""Benchmark: export an hour of one camera at 2 Mbit/s into a signed evidence package.

    .venv/bin/python bench/export.py [--minutes 60] [--bitrate 2M] [--priority low|normal]

1. Encode one 10 s clip (1280x720, 15 fps, libx264 at the bitrate, no B-frames, a keyframe every 2 s)
   as fragmented MP4, the recorder's segment format, and copy it as the camera's segments for the
   whole span (each indexed by the recorder's indexer into a temporary SQLite database).
2. Approve a footage request for the span and time the export job: the segments spliced without ffmpeg
   (appliance/requests/splice_export.py) into the zip, each read once and hashed while written, the
   handover record rendered and the manifest signed (`export_s`).
3. In the same run, the baseline: `cat` of the same segment files into one file, then `sha256sum` of
   that file (`baseline_s`). Every file is read once beforehand, so both start from the page cache.
4. `sha256_mb_per_s`: SHA-256 in this Python over 256 MB held in memory.

On stderr: the load average before and after (another run on the machine skews the result), and the
export's own log (a camera joined by ffmpeg instead of the splice would say so). `--priority normal`
runs the splice thread without lowering its priority (the service always lowers it: nice 19 and the
idle I/O class), to measure what that costs on a busy machine.

Prints ONE JSON object: {"bytes", "export_s", "baseline_s", "ratio", "sha256_mb_per_s"}.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appliance.bus import EventBus  # noqa: E402
from appliance.db.connection import close_database, migrate, open_database  # noqa: E402
from appliance.db.models.cameras import Camera  # noqa: E402
from appliance.db.models.requests import FootageRequest, RequestStatus  # noqa: E402
from appliance.recorder.index import index_segment  # noqa: E402
from appliance.requests.export import ExportQueue, JobState  # noqa: E402
from appliance.requests.keys import SigningKey  # noqa: E402

log = logging.getLogger("bench.export")
SEGMENT_S = 10


def encode_clip(path: Path, bitrate: str) -> None:
    """Encode the 10 s segment every copy is made from."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=15:duration={SEGMENT_S}",
         "-c:v", "libx264", "-preset", "ultrafast", "-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate,
         "-bf", "0", "-g", "30", "-pix_fmt", "yuv420p",
         "-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", "-y", str(path)],
        check=True,
    )  # fmt: skip


def baseline(files: list[Path], joined: Path) -> float:
    """Return how long `cat` of the files into one file, then `sha256sum` of it, take."""
    began = time.perf_counter()
    with joined.open("wb") as out:
        subprocess.run(["cat", *map(str, files)], stdout=out, check=True)
    subprocess.run(["sha256sum", str(joined)], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - began


async def run(minutes: int, bitrate: str, work: Path, niced: bool = True) -> dict[str, float | int]:
    """Lay out the footage, export it, and measure the baseline."""
    recordings = work / "recordings"
    url = f"sqlite://{work / 'wardcam.db'}"
    await open_database(url)
    await migrate(url)
    try:
        camera = await Camera.create(name="Bench camera", main_url="rtsp://127.0.0.1:9/bench", enabled=False)
        clip = work / "clip.mp4"
        encode_clip(clip, bitrate)
        count = minutes * 60 // SEGMENT_S
        first_end = datetime.now(UTC) - timedelta(days=1)
        files = []
        bus = EventBus()
        for i in range(count):
            end = first_end + timedelta(seconds=i * SEGMENT_S)
            path = recordings / str(camera.id) / f"{end:%Y-%m-%d}" / f"{i:05d}.mp4"
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(clip, path)
            os.utime(path, (end.timestamp(), end.timestamp()))
            await index_segment(camera.id, path, recordings, bus)
            files.append(path)
        start = first_end - timedelta(seconds=SEGMENT_S)
        request = await FootageRequest.create(
            officer_name="Bench", officer_unit="Bench", officer_badge="0", case_number="bench", reason="bench",
            camera_ids=[camera.id], start=start, end=first_end + timedelta(seconds=(count - 1) * SEGMENT_S),
            status=RequestStatus.APPROVED, decided_by="bench",
        )  # fmt: skip
        for path in files:  # into the page cache, for both sides alike
            path.read_bytes()

        async def finished(*_args: object) -> None:
            return None

        queue = ExportQueue(recordings, work / "evidence", SigningKey(work / "secrets"), lambda: "bench", finished,
                            niced=niced)  # fmt: skip
        log.info("load average before: %s", " ".join(f"{x:.2f}" for x in os.getloadavg()))
        queue.start()
        began = time.perf_counter()
        job = await queue.wait(queue.submit(request.id))
        export_s = time.perf_counter() - began
        await queue.stop()
        assert job.state == JobState.DONE and job.package is not None, job.error
        size = job.package.stat().st_size

        baseline_s = await asyncio.to_thread(baseline, files, work / "joined.bin")

        block = os.urandom(256 * 1024 * 1024)
        began = time.perf_counter()
        hashlib.sha256(block).hexdigest()
        sha_mb_s = 256 * 1024 * 1024 / 1e6 / (time.perf_counter() - began)
        log.info("details: %d segments, package %d bytes, footage %d bytes, %s, load average after: %s", count,
                 size, sum(p.stat().st_size for p in files), "lowest priority" if niced else "normal priority",
                 " ".join(f"{x:.2f}" for x in os.getloadavg()))  # fmt: skip
        return {"bytes": size, "export_s": round(export_s, 2), "baseline_s": round(baseline_s, 2),
                "ratio": round(export_s / baseline_s, 2), "sha256_mb_per_s": round(sha_mb_s, 1)}  # fmt: skip
    finally:
        await close_database()


def main() -> None:
    """Parse the options, run once, print the JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--bitrate", default="2M")
    parser.add_argument("--priority", choices=("low", "normal"), default="low", help="the export thread's priority")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    log.setLevel(logging.INFO)
    logging.getLogger("appliance.requests.export").setLevel(logging.INFO)
    with tempfile.TemporaryDirectory(prefix="wardcam-bench-export-") as tmp:
        result = asyncio.run(run(args.minutes, args.bitrate, Path(tmp), niced=args.priority == "low"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
