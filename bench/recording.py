"""Benchmark: what recording N cameras costs WardCam, against plain `ffmpeg -c copy` on the same streams.

    .venv/bin/python bench/recording.py --cameras 16 --seconds 60

1. Encode one 720p ~2 Mbit/s clip once (libx264, no B-frames, a keyframe every 2 s, raw Annex-B).
2. Serve it looped on /cam1../camN from appliance/demo/rtsp_server.py --clip (no live encoding).
3. Hold every stream open with an unmeasured keeper client first (a real camera's RTSP server is always
   up; the test server builds a stream's pipeline when its first client comes). Then run one bare
   `ffmpeg -rtsp_transport tcp -i URL -c copy -f segment` per camera on the same (shared) streams,
   writing the same fragmented MP4 (`--plain-mp4-reference`: plain MP4, to see the container's cost),
   and once each of them records, the appliance's Recorder in a child Python process
   (bench/recording_runner.py). They start one after the other because the test server answers RTSP
   handshakes one at a time in one Python thread: 32 clients at once would measure its queue (first
   frames 4-6 s late), where each real camera serves its own clients. Each group's CPU, start-up
   included, is measured with psutil from its own start to the same end (the appliance's child
   processes included).
4. Stop both gracefully, read the appliance's Segment table and print ONE JSON object on stdout.

Everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appliance.demo.cameras import BlockingSyntheticCameras, CameraServerOptions  # noqa: E402
from appliance.recorder.argv import SEGMENT_FORMAT_OPTIONS  # noqa: E402

log = logging.getLogger("bench.recording")

RUNNER = Path(__file__).with_name("recording_runner.py")
RTSP_SERVER = ROOT / "appliance" / "demo" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"
MB = 1024 * 1024
SAMPLE_EVERY_S = 0.5
RUNNER_READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
WARM_UP_TIMEOUT_S = 30.0


# ---------------------------------------------------------------- the clip and its server


def encode_clip(path: Path, fps: int, kbps: int, seconds: int = 20) -> None:
    """Encode the test clip once: 1280x720, libx264, no B-frames, a keyframe every 2 s, Annex-B."""
    gop = 2 * fps
    argv = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate={fps},noise=alls=12:allf=t",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
        "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{kbps}k",
        "-bf", "0", "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-x264-params", "repeat-headers=1", "-an", "-f", "h264", str(path),
    ]  # fmt: skip
    started = time.monotonic()
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
    actual = path.stat().st_size * 8 / seconds / 1000
    log.info("clip encoded in %.1f s: %s, %.0f kbit/s", time.monotonic() - started, path, actual)


@dataclass(frozen=True)
class ClipServerOptions(CameraServerOptions):
    """The synthetic camera server's options, serving a pre-encoded clip (rtsp_server.py --clip)."""

    clip: str = ""

    def command(self, python: str = SYSTEM_PYTHON) -> list[str]:
        """Return the server's command line with --clip added."""
        return [*super().command(python), "--clip", self.clip]


# ---------------------------------------------------------------- CPU and memory accounting


def _times(p: psutil.Process) -> float:
    t = p.cpu_times()
    return float(t.user + t.system)


@dataclass
class Group:
    """A set of processes measured together: roots, and (for the appliance) their descendants."""

    name: str
    roots: list[psutil.Process] = field(default_factory=list)
    peak_rss: dict[int, int] = field(default_factory=dict)  # pid -> peak RSS, descendants only
    root_peak_rss: int = 0

    def descendants(self) -> list[psutil.Process]:
        """Return the live descendants of every root."""
        found = []
        for root in self.roots:
            with contextlib.suppress(psutil.NoSuchProcess):
                found += root.children(recursive=True)
        return found

    def cpu(self) -> tuple[float, float, float]:
        """Return CPU s of the roots themselves, of their reaped children, and of their live descendants."""
        own = children = live = 0.0
        for root in self.roots:
            with contextlib.suppress(psutil.NoSuchProcess):
                t = root.cpu_times()
                own += t.user + t.system
                children += t.children_user + t.children_system
        for child in self.descendants():
            with contextlib.suppress(psutil.NoSuchProcess):
                live += _times(child)
        return own, children, live

    def sample_rss(self, ffmpeg_only: bool = True) -> None:
        """Note the peak RSS of the roots and of every (ffmpeg) descendant."""
        for root in self.roots:
            with contextlib.suppress(psutil.NoSuchProcess):
                self.root_peak_rss = max(self.root_peak_rss, root.memory_info().rss)
        for child in self.descendants():
            with contextlib.suppress(psutil.NoSuchProcess):
                if ffmpeg_only and child.name() != "ffmpeg":
                    continue
                self.peak_rss[child.pid] = max(self.peak_rss.get(child.pid, 0), child.memory_info().rss)


class Sampler(threading.Thread):
    """Sample RSS of the groups every half second until stopped."""

    def __init__(self, groups: list[Group]) -> None:
        super().__init__(daemon=True)
        self.groups = groups
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_EVERY_S):
            for group in self.groups:
                group.sample_rss()


# ---------------------------------------------------------------- the two recorders


def bare_argv(url: str, out_dir: Path, segment_seconds: int, *, fragmented: bool = True) -> list[str]:
    """Return the reference recorder: plain ffmpeg, stream copy into segments of the same container.

    The reference writes the same crash-safe fragmented MP4 as the appliance (the issue recommends
    that container), so that overhead_ratio measures what the appliance adds: its supervision, its
    Python process, its progress reports and segment list. `--plain-mp4-reference` measures against
    plain (non-fragmented) MP4 instead, to see what the container itself costs.
    """
    container = ["-segment_format_options", SEGMENT_FORMAT_OPTIONS] if fragmented else []
    return [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning",
        "-rtsp_transport", "tcp", "-timeout", "5000000", "-i", url,
        "-map", "0:v", "-c", "copy", "-f", "segment", "-segment_time", str(segment_seconds),
        "-segment_format", "mp4", *container, "-reset_timestamps", "1", str(out_dir / "%05d.mp4"),
    ]  # fmt: skip


def keeper_argv(url: str, out_dir: Path) -> list[str]:
    """Return a client that holds a stream open (the test server keeps its pipeline) and writes a marker."""
    return [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
        "-map", "0:v", "-c", "copy", "-f", "segment", "-segment_time", "3600", str(out_dir / "%05d.mp4"),
    ]  # fmt: skip


def wait_for_first_files(folder: Path, count: int, timeout: float) -> None:
    """Wait until each of the count reference recorders has written into its first segment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = sum(1 for d in folder.iterdir() if any(f.stat().st_size > 0 for f in d.glob("*.mp4")))
        if started == count:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the reference ffmpegs did not all start within {timeout:.0f} s")


def read_protocol(proc: subprocess.Popen[str], expect: str, timeout: float) -> str:
    """Read the runner's stdout until a line starting with `expect`; return the rest of it."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    result: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(expect):
                result.append(line[len(expect) :].strip())
                return
            log.info("runner stdout: %s", line.rstrip())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if not result:
        raise RuntimeError(f"recording runner: no {expect!r} line within {timeout:.0f} s (code {proc.poll()})")
    return result[0]


def segments(db: Path) -> dict[int, list[tuple[float, float, float]]]:
    """Return each camera's indexed segments as (start epoch, end epoch, duration s), by start."""
    out: dict[int, list[tuple[float, float, float]]] = {}
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute('SELECT camera_id, start, "end", duration_s FROM segment ORDER BY camera_id, start')
        for camera_id, start, end, duration in rows:
            s = datetime.fromisoformat(str(start)).timestamp()
            e = datetime.fromisoformat(str(end)).timestamp()
            out.setdefault(camera_id, []).append((s, e, float(duration)))
    return out


def recording_quality(
    per_camera: dict[int, list[tuple[float, float, float]]], cameras: int, started_at: float
) -> tuple[float, float, float]:
    """Return (worst recorded-seconds ratio, worst start latency, largest gap) over every camera."""
    ratios, latencies, gaps = [], [], [0.0]
    for camera_id in range(1, cameras + 1):
        rows = per_camera.get(camera_id, [])
        if not rows:
            log.error("camera %d: no segment indexed", camera_id)
            ratios.append(0.0)
            latencies.append(float("inf"))
            continue
        span = rows[-1][1] - rows[0][0]
        recorded = sum(r[2] for r in rows)
        ratios.append(recorded / span if span > 0 else 0.0)
        latencies.append(rows[0][0] - started_at)
        camera_gaps = [b[0] - a[1] for a, b in itertools.pairwise(rows)]
        gaps += camera_gaps
        log.info(
            "camera %d: %d segments, %.2f s of %.2f s, first at +%.2f s, gaps min %.3f max %.3f",
            camera_id, len(rows), recorded, span, rows[0][0] - started_at,
            min(camera_gaps, default=0.0), max(camera_gaps, default=0.0),
        )  # fmt: skip
    return min(ratios), max(latencies), max(gaps)


# ---------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> dict[str, float | int]:
    """Run the benchmark and return its figures."""
    with tempfile.TemporaryDirectory(prefix="wardcam-bench-") as tmp:
        work = Path(tmp)
        clip = Path(args.clip) if args.clip else work / "clip.h264"
        if not args.clip:
            encode_clip(clip, args.fps, args.kbps)
        options = ClipServerOptions(cameras=args.cameras, width=1280, height=720, fps=args.fps, clip=str(clip))
        server = BlockingSyntheticCameras(options)
        server.start()
        server_proc = psutil.Process(server.pid)
        runner: subprocess.Popen[str] | None = None
        bare: list[subprocess.Popen[bytes]] = []
        keepers: list[subprocess.Popen[bytes]] = []
        try:
            urls = server.urls
            data_dir = work / "data"
            data_dir.mkdir()
            runner = subprocess.Popen(
                [sys.executable, str(RUNNER), "--data-dir", str(data_dir), "--segment-seconds",
                 str(args.segment_seconds), "--urls", *urls],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
            )  # fmt: skip
            read_protocol(runner, "READY", RUNNER_READY_TIMEOUT_S)
            appliance = Group("appliance", [psutil.Process(runner.pid)])
            reference = Group("bare")
            # A real camera's RTSP server is always up, while the test server builds each (shared) stream's
            # pipeline when its first client comes: keepers (not measured) hold every stream open first, so
            # that start latency measures the recorder, not the test server.
            for i, url in enumerate(urls, 1):
                out = work / "keep" / str(i)
                out.mkdir(parents=True)
                keepers.append(subprocess.Popen(keeper_argv(url, out), stdin=subprocess.DEVNULL))
            wait_for_first_files(work / "keep", len(urls), WARM_UP_TIMEOUT_S)
            time.sleep(2.0)  # let the keepers' own start-up CPU settle
            server_cpu0 = _times(server_proc)
            # The reference starts first, and the appliance once every reference ffmpeg records: the test server
            # answers RTSP handshakes one at a time in one Python thread, so 32 clients connecting at once
            # would measure its queue (first frames 4-6 s late), where each real camera serves its own.
            # Both pay their start-up; each is measured from its own start to the same end.
            t_bare = time.monotonic()
            for i, url in enumerate(urls, 1):
                out = work / "bare" / str(i)
                out.mkdir(parents=True)
                argv = bare_argv(url, out, args.segment_seconds, fragmented=not args.plain_mp4_reference)
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
                bare.append(proc)
                reference.roots.append(psutil.Process(proc.pid))
            wait_for_first_files(work / "bare", len(urls), WARM_UP_TIMEOUT_S)
            own0, reaped0, live0 = appliance.cpu()
            t0 = time.monotonic()
            assert runner.stdin is not None
            runner.stdin.write("GO\n")
            runner.stdin.flush()
            started_at = float(read_protocol(runner, "STARTED ", 10.0))
            sampler = Sampler([appliance, reference])
            sampler.start()
            time.sleep(max(0.0, args.seconds - (time.monotonic() - t0)))
            own1, reaped1, live1 = appliance.cpu()
            bare_cpu = sum(_times(p) for p in reference.roots if p.is_running())
            wall = time.monotonic() - t0
            bare_wall = time.monotonic() - t_bare
            server_cpu = _times(server_proc) - server_cpu0
            sampler.done.set()
            sampler.join()
            appliance.sample_rss()
            log.info("measured over %.2f s wall; stopping", wall)

            runner.stdin.write("STOP\n")
            runner.stdin.flush()
            for proc in bare:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGINT)
            read_protocol(runner, "STOPPED ", STOP_TIMEOUT_S)
            runner.wait(STOP_TIMEOUT_S)
            for proc in bare:
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

            per_camera = segments(data_dir / "wardcam.db")
            ratio, latency, gap = recording_quality(per_camera, args.cameras, started_at)
            n = args.cameras
            appliance_pct = 100.0 * (own1 - own0) / wall
            ffmpeg_pct = 100.0 * (reaped1 + live1 - reaped0 - live0) / wall / n
            log.info(
                "appliance children: %.2f s CPU in exited ones (ffprobe, first runs), %.2f s in running ffmpegs",
                reaped1 - reaped0 - live0, live1,
            )  # fmt: skip
            bare_pct = 100.0 * bare_cpu / bare_wall / n
            ffmpeg_rss = list(appliance.peak_rss.values())
            log.info(
                "server CPU %.1f%% of a core (%.2f%% per stream); appliance ffmpeg peak RSS max %.1f MB; "
                "bare ffmpeg peak RSS max %.1f MB",
                100.0 * server_cpu / wall, 100.0 * server_cpu / wall / n, max(ffmpeg_rss, default=0) / MB,
                reference.root_peak_rss / MB,
            )  # fmt: skip
            return {
                "cameras": n,
                "seconds": args.seconds,
                "appliance_cpu_pct": round(appliance_pct, 3),
                "ffmpeg_cpu_pct_per_camera": round(ffmpeg_pct, 3),
                "bare_ffmpeg_cpu_pct_per_camera": round(bare_pct, 3),
                "overhead_ratio": round((appliance_pct + ffmpeg_pct * n) / (bare_pct * n), 3) if bare_pct else None,
                "recorded_seconds_ratio": round(ratio, 4),
                "start_latency_s": round(latency, 3),
                "max_gap_s": round(gap, 3),
                "rss_mb_appliance": round(appliance.root_peak_rss / MB, 1),
                "rss_mb_per_ffmpeg": round(statistics.fmean(ffmpeg_rss) / MB, 1) if ffmpeg_rss else None,
            }
        finally:
            for proc in keepers:
                proc.kill()
                proc.wait()
            for proc in bare:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if runner is not None and runner.poll() is None:
                runner.kill()
                runner.wait()
            server.stop()


def main() -> int:
    """Parse the command line, run, print the JSON object."""
    p = argparse.ArgumentParser(description="Measure what recording N cameras costs WardCam.")
    p.add_argument("--cameras", type=int, default=16)
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--fps", type=int, default=15)
    p.add_argument("--kbps", type=int, default=2000, help="bit rate of the encoded clip")
    p.add_argument("--segment-seconds", type=int, default=10)
    p.add_argument("--clip", default=None, help="use this raw .h264 clip instead of encoding one")
    p.add_argument("--plain-mp4-reference", action="store_true",
                   help="the reference writes plain MP4 instead of the appliance's fragmented MP4")  # fmt: skip
    args = p.parse_args()
    if args.cameras < 1 or args.seconds < 5:
        p.error("--cameras must be positive and --seconds at least 5")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="bench %(levelname)s %(message)s")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    print(json.dumps(run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
