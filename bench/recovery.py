"""Benchmark: how fast WardCam's recorder recovers from a hung camera, a lost camera and its own SIGKILL.

    .venv/bin/python bench/recovery.py --cameras 4

The real appliance (`python -m appliance serve`, SQLite in a fresh data directory, the default 10 s
segments and 15 s stall watchdog) records N cameras served by appliance/demo/rtsp_server.py --clip (one
pre-encoded 720p ~2 Mbit/s clip, looped, no live encoding). Cameras are added through /api/cameras.
The phases run in this order, each on recorders that have not failed before (the backoff grows
with failures and only resets after a healthy minute, so the order matters):

1. stall_detect_s: the camera server is hung with SIGSTOP. For each camera, the time from the SIGSTOP
   until the appliance has started a new recording ffmpeg for it (a new process whose argv has the
   camera's URL, seen with psutil): the old one killed by the watchdog or given up by ffmpeg itself,
   plus the backoff wait. Worst camera. Then SIGCONT.
2. kill9_lost_s: once every camera has closed a segment since the SIGCONT, the appliance is killed with
   SIGKILL at wall time T_kill = the newest indexed segment end + `--kill-offset` (default 5.75 s). A
   segment ends where a keyframe arrived and the clip has one every 2 s, so by default the kill comes
   about 0.25 s before a keyframe: the worst moment for fragments that end at keyframes.
   `--kill group` (the default, the worst case) kills it and every process it started at once (its
   ffmpegs die mid-fragment, as with `systemctl kill -s KILL`); `--kill main` kills only its Python
   process (its ffmpegs then get SIGTERM from PR_SET_PDEATHSIG and close their segment).
   Per camera, with E = the indexed end of its newest segment in the database right after the kill
   (segments of one run follow each other without a gap), the video received since then is T_kill - E.
   After the restart has recovered the disk, the part of it that is kept is the duration of the rows
   indexed for the files that were on disk at the kill but not in the database, counted only if the
   whole file decodes without an error (ffmpeg) and the row is indexed before T_kill (a row placed
   later in the timeline is footage nobody will find at its time). lost = T_kill - E - kept, plus any row of before the
   kill that the restart dropped. Worst camera.
3. restart_to_recording_s: the appliance is started again at wall time T_restart (just before it is
   spawned). For each camera, the real start of its first segment of the new run (the first row whose
   file was not on disk at the kill) minus T_restart. Worst camera.
4. resume_after_return_s: the camera server is killed with SIGKILL, and after `--outage` s (20) started
   again on the same port at wall time T_back (its READY line). For each camera, the real start of the
   first segment recorded after T_back minus T_back. Worst camera.

"Records again" is therefore the real wall-clock start of the first recorded frame, as the index stores
it: a segment's end is the file's mtime when its last fragment was written, its start that minus its
duration read from the file (so within a few tenths of a second). The status API says "recording" only
at ffmpeg's first progress report, up to 3 s later; those times are logged on stderr beside the keys.

Prints ONE JSON object on stdout; everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appliance.demo.cameras import BlockingSyntheticCameras  # noqa: E402
from appliance.net import free_port  # noqa: E402
from bench.recording import ClipServerOptions, encode_clip  # noqa: E402

log = logging.getLogger("bench.recovery")

PASSWORD = "bench-recovery-password"
HEALTH_TIMEOUT_S = 60.0
PHASE_TIMEOUT_S = 90.0
POLL_S = 0.1
MTIME_SLACK_S = 1.0  # an index time is a file's mtime: a recovered segment cannot end later than the kill plus this


# ---------------------------------------------------------------- the appliance


@dataclass
class Appliance:
    """One `python -m appliance serve` process in its own process group."""

    data_dir: Path
    port: int
    proc: subprocess.Popen[bytes]
    spawned_at: float  # wall time just before the spawn

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def child_env() -> dict[str, str]:
    """Return the appliance's environment: SQLite in its data directory, whatever this shell has set."""
    drop = ("DATABASE_URL", "WARDCAM_", "PYTEST_", "NICEGUI_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def start_appliance(data_dir: Path, log_path: Path) -> Appliance:
    """Spawn the appliance and wait until /healthz answers."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        spawned_at = time.time()
        proc = subprocess.Popen(
            [sys.executable, "-m", "appliance", "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1",
             "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=child_env(), cwd=ROOT,
            start_new_session=True,
        )  # fmt: skip
    app = Appliance(data_dir, port, proc, spawned_at)
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the appliance exited with {proc.returncode}; see {log_path}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{app.url}/healthz", timeout=1).status_code == 200:
                log.info("appliance up %.2f s after its spawn (pid %d)", time.time() - spawned_at, proc.pid)
                return app
        time.sleep(0.2)
    raise RuntimeError(f"the appliance did not answer /healthz within {HEALTH_TIMEOUT_S:.0f} s; see {log_path}")


def add_admin(data_dir: Path) -> None:
    """Create the bench's admin with the CLI."""
    subprocess.run(
        [sys.executable, "-m", "appliance", "user", "add", "bench", "--role", "admin", "--password-stdin",
         "--data-dir", str(data_dir)],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True, env=child_env(), cwd=ROOT,
    )  # fmt: skip


def login(app: Appliance) -> httpx.Client:
    """Return an HTTP client with the admin's session."""
    client = httpx.Client(base_url=app.url, timeout=20)
    response = client.post("/api/auth/login", json={"username": "bench", "password": PASSWORD})
    response.raise_for_status()
    return client


def stop_appliance(app: Appliance) -> None:
    """Stop the appliance gracefully (SIGINT), then for good."""
    if app.proc.poll() is None:
        app.proc.send_signal(signal.SIGINT)
        try:
            app.proc.wait(30)
        except subprocess.TimeoutExpired:
            log.warning("the appliance ignored SIGINT; killing its process group")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(app.proc.pid, signal.SIGKILL)
            app.proc.wait()


def recording_ffmpegs(app: Appliance, urls: dict[int, str]) -> dict[int, int]:
    """Return the pid of each camera's recording ffmpeg, by camera id."""
    found: dict[int, int] = {}
    by_url = {url: camera_id for camera_id, url in urls.items()}
    with contextlib.suppress(psutil.NoSuchProcess):
        for child in psutil.Process(app.proc.pid).children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                argv = child.cmdline()
                if argv and argv[0].endswith("ffmpeg") and "segment" in argv:
                    for arg in argv:
                        if arg in by_url:
                            found[by_url[arg]] = child.pid
    return found


def states(client: httpx.Client, camera_ids: list[int]) -> dict[int, tuple[str, float]]:
    """Return each camera's recording state from /api/cameras/{id}/status, with when it entered it."""
    found = {}
    for camera_id in camera_ids:
        status = client.get(f"/api/cameras/{camera_id}/status").json()
        found[camera_id] = (status.get("state", "?"), datetime.fromisoformat(status["since"]).timestamp())
    return found


# ---------------------------------------------------------------- the index


@dataclass(frozen=True)
class Row:
    """One indexed segment."""

    camera_id: int
    path: str
    start: float  # epoch s
    end: float
    duration_s: float


def rows(db: Path) -> list[Row]:
    """Return every indexed segment, oldest first."""
    for attempt in range(20):
        try:
            with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
                found = conn.execute('SELECT camera_id, path, start, "end", duration_s FROM segment ORDER BY start')
                return [
                    Row(c, p, datetime.fromisoformat(str(s)).timestamp(), datetime.fromisoformat(str(e)).timestamp(),
                        float(d))
                    for c, p, s, e, d in found
                ]  # fmt: skip
        except sqlite3.OperationalError as exc:  # the database is created or migrated just now
            log.debug("reading the index: %s (attempt %d)", exc, attempt)
            time.sleep(0.5)
    raise RuntimeError(f"cannot read {db}")


def on_disk(recordings: Path) -> set[str]:
    """Return the segment files under the recordings folder, relative to it."""
    return {str(p.relative_to(recordings)) for p in recordings.glob("*/*/*.mp4")}


def decodes(path: Path) -> bool:
    """Say whether ffmpeg decodes the whole file without an error."""
    result = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-f", "null", "-"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    if result.returncode != 0 or result.stderr.strip():
        log.warning("%s does not decode cleanly: %s", path.name, result.stderr.strip()[-300:])
        return False
    return True


def in_place(row: Row, killed_at: float) -> bool:
    """Say whether a recovered segment is indexed where it was filmed: before the kill, not later."""
    if row.end > killed_at + MTIME_SLACK_S:
        log.warning("%s is indexed at %.1f..%.1f s after the kill, when nothing was recorded: not counted as kept",
                    row.path, row.start - killed_at, row.end - killed_at)  # fmt: skip
        return False
    return True


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = PHASE_TIMEOUT_S) -> None:
    """Poll a check until it holds."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout_s:.0f} s")
        time.sleep(POLL_S)


def first_new_starts(db: Path, camera_ids: list[int], known: set[str]) -> dict[int, float]:
    """Wait for each camera's first segment whose file is not in `known`; return their real starts."""
    firsts: dict[int, float] = {}

    def all_there() -> bool:
        for row in rows(db):
            if row.path not in known and row.camera_id not in firsts:
                firsts[row.camera_id] = row.start
        return all(i in firsts for i in camera_ids)

    wait_for(all_there, "a new segment of every camera")
    return firsts


def state_times(client: httpx.Client, camera_ids: list[int], since: float) -> dict[int, float]:
    """Wait until every camera's status says recording; return when each started to, after `since`."""
    seen: dict[int, float] = {}

    def all_recording() -> bool:
        for camera_id, (state, entered) in states(client, [i for i in camera_ids if i not in seen]).items():
            if state == "recording" and entered >= since:
                seen[camera_id] = entered - since
        return len(seen) == len(camera_ids)

    wait_for(all_recording, "every camera recording (status API)")
    return seen


# ---------------------------------------------------------------- the phases


def stall_phase(app: Appliance, server: BlockingSyntheticCameras, urls: dict[int, str]) -> float:
    """Hang the camera server; return the worst time until a camera's ffmpeg is replaced."""
    before = recording_ffmpegs(app, urls)
    if sorted(before) != sorted(urls):
        raise RuntimeError(f"not every camera has a recording ffmpeg: {before}")
    replaced: dict[int, float] = {}
    gone: dict[int, float] = {}
    stopped = time.monotonic()
    os.kill(server.pid, signal.SIGSTOP)
    log.info("camera server hung (SIGSTOP)")
    try:

        def all_replaced() -> bool:
            now = recording_ffmpegs(app, urls)
            elapsed = time.monotonic() - stopped
            for camera_id, pid in before.items():
                if now.get(camera_id) != pid and camera_id not in gone:
                    gone[camera_id] = elapsed
                if camera_id in now and now[camera_id] != pid and camera_id not in replaced:
                    replaced[camera_id] = elapsed
            return len(replaced) == len(before)

        wait_for(all_replaced, "every hung camera's ffmpeg replaced", 60)
    finally:
        os.kill(server.pid, signal.SIGCONT)
        log.info("camera server resumed (SIGCONT)")
    for camera_id in sorted(urls):
        log.info("camera %d: hung ffmpeg gone after %.2f s, a new one started after %.2f s", camera_id,
                 gone[camera_id], replaced[camera_id])  # fmt: skip
    return max(replaced.values())


def kill_phase(app: Appliance, urls: dict[int, str], resumed_at: float, kill_offset: float, group: bool,
               log_path: Path) -> tuple[float, float, Appliance]:  # fmt: skip
    """SIGKILL the appliance mid-segment and restart it; return (worst lost s, worst restart s, new appliance)."""
    db = app.data_dir / "wardcam.db"
    recordings = app.data_dir / "recordings"
    camera_ids = sorted(urls)

    def each_closed_one_since_resume() -> bool:
        return {r.camera_id for r in rows(db) if r.start > resumed_at} >= set(camera_ids)

    wait_for(each_closed_one_since_resume, "a segment of every camera since SIGCONT")
    # a segment ends where a keyframe arrived; the clip has one every 2 s: kill at the chosen phase
    kill_at = max(r.end for r in rows(db)) + kill_offset
    time.sleep(max(0.0, kill_at - time.time()))
    children = psutil.Process(app.proc.pid).children(recursive=True)
    killed_at = time.time()
    if group:
        os.killpg(app.proc.pid, signal.SIGKILL)
    else:
        os.kill(app.proc.pid, signal.SIGKILL)
    app.proc.wait(10)
    gone, alive = psutil.wait_procs(children, timeout=15)
    if alive:
        raise RuntimeError(f"children left after the kill: {alive}")
    log.info("appliance killed with SIGKILL (%s); %d child processes ended", "group" if group else "main only",
             len(gone))  # fmt: skip

    before = rows(db)
    files = on_disk(recordings)
    newest_end = {i: max(r.end for r in before if r.camera_id == i) for i in camera_ids}
    unindexed = files - {r.path for r in before}
    log.info("at the kill: %d rows, %d files on disk of which %d not indexed", len(before), len(files),
             len(unindexed))  # fmt: skip

    again = start_appliance(app.data_dir, log_path)
    firsts = first_new_starts(db, camera_ids, files)
    after = rows(db)
    after_paths = {r.path for r in after}
    lost: dict[int, float] = {}
    for camera_id in camera_ids:
        kept = [r for r in after if r.camera_id == camera_id and r.path in unindexed]
        playable = sum(r.duration_s for r in kept if in_place(r, killed_at) and decodes(recordings / r.path))
        dropped = sum(r.duration_s for r in before if r.camera_id == camera_id and r.path not in after_paths)
        received = killed_at - newest_end[camera_id]
        lost[camera_id] = max(0.0, received - playable + dropped)
        for r in kept:
            log.info("camera %d: recovered %s, %.2f s, indexed %.2f..%.2f s relative to the kill", camera_id, r.path,
                     r.duration_s, r.start - killed_at, r.end - killed_at)  # fmt: skip
        log.info("camera %d: %.2f s received since its last indexed segment, %.2f s kept, %.2f s dropped: "
                 "lost %.2f s", camera_id, received, playable, dropped, received - playable + dropped)  # fmt: skip
    restart = {i: firsts[i] - again.spawned_at for i in camera_ids}
    for camera_id in camera_ids:
        log.info("camera %d: first frame of the new run %.2f s after the restart", camera_id, restart[camera_id])
    with contextlib.closing(login(again)) as client:
        api = state_times(client, camera_ids, again.spawned_at)
    log.info("status API: recording %.2f s after the restart (worst camera)", max(api.values()))
    return max(lost.values()), max(restart.values()), again


def outage_phase(app: Appliance, server: BlockingSyntheticCameras, options: ClipServerOptions, urls: dict[int, str],
                 outage_s: float) -> tuple[float, BlockingSyntheticCameras]:  # fmt: skip
    """Kill the camera server, start it again on its port after the outage; return the worst resume time."""
    db = app.data_dir / "wardcam.db"
    camera_ids = sorted(urls)
    port = server.port
    os.kill(server.pid, signal.SIGKILL)
    server.stop()  # reaps it
    log.info("camera server killed; back in %.0f s on port %d", outage_s, port)
    time.sleep(outage_s)
    back = BlockingSyntheticCameras(replace(options, port=port))
    back.start()
    back_at = time.time()
    known = on_disk(app.data_dir / "recordings")
    with contextlib.closing(login(app)) as client:
        api = state_times(client, camera_ids, back_at)
    firsts = first_new_starts(db, camera_ids, known)
    resume = {i: firsts[i] - back_at for i in camera_ids}
    for camera_id in camera_ids:
        log.info("camera %d: first frame %.2f s after the camera server's return; status API recording after "
                 "%.2f s", camera_id, resume[camera_id], api[camera_id])  # fmt: skip
    return max(resume.values()), back


# ---------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the phases and return the figures."""
    with tempfile.TemporaryDirectory(prefix="wardcam-bench-recovery-") as tmp:
        work = Path(args.work_dir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        clip = Path(args.clip) if args.clip else work / "clip.h264"
        if not args.clip:
            encode_clip(clip, args.fps, args.kbps)
        options = ClipServerOptions(cameras=args.cameras, width=1280, height=720, fps=args.fps, clip=str(clip))
        server = BlockingSyntheticCameras(options)
        server.start()
        data_dir = work / "data"
        log_path = work / "appliance.log"
        apps: list[Appliance] = []
        try:
            app = start_appliance(data_dir, log_path)
            apps.append(app)
            add_admin(data_dir)
            urls: dict[int, str] = {}
            with contextlib.closing(login(app)) as client:
                for n, url in enumerate(server.urls, 1):
                    created = client.post("/api/cameras", json={"name": f"bench {n}", "main_url": url})
                    created.raise_for_status()
                    urls[created.json()["id"]] = url
            camera_ids = sorted(urls)
            db = data_dir / "wardcam.db"
            wait_for(lambda: {r.camera_id for r in rows(db)} >= set(camera_ids), "a first segment of every camera")
            log.info("every camera recorded a first segment")

            stall = stall_phase(app, server, urls)
            resumed_at = time.time()
            with contextlib.closing(login(app)) as client:
                state_times(client, camera_ids, resumed_at)
            lost, restart, app = kill_phase(app, urls, resumed_at, args.kill_offset, args.kill == "group", log_path)
            apps.append(app)
            resume, server = outage_phase(app, server, options, urls, args.outage)
            return {
                "resume_after_return_s": round(resume, 2),
                "stall_detect_s": round(stall, 2),
                "kill9_lost_s": round(lost, 2),
                "restart_to_recording_s": round(restart, 2),
            }
        except Exception:
            log.error("appliance log tail:\n%s", log_path.read_text(errors="replace")[-4000:] if log_path.exists()
                      else "(none)")  # fmt: skip
            raise
        finally:
            for app in apps:
                stop_appliance(app)
            with contextlib.suppress(ProcessLookupError, RuntimeError):
                os.kill(server.pid, signal.SIGCONT)
            server.stop()


def main() -> int:
    """Parse the command line, run, print the JSON object."""
    p = argparse.ArgumentParser(description="Measure how fast WardCam's recorder recovers from failures.")
    p.add_argument("--cameras", type=int, default=4)
    p.add_argument("--fps", type=int, default=15)
    p.add_argument("--kbps", type=int, default=2000, help="bit rate of the encoded clip")
    p.add_argument("--clip", default=None, help="use this raw .h264 clip instead of encoding one")
    p.add_argument("--work-dir", default=None, help="keep the clip, data and appliance log here (default: a temp dir)")
    p.add_argument("--outage", type=float, default=20.0, help="seconds the camera server stays dead")
    p.add_argument(
        "--kill-offset",
        type=float,
        default=5.75,
        help="SIGKILL this long after the newest segment end (default: 0.25 s before a keyframe)",
    )
    p.add_argument("--kill", choices=["group", "main"], default="group",
                   help="SIGKILL the appliance and its ffmpegs (group) or only its Python process (main)")  # fmt: skip
    args = p.parse_args()
    if args.cameras < 1:
        p.error("--cameras must be positive")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="bench %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    print(json.dumps(run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
