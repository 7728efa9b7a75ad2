"""Benchmark: what the dashboard's live grid costs the appliance, and how soon it paints.

    .venv/bin/python bench/grid.py --cameras 62 --pages 3 --seconds 30

1. Encode one sub-stream-sized clip once (640x360, H.264, no B-frames, a keyframe every second, raw
   Annex-B) and serve it looped from appliance/demo/rtsp_server.py --clip, so that the camera server
   encodes nothing while we measure. Each camera's main and sub stream are the same mount (the sub
   stream's URL has ?stream=sub), so that the server runs one pipeline a camera: the main stream is only
   recorded, which the baseline holds.
2. Run the appliance as a real process (`python -m appliance serve`), add N cameras (two a site) over
   the API, and wait until every camera records.
3. Measure the CPU of the appliance and all its child processes (the recording ffmpegs, and the live
   view's) for --seconds with no page open: the baseline.
4. Open --pages Chromium pages on the dashboard at 1920x1080, switch them to wall mode so that every
   tile is on screen, wait until every tile shows a frame, let it settle, and measure again for the
   same time. grid_cpu_pct is the difference, in % of one core.
5. first_paint_s: the median of FIRST_VISITS (5) first visits of the dashboard, each in a new browser
   context (an empty cache, as a browser's first visit has), made before the pages of step 4 open, with
   the 62 cameras recording: from the start of navigation until the first paint with every tile laid
   out (the later of the browser's first contentful paint and the frame in which the last tile got its
   size). Each visit's figure is in the details (first_paint_each_s); the first of them is also the
   browser's very first page, just launched. A single load on this virtual machine varies by a factor
   of two (0.98 to 1.97 s measured in a row), so one sample says little.
   Before 2026-11-29 (session 8) first_paint_s was the first visit alone. Since session 9 it is measured
   from inside the page (LAID_OUT_JS) and Playwright is asked nothing until the page has loaded: its
   first evaluation used to inject its own script during the load, 160 ms of the page's main thread.
   --timing logs each visit's files and long tasks.
tile_presented_fps counts what the compositor got: each tile video's requestVideoFrameCallback
   presentedFrames, read once before and once after the measurement (nothing runs per picture).

Prints ONE JSON object on stdout with exactly the keys issue 5 gives: {"grid_cpu_pct", "first_paint_s"}.
Everything else (the details below, and whether the targets are met) goes to stderr with the logs, as
one "details: {...}" line. The camera server's CPU is measured apart (rtsp_server_cpu_pct in the
details); Chromium's is not counted (it is the screen, not the appliance).

tile_fps says how many pictures a second each tile really showed (the videos' own playback figures,
read from the pages), tile_received_fps how many came, each over the time between its two counts (the
page's clock; before session 9 over the measurement's 30 s alone, though the counts spanned the reads
around it too, which overstated both); "ok" needs tile_fps at least TILE_FPS_MIN
besides the two targets, as the issue measures the grid "at about 1 fps". browser_cpu_pct is the
pages' Chromium (not part of grid_cpu_pct), steal_pct the CPU time a virtual machine's host gave to
others meanwhile. --trace logs where the first page's time goes: Chromium's trace events and its
JavaScript profile, by self time. Each page's playback (pictures decoded and dropped, videos waiting,
lag, jumps) is logged.
Chromium decodes the keyframes (about 5 ms each here), so on a 2-core machine that also runs the 62
cameras' server and the appliance, three pages fall behind one picture a second: 0.14 to 0.38 shown on
the session-8 machine (with its host taking up to half a core); on the session-9 one 0.98 to 1.0
received and 0.78 to 0.95 shown (0.85 to 0.96 presented); one page shows 1.0.
grid_cpu_pct_at_1fps_estimate scales the appliance's Python share (its work per picture sent) up to
one picture a second per tile (ffmpeg's share does not depend on it). --receive-only measures it
instead: once every tile has shown a picture, the pages stop decoding and only receive, so the
appliance sends every picture to three pages that keep up; "ok" then judges the pictures received.
Sending JPEGs made on the appliance instead (every tile from a frame source 320 wide) is cheap for the
pages, but its 62 ffmpegs used 50 % of a core (0.8 % each: decoding a keyframe of this clip takes 5
ms), above the 30 % target alone (docs/architecture.md, the grid).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import statistics
import subprocess
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
from bench.recording import ClipServerOptions, Group  # noqa: E402
from tests.harness.appliance import RunningAppliance, start_appliance  # noqa: E402

log = logging.getLogger("bench.grid")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]  # fmt: skip
VIEWPORT = {"width": 1920, "height": 1080}
RECORDING_TIMEOUT_S = 180.0
FRAMES_TIMEOUT_S = 60.0
SETTLE_S = 10.0
FIRST_VISITS = 5  # first_paint_s is their median
FIRST_VISIT_PAUSE_S = 2.0
GOTO_TIMEOUT_S = 90.0  # a page opened while the grid's ffmpegs start on a loaded machine can take a while
TARGETS = {"grid_cpu_pct": 30.0, "first_paint_s": 2.0}
TILE_FPS_MIN = 0.9  # "about 1 fps": the clip has a keyframe a second
OUTPUT_KEYS = tuple(TARGETS)  # what stdout carries, as the issue names them


def encode_clip(path: Path, fps: int, kbps: int, seconds: int = 20) -> None:
    """Encode the sub-stream clip once: 640x360, libx264, no B-frames, a keyframe every second, Annex-B."""
    argv = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate={fps},noise=alls=8:allf=t",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
        "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{kbps}k",
        "-bf", "0", "-g", str(fps), "-keyint_min", str(fps), "-sc_threshold", "0",
        "-x264-params", "repeat-headers=1", "-an", "-f", "h264", str(path),
    ]  # fmt: skip
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
    log.info("clip encoded: %s, %.0f kbit/s", path, path.stat().st_size * 8 / seconds / 1000)


def measure(group: Group, seconds: float) -> tuple[float, float]:
    """Return the group's CPU use over `seconds`, and its Python process's own, in % of one core."""
    own0, reaped0, live0 = group.cpu()
    started = time.monotonic()
    time.sleep(seconds)
    own1, reaped1, live1 = group.cpu()
    wall = time.monotonic() - started
    return 100.0 * (own1 + reaped1 + live1 - own0 - reaped0 - live0) / wall, 100.0 * (own1 - own0) / wall


def live_ffmpegs(pid: int) -> dict[str, int]:
    """Count the appliance's grid ffmpegs: keyframe relays, and frame sources (JPEG)."""
    count = {"keyframe_relays": 0, "frame_sources": 0}
    for child in psutil.Process(pid).children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            cmdline = child.cmdline()
            if child.name() == "ffmpeg" and "noise=drop=not(key)" in cmdline:
                count["keyframe_relays"] += 1
            elif child.name() == "ffmpeg" and "nokey" in cmdline:
                count["frame_sources"] += 1
    return count


def set_up(server: RunningAppliance, urls: list[str]) -> None:
    """Add an admin and the cameras (main and sub stream each), two a site; wait until every camera records."""
    server.add_user("owner", "admin")
    pairs = [(url, f"{url}?stream=sub") for url in urls]
    with closing(server.login("owner")) as admin:
        site_ids: list[int] = []
        for index, (main, sub) in enumerate(pairs):
            if index % 2 == 0:
                response = admin.post("/api/sites", json={"name": f"Điểm {index // 2 + 1:02d}"})
                site_ids.append(response.json()["id"])
            body = {"name": f"Camera {index + 1:02d}", "main_url": main, "sub_url": sub, "site_id": site_ids[-1]}
            admin.post("/api/cameras", json=body).raise_for_status()
        urls = [main for main, _ in pairs]
        deadline = time.monotonic() + RECORDING_TIMEOUT_S
        while True:
            states = [admin.get(f"/api/cameras/{i}/status").json()["state"] for i in range(1, len(urls) + 1)]
            recording = states.count("recording")
            if recording == len(urls):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {recording} of {len(urls)} cameras record after {RECORDING_TIMEOUT_S} s")
            time.sleep(2)
    log.info("all %d cameras record", len(urls))


# Run in the page from its start: the time of the first frame in which every tile has its size. A
# requestAnimationFrame callback runs just before that frame is painted.
LAID_OUT_JS = """(() => {
    const check = () => {
        const tiles = document.querySelectorAll('[data-live-tile]');
        if (tiles.length === CAMERAS && tiles[CAMERAS - 1].getBoundingClientRect().width > 0) {
            window.__laidOut = performance.now();
        } else {
            requestAnimationFrame(check);
        }
    };
    requestAnimationFrame(check);
})();"""

LONG_TASKS_JS = """window.__longTasks = [];
new PerformanceObserver(list => window.__longTasks.push(...list.getEntries().map(
    e => [Math.round(e.startTime), Math.round(e.duration)]))).observe({type: 'longtask', buffered: true});"""

VISIT_TIMING_JS = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const ms = x => Math.round(x);
    return {
        html: [ms(nav.requestStart), ms(nav.responseStart), ms(nav.responseEnd), nav.encodedBodySize],
        dom_interactive: ms(nav.domInteractive),
        dom_content_loaded: ms(nav.domContentLoadedEventEnd),
        resources: performance.getEntriesByType('resource').map(r => [
            r.name.replace(location.origin, '').split('?')[0], ms(r.startTime), ms(r.responseStart),
            ms(r.responseEnd), r.encodedBodySize]),
        long_tasks: window.__longTasks || [],
    };
}"""


async def first_paint_of(page: Any, url: str, cameras: int, timing: bool = False) -> tuple[float, float]:
    """Load the dashboard; return (first paint with every tile laid out, first contentful paint), in s.

    The first paint that has the tiles in it is the later of the browser's first contentful paint and
    the frame in which the last tile got its size, both from the start of navigation. With `timing`,
    log where the load's time went: the page's HTML, each file it fetched (start, first byte, end, size),
    and the main thread's long tasks, all in ms from the start of navigation.
    """
    await page.add_init_script(LAID_OUT_JS.replace("CAMERAS", str(cameras)))
    if timing:
        await page.add_init_script(LONG_TASKS_JS)
    # nothing of Playwright's runs in the page until it has loaded: its first evaluation injects a script
    # that took the page's main thread 160 ms (Chromium's trace), in the middle of the load being measured
    await page.goto(url, wait_until="load", timeout=GOTO_TIMEOUT_S * 1000)
    laid_out_s = float(await (await page.wait_for_function("window.__laidOut", timeout=30_000)).json_value()) / 1000
    fcp = float(
        await page.evaluate(
            """new Promise(resolve => new PerformanceObserver(list => {
                const entry = list.getEntries().find(e => e.name === 'first-contentful-paint');
                if (entry) resolve(entry.startTime);
            }).observe({type: 'paint', buffered: true}))"""
        )
    ) / 1000  # fmt: skip
    if timing:
        log.info("first visit's timing (ms): %s", json.dumps(await page.evaluate(VISIT_TIMING_JS)))
    return max(laid_out_s, fcp), fcp


async def new_page(browser: Any, server: RunningAppliance, cookie: str) -> Any:
    """Open a page in a context of its own: its own empty HTTP cache, as a browser's first visit has."""
    context = await browser.new_context(viewport=VIEWPORT, locale="vi-VN")
    await context.add_cookies([{"name": "wardcam_session", "value": cookie, "url": server.url}])
    return await context.new_page()


async def open_pages(
    server: RunningAppliance, count: int, cameras: int, loads: int, pw: Any, timing: bool = False
) -> tuple[list[Any], list[tuple[float, float]]]:
    """Measure `loads` first visits of the dashboard, then open `count` wall-mode dashboards and keep them.

    Returns the pages and each first visit's (first paint, first contentful paint). Every visit is in a
    new context (an empty cache, nothing of the visit before); the browser was launched just before the
    first one, whose figure is therefore also a browser's very first page.
    """
    with closing(server.login("owner")) as client:
        cookie = str(client.cookies["wardcam_session"])
    browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    paints = []
    for _ in range(loads):
        page = await new_page(browser, server, cookie)
        paints.append(await first_paint_of(page, server.url + "/", cameras, timing))
        await page.context.close()
        await asyncio.sleep(FIRST_VISIT_PAUSE_S)
    log.info("first visits: first paint %s s (first contentful paint %s s)",
             [round(p, 2) for p, _ in paints], [round(f, 2) for _, f in paints])  # fmt: skip
    pages = []
    for _ in range(count):
        page = await new_page(browser, server, cookie)
        await page.goto(server.url + "/", timeout=GOTO_TIMEOUT_S * 1000)
        await page.wait_for_function("window.did_handshake === true")
        await page.locator("[data-wall-mode]").click()  # every tile on screen
        pages.append(page)
    started = time.monotonic()
    for page in pages:
        await page.wait_for_function(
            f"document.querySelectorAll('[data-live-tile] .wardcam-shown').length === {cameras}",
            timeout=FRAMES_TIMEOUT_S * 1000,
        )
    log.info("every tile of every page shows a frame after %.1f s more", time.monotonic() - started)
    return pages, paints


PLAYBACK_STATE_JS = """() => {
    const videos = [...document.querySelectorAll('[data-live-tile] video')];
    const state = {videos: videos.length, decoded: 0, dropped: 0, paused: 0, waiting: 0, lag_s: 0,
                   jumps: WardCamGrid.jumps};
    for (const video of videos) {
        const quality = video.getVideoPlaybackQuality();
        state.decoded += quality.totalVideoFrames;
        state.dropped += quality.droppedVideoFrames;
        state.paused += video.paused ? 1 : 0;
        state.waiting += video.readyState < 3 ? 1 : 0;
        const ranges = video.buffered;
        if (ranges.length) state.lag_s += (ranges.end(ranges.length - 1) - video.currentTime) / videos.length;
    }
    return state;
}"""


# One requestVideoFrameCallback a video, at the start and at the end of the measurement only: each tells
# how many frames its video has handed to the compositor (presentedFrames), and when. Nothing runs per
# picture in between. A video that presents nothing within 5 s answers null.
PRESENTED_JS = """() => Promise.all([...document.querySelectorAll('[data-live-tile] video')].map(
    video => new Promise(done => {
        const timer = setTimeout(() => done(null), 5000);
        video.requestVideoFrameCallback((now, meta) => {
            clearTimeout(timer);
            done([meta.presentedFrames, now]);
        });
    })))"""


async def presented(pages: list[Any]) -> list[list[tuple[int, float] | None]]:
    """Return, for each page and each of its tile videos, (frames presented so far, when in ms), or None."""
    return [
        [None if v is None else (int(v[0]), float(v[1])) for v in await page.evaluate(PRESENTED_JS)] for page in pages
    ]


def presented_fps(before: list[list[tuple[int, float] | None]], after: list[list[tuple[int, float] | None]]) -> float:
    """Return the pictures each tile video presented a second, on average over every tile of every page.

    A video with no answer at either end counts as having presented nothing.
    """
    rates = []
    for page_before, page_after in zip(before, after, strict=True):
        for a, b in zip(page_before, page_after, strict=True):
            rates.append((b[0] - a[0]) / ((b[1] - a[1]) / 1000) if a and b and b[1] > a[1] else 0.0)
    return statistics.fmean(rates) if rates else 0.0


async def playback_state(page: Any) -> dict[str, Any]:
    """Return how a page's tile videos play: frames decoded and dropped, paused, waiting, lag, jumps."""
    return dict(await page.evaluate(PLAYBACK_STATE_JS))


async def frames_counted(pages: list[Any], what: str = "frames") -> list[tuple[int, float]]:
    """Return how many pictures each page has shown (frames) or received (received) so far, and when (ms)."""
    counts = []
    for page in pages:
        count, ms = await page.evaluate(f"[WardCamGrid.{what}, performance.now()]")
        counts.append((int(count), float(ms)))
    return counts


def per_tile_rates(before: list[tuple[int, float]], after: list[tuple[int, float]], cameras: int) -> list[float]:
    """Return each page's pictures a second per tile between two counts, over the time between them."""
    return [(b[0] - a[0]) / ((b[1] - a[1]) / 1000) / cameras for a, b in zip(before, after, strict=True)]


def trace_summary(trace: bytes, top: int = 25) -> list[tuple[str, float]]:
    """Return the Chromium trace's heaviest event names by self time (ms), over every thread."""
    events = [e for e in json.loads(trace)["traceEvents"] if e.get("ph") == "X" and "dur" in e]
    self_ms: dict[str, float] = {}
    by_thread: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for event in events:
        by_thread.setdefault((event["pid"], event["tid"]), []).append(event)
    for thread in by_thread.values():
        thread.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack: list[dict[str, Any]] = []
        for event in thread:
            while stack and event["ts"] >= stack[-1]["ts"] + stack[-1]["dur"]:
                stack.pop()
            if stack:
                stack[-1]["_children"] = stack[-1].get("_children", 0) + event["dur"]
            stack.append(event)
        for event in thread:
            name = event["name"]
            self_ms[name] = self_ms.get(name, 0.0) + (event["dur"] - event.get("_children", 0)) / 1000
    return sorted(self_ms.items(), key=lambda item: -item[1])[:top]


def profile_summary(profile: dict[str, Any], top: int = 20) -> list[tuple[str, float]]:
    """Return a CPU profile's heaviest functions by self time (ms)."""
    interval_ms = (profile["endTime"] - profile["startTime"]) / 1000 / max(1, len(profile["samples"]))
    self_ms: dict[str, float] = {}
    for node in profile["nodes"]:
        frame = node["callFrame"]
        name = f"{frame['functionName'] or '(anonymous)'} {frame['url'].rsplit('/', 1)[-1]}:{frame['lineNumber'] + 1}"
        self_ms[name] = self_ms.get(name, 0.0) + node.get("hitCount", 0) * interval_ms
    return sorted(self_ms.items(), key=lambda item: -item[1])[:top]


def steal_s() -> float:
    """Return the CPU seconds the hypervisor has taken from this machine so far (all cores; 0 on bare metal)."""
    return float(getattr(psutil.cpu_times(), "steal", 0.0))


def browser_cpu_s() -> float:
    """Return the CPU seconds used so far by the Chromium processes this benchmark started."""
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "chrom" in child.name():
                times = child.cpu_times()
                total += times.user + times.system
    return total


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark and return its figures: the issue's keys and the details."""
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory(prefix="wardcam-grid-") as tmp:
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
            await asyncio.sleep(SETTLE_S)
            baseline, baseline_own = await asyncio.to_thread(measure, appliance, args.seconds)
            log.info("no page open: %.1f%% of a core (the recording of %d cameras; %.1f%% in Python)", baseline,
                     args.cameras, baseline_own)  # fmt: skip

            async with async_playwright() as pw:
                pages, paints = await open_pages(server, args.pages, args.cameras, args.first_visits, pw, args.timing)
                first_paint = statistics.median(p for p, _ in paints)
                fcp = statistics.median(f for _, f in paints)
                await asyncio.sleep(SETTLE_S)
                sources = live_ffmpegs(server.process.pid)
                if args.receive_only:  # every tile has shown a picture; from now on the pages only receive
                    for page in pages:
                        await page.evaluate("WardCamGrid.showing = false")
                    await asyncio.sleep(SETTLE_S)
                counted = await frames_counted(pages)
                came = await frames_counted(pages, "received")
                presented_before = await presented(pages)
                if args.trace:  # where the first page's time goes (Chromium's own trace, and its JavaScript)
                    cdp = await pages[0].context.new_cdp_session(pages[0])
                    await cdp.send("Profiler.enable")
                    await cdp.send("Profiler.start")
                    await pages[0].context.browser.start_tracing(
                        page=pages[0], categories=["devtools.timeline", "disabled-by-default-devtools.timeline"]
                    )
                browser_before = browser_cpu_s()
                steal_before = steal_s()
                server_before = sum(camera_server.cpu_times()[:2])
                started = time.monotonic()
                watched, watched_own = await asyncio.to_thread(measure, appliance, args.seconds)
                wall = time.monotonic() - started
                server_pct = 100.0 * (sum(camera_server.cpu_times()[:2]) - server_before) / wall
                browser_pct = 100.0 * (browser_cpu_s() - browser_before) / wall
                # on a virtual machine, CPU time the host gave to others: the pages fall behind for it too
                steal_pct = 100.0 * (steal_s() - steal_before) / wall
                if args.trace:
                    summary = trace_summary(await pages[0].context.browser.stop_tracing())
                    log.info("first page's trace over %.0f s, self time by event (ms): %s", wall, summary)
                    profile = (await cdp.send("Profiler.stop"))["profile"]
                    log.info("first page's JavaScript, self time by function (ms): %s", profile_summary(profile))
                for index, page in enumerate(pages):
                    log.info("page %d playback: %s", index + 1, await playback_state(page))
                counted_after = await frames_counted(pages)
                came_after = await frames_counted(pages, "received")
                presented_after = await presented(pages)
                missing = sum(v is None for page in presented_after for v in page)
                if missing:
                    log.info("%d tile videos presented no picture in the 5 s after the measurement", missing)
                # over the time between the counts (which includes the reads around the measurement)
                per_tile = per_tile_rates(counted, counted_after, args.cameras)
                received = per_tile_rates(came, came_after, args.cameras)
                log.info("%d pages open: %.1f%% of a core (%.1f%% in Python); %s; %.2f frames/s per tile",
                         args.pages, watched, watched_own, sources, statistics.fmean(per_tile))  # fmt: skip
            await asyncio.sleep(0)
            # ffmpeg's share does not depend on how fast the pages take pictures; Python's grows with it
            children = (watched - watched_own) - (baseline - baseline_own)
            python = watched_own - baseline_own
            fps = statistics.fmean(per_tile)
            sent = statistics.fmean(received)  # the appliance's Python work is per picture sent
            # what "about 1 fps" is judged on: pictures shown, or with --receive-only pictures delivered
            delivered = sent if args.receive_only else fps
            result = {
                "grid_cpu_pct": round(watched - baseline, 2),
                "first_paint_s": round(first_paint, 3),
                "first_contentful_paint_s": round(fcp, 3),
                "first_paint_each_s": [round(p, 3) for p, _ in paints],
                "cameras": args.cameras,
                "pages": args.pages,
                "seconds": args.seconds,
                "grid_python_cpu_pct": round(python, 2),
                "grid_ffmpeg_cpu_pct": round(children, 2),
                # when the pages could not take a picture a second (on a small machine that runs them, the
                # cameras and the appliance together), what the appliance would use if they could
                "grid_cpu_pct_at_1fps_estimate": round(children + python / min(1.0, max(sent, 0.01)), 2),
                "baseline_cpu_pct": round(baseline, 2),
                "with_pages_cpu_pct": round(watched, 2),
                **sources,
                "tile_fps": round(fps, 3),
                "tile_presented_fps": round(presented_fps(presented_before, presented_after), 3),
                "receive_only": args.receive_only,
                "tile_received_fps": round(sent, 3),
                "browser_cpu_pct": round(browser_pct, 1),
                "rtsp_server_cpu_pct": round(server_pct, 2),
                "steal_pct": round(steal_pct, 1),
            }
            if args.idle_check:
                await asyncio.sleep(35)  # the frame sources stop 30 s after the last page closed
                result["grid_ffmpegs_after_close"] = sum(live_ffmpegs(server.process.pid).values())
            worst = max(result["grid_cpu_pct"], result["grid_cpu_pct_at_1fps_estimate"])
            result["ok"] = (  # the figures count only with every tile at about a picture a second
                worst <= TARGETS["grid_cpu_pct"]
                and first_paint <= TARGETS["first_paint_s"]
                and delivered >= TILE_FPS_MIN
            )
            return result
        except BaseException:
            with contextlib.suppress(OSError):  # what the appliance said, before the directory goes
                log.error("appliance log, the end:\n%s", (work / "appliance.log").read_text(errors="replace")[-4000:])
            raise
        finally:
            if server is not None:
                server.stop()
            cameras.stop()


def main() -> int:
    """Parse the command line, run, print the JSON object."""
    p = argparse.ArgumentParser(description="Measure what the live grid costs the appliance.")
    p.add_argument("--cameras", type=int, default=62)
    p.add_argument("--pages", type=int, default=3)
    p.add_argument("--seconds", type=int, default=30, help="length of each CPU measurement")
    p.add_argument("--fps", type=int, default=10, help="frame rate of the sub-stream clip (a keyframe a second)")
    p.add_argument("--kbps", type=int, default=512, help="bit rate of the sub-stream clip")
    p.add_argument("--trace", action="store_true", help="log where the first page's time goes (Chromium's trace)")
    p.add_argument("--timing", action="store_true", help="log where each first visit's time goes (files, long tasks)")
    p.add_argument(
        "--receive-only",
        action="store_true",
        help="after every tile showed a picture, the pages receive the pictures without decoding them: the "
        "appliance's cost with pages that keep up ('ok' then judges tile_received_fps)",
    )
    p.add_argument("--idle-check", action="store_true", help="also check that the frame sources stop afterwards")
    p.add_argument("--first-visits", type=int, default=FIRST_VISITS, help="first visits (first_paint_s: median)")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="bench %(levelname)s %(message)s")
    result = asyncio.run(run(args))
    log.info("details: %s", json.dumps(result))
    print(json.dumps({key: result[key] for key in OUTPUT_KEYS}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
