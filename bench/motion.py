"""Benchmark: what built-in motion detection costs the appliance per camera, everything included.

    .venv/bin/python bench/motion.py --cameras 8 --seconds 30

1. Encode one sub-stream-sized clip once (640x360, 15 fps, H.264, no B-frames, a keyframe every second,
   512 kbit/s, raw Annex-B; testsrc2 moves, so there is motion to report) and serve it looped from
   appliance/demo/rtsp_server.py --clip on N mounts, so that the camera server encodes nothing. Each
   camera's main and sub stream are the same mount (the sub stream's URL has ?stream=sub).
2. Run the appliance as a real process (`python -m appliance serve`), add the N cameras over the API,
   and wait until every camera records.
3. Measure the CPU of the appliance and all its child processes for --seconds: the baseline (recording).
4. Enable the motion add-on over the API (3 frames a second, 320 px wide: each 640x360 frame analysed at
   320x180), wait until every camera's motion ffmpeg runs and let it settle, and measure again for the
   same time.

cpu_pct_per_camera = (with motion - baseline) / N, in % of one core: the motion ffmpegs' decoding and
scaling, the Python side (reading the frames, numpy, episodes, reports, snapshots) and anything else
the add-on makes the appliance do. motion_ffmpeg_cpu_pct_per_camera is the motion ffmpegs' own share,
read from their CPU times; python_cpu_pct_per_camera the rest. The camera server's CPU is measured apart
(rtsp_server_cpu_pct) and not counted. Prints ONE JSON object on stdout; logs go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appliance.demo.cameras import BlockingSyntheticCameras  # noqa: E402
from bench.grid import encode_clip, set_up  # noqa: E402
from bench.recording import ClipServerOptions, Group  # noqa: E402
from tests.harness.appliance import RunningAppliance, start_appliance  # noqa: E402

log = logging.getLogger("bench.motion")

SETTLE_S = 10.0
START_TIMEOUT_S = 60.0
TARGET_PCT = 4.0


def motion_ffmpegs(pid: int) -> list[psutil.Process]:
    """Return the appliance's motion ffmpegs (the ones writing YUV4MPEG2)."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.name() == "ffmpeg" and "yuv4mpegpipe" in child.cmdline():
                found.append(child)
    return found


def cpu_s(processes: list[psutil.Process]) -> dict[int, float]:
    """Return each process's CPU seconds so far."""
    times = {}
    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = proc.cpu_times()
            times[proc.pid] = t.user + t.system
    return times


def measure(group: Group, seconds: float, camera_server: psutil.Process) -> dict[str, float]:
    """Return, in % of one core over `seconds`: the appliance with its children, the motion ffmpegs, the server."""
    ffmpegs = motion_ffmpegs(group.roots[0].pid)
    own0, reaped0, live0 = group.cpu()
    ffmpeg0 = cpu_s(ffmpegs)
    server0 = sum(camera_server.cpu_times()[:2])
    started = time.monotonic()
    time.sleep(seconds)
    own1, reaped1, live1 = group.cpu()
    ffmpeg1 = cpu_s(ffmpegs)
    server1 = sum(camera_server.cpu_times()[:2])
    wall = time.monotonic() - started
    kept = [pid for pid in ffmpeg0 if pid in ffmpeg1]  # one that restarted in the window would be lost
    if len(kept) != len(ffmpeg0):
        log.warning("%d motion ffmpeg(s) exited during the measurement", len(ffmpeg0) - len(kept))
    return {
        "total": 100.0 * (own1 + reaped1 + live1 - own0 - reaped0 - live0) / wall,
        "python": 100.0 * (own1 - own0) / wall,
        "motion_ffmpegs": 100.0 * sum(ffmpeg1[pid] - ffmpeg0[pid] for pid in kept) / wall,
        "rtsp_server": 100.0 * (server1 - server0) / wall,
    }


def enable_motion(server: RunningAppliance, cameras: int, fps: int, width: int) -> None:
    """Set the add-on's options and enable it as staff would; wait until every camera's motion ffmpeg runs."""
    with closing(server.login("owner")) as admin:
        admin.put("/api/addons/motion/options", json={"fps": fps, "width": width, "quiet_s": 10}).raise_for_status()
        admin.post("/api/addons/motion/enable").raise_for_status()
    deadline = time.monotonic() + START_TIMEOUT_S
    while len(motion_ffmpegs(server.process.pid)) < cameras:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(motion_ffmpegs(server.process.pid))} of {cameras} motion ffmpegs run")
        time.sleep(0.5)
    log.info("motion detection watches %d cameras", cameras)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark and return its figures."""
    with tempfile.TemporaryDirectory(prefix="wardcam-motion-") as tmp:
        work = Path(tmp)
        clip = work / "sub.h264"
        encode_clip(clip, args.fps, args.kbps)
        options = ClipServerOptions(cameras=args.cameras, width=640, height=360, fps=args.fps, clip=str(clip))
        cameras = BlockingSyntheticCameras(options)
        cameras.start()
        server: RunningAppliance | None = None
        try:
            server = start_appliance(work / "data", log_file=work / "appliance.log")
            set_up(server, cameras.urls)
            appliance = Group("appliance", [psutil.Process(server.process.pid)])
            camera_server = psutil.Process(cameras.pid)
            time.sleep(SETTLE_S)
            baseline = measure(appliance, args.seconds, camera_server)
            log.info("recording only: %.1f%% of a core (%.1f%% in Python)", baseline["total"], baseline["python"])

            enable_motion(server, args.cameras, args.analyse_fps, args.width)
            time.sleep(SETTLE_S)
            watching = measure(appliance, args.seconds, camera_server)
            log.info("with motion detection: %.1f%% of a core (%.1f%% in Python, %.1f%% in the motion ffmpegs)",
                     watching["total"], watching["python"], watching["motion_ffmpegs"])  # fmt: skip
            per_camera = (watching["total"] - baseline["total"]) / args.cameras
            ffmpeg_share = watching["motion_ffmpegs"] / args.cameras
            detections = (work / "data" / "snapshots").rglob("*.jpg")
            return {
                "cpu_pct_per_camera": round(per_camera, 2),
                "motion_ffmpeg_cpu_pct_per_camera": round(ffmpeg_share, 2),
                "python_cpu_pct_per_camera": round(per_camera - ffmpeg_share, 2),
                "cameras": args.cameras,
                "seconds": args.seconds,
                "stream": f"640x360 {args.fps} fps {args.kbps} kbit/s H.264",
                "analysed": f"{args.width} px wide at {args.analyse_fps} fps",
                "baseline_cpu_pct": round(baseline["total"], 2),
                "with_motion_cpu_pct": round(watching["total"], 2),
                "motion_snapshots": sum(1 for _ in detections),
                "rtsp_server_cpu_pct": round(watching["rtsp_server"], 2),
                "ok": per_camera <= TARGET_PCT,
            }
        finally:
            if server is not None:
                server.stop()
            cameras.stop()


def main() -> int:
    """Parse the command line, run, print the JSON object."""
    p = argparse.ArgumentParser(description="Measure what built-in motion detection costs per camera.")
    p.add_argument("--cameras", type=int, default=8)
    p.add_argument("--seconds", type=int, default=30, help="length of each CPU measurement")
    p.add_argument("--fps", type=int, default=15, help="frame rate of the sub-stream clip (a keyframe a second)")
    p.add_argument("--kbps", type=int, default=512, help="bit rate of the sub-stream clip")
    p.add_argument("--analyse-fps", type=int, default=3, help="frames analysed per second (the add-on's option)")
    p.add_argument("--width", type=int, default=320, help="width frames are analysed at (the add-on's option)")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="bench %(levelname)s %(message)s")
    result = run(args)
    print(f"details: {json.dumps(result)}", file=sys.stderr, flush=True)
    print(json.dumps({"cpu_pct_per_camera": result["cpu_pct_per_camera"]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
