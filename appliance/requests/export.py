"""The export job: a request's footage, camera by camera, into a signed evidence package.

Jobs wait in a queue and run one at a time. For each camera the range's segments (the playback code's plan:
the first frame is the keyframe at or before the requested start) are joined without re-encoding by
splice_export.py, in a thread of the job's own at the lowest CPU and disk priority: each segment is read
once, its fragments go into the zip in large writes, hashed on the way (one pass, no second read for the
hash). When the camera's stream changed within the range (codec, picture size, audio), one file cannot hold
it: the camera gets one file per unchanged stretch (`_part1`, `_part2` ...), each spliced the same way. The
burned-in variant is re-encoded by ffmpeg, also one file per stretch (a decoder is opened for one stream;
fed another codec it makes no picture) and one per run recorded without a gap (ffmpeg leaves gaps out, so a
drawn clock that ran on over one would fall behind: each file's clock starts at its own first frame's real
time), at the lowest priority too (`nice -n 19`, and `ionice -c 3` where present), writing fragmented MP4 to
a pipe that goes straight into the zip. Either way recording never waits for an export. Gaps in the
recording are listed in the manifest, never hidden.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import subprocess
import tempfile
import threading
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from appliance.db.models.cameras import Camera
from appliance.db.models.requests import FootageRequest
from appliance.playback.clip import ClipEmpty, plan_clip
from appliance.playback.ffmpeg import FFMPEG, Entry, concat_script
from appliance.playback.ranges import MERGE_GAP_S
from appliance.process import die_with_parent

from .errors import ExportFailed
from .handover import NAME as HANDOVER_NAME
from .handover import HandoverFacts, render_handover
from .keys import SigningKey, fingerprint
from .package import (
    CHUNK,
    VIDEO_DIR,
    HashingWriter,
    PackedFile,
    build_manifest,
    finish_package,
    iso,
    open_package,
    write_member,
)
from .splice_export import IncompatibleRun, MalformedStream, Spliced, SpliceStopped, in_own_thread, splice, stretches

log = logging.getLogger(__name__)


ORIGINAL, BURNED_IN = "original", "burned_in"  # stream-copied as recorded; re-encoded with date, time and camera
HALT_WAIT_S = 10.0  # how long a stopped export waits for its splice thread to finish the segment it is at
STOPPED = "stopped"  # a job's error when the appliance stopped under it: it is made again at the next start


class JobState(StrEnum):
    """Where an export job stands."""

    QUEUED = "queued"
    WORKING = "working"
    DONE = "done"
    FAILED = "failed"


@dataclass
class ExportJob:
    """One request's export: its progress (0 to 1) for the page, and the package once made."""

    request_id: int
    state: JobState = JobState.QUEUED
    progress: float = 0.0
    package: Path | None = None
    manifest_sha256: str = ""
    error: str = ""
    done: asyncio.Event | None = None


def _feed(stdin: IO[bytes], data: bytes) -> None:
    with contextlib.suppress(OSError):
        stdin.write(data)
        stdin.close()


def low_priority(niced: bool = True) -> list[str]:
    """Return the command prefix that runs a process at the lowest CPU (and disk) priority (none when not niced)."""
    if not niced:
        return []
    prefix = ["nice", "-n", "19"]
    if shutil.which("ionice"):
        prefix = ["ionice", "-c", "3", *prefix]
    return prefix


FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # fonts-dejavu-core: Vietnamese diacritics
BURNED_STYLE = "fontsize=h/24:fontcolor=white:box=1:boxcolor=black@0.55:boxborderw=6"


def burned_in_argv(name_file: Path, first_frame_epoch: float, ffmpeg_binary: str = FFMPEG, *,
                   niced: bool = True) -> list[str]:  # fmt: skip
    """Return the argv that re-encodes a concat script's files with the camera's name (read from name_file)
    and the wall-clock date and time of each frame drawn in, as fragmented MP4 to stdout, at low priority.

    The clock is the first frame's wall-clock time (to the microsecond) plus each frame's time in the file,
    which runs on without a break: the file must hold footage recorded without a gap (see `recorded_runs`).
    """
    clock = (
        "%{pts" + 3 * "\\" + ":localtime" + 3 * "\\" + f":{first_frame_epoch:.6f}}}"
    )  # the graph, then the option, unescape once each
    graph = (f"drawtext=fontfile={FONT}:textfile={name_file}:x=12:y=12:{BURNED_STYLE},"
             f"drawtext=fontfile={FONT}:text={clock}:x=12:y=h-th-12:{BURNED_STYLE}")  # fmt: skip
    return [*low_priority(niced), ffmpeg_binary, "-hide_banner", "-nostats", "-loglevel", "error",
            "-protocol_whitelist", "file,pipe", "-f", "concat", "-safe", "0", "-i", "pipe:0",
            "-map", "0:v:0", "-map", "0:a:0?", "-vf", graph, "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
            "-pix_fmt", "yuv420p", "-threads", "1", "-c:a", "aac",
            "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", "pipe:1"]  # fmt: skip


def uncovered(entries: list[Entry], start: datetime, end: datetime,
              gap_s: float = MERGE_GAP_S) -> list[tuple[datetime, datetime]]:  # fmt: skip
    """Return the stretches of [start, end] that no exported file covers, gap_s or longer.

    These are the index's gaps and also the segments it lists whose files could not be read (missing,
    damaged): the manifest must show every stretch the package does not hold, whatever the reason.
    """
    gaps: list[tuple[datetime, datetime]] = []
    at = start
    for entry in sorted(entries, key=lambda e: e.segment.start):
        begins = entry.segment.start + timedelta(seconds=entry.skipped_s)
        if (begins - at).total_seconds() >= gap_s:
            gaps.append((at, min(begins, end)))
        at = max(at, begins + timedelta(seconds=entry.duration_s))
    if (end - at).total_seconds() >= gap_s:
        gaps.append((at, end))
    return gaps


def recorded_runs(entries: list[Entry], gap_s: float = MERGE_GAP_S) -> list[list[Entry]]:
    """Split entries where the recording has a gap (the index's definition: the next segment starts gap_s or
    more after the previous one ends; a segment that could not be read leaves one too).

    ffmpeg joins files with the gaps left out, so a burned-in clock that ran on over one would fall behind.
    """
    runs: list[list[Entry]] = []
    for entry in entries:
        if runs and (entry.segment.start - runs[-1][-1].segment.end).total_seconds() < gap_s:
            runs[-1].append(entry)
        else:
            runs.append([entry])
    return runs


def file_name(camera: Camera) -> str:
    """Return a package file name for a camera: its id and its name in plain ASCII."""
    plain = unicodedata.normalize("NFKD", camera.name.replace("đ", "d").replace("Đ", "D"))
    slug = re.sub(r"[^A-Za-z0-9]+", "-", plain.encode("ascii", "ignore").decode()).strip("-").lower()
    return f"{VIDEO_DIR}camera-{camera.id}{'-' + slug[:40] if slug else ''}.mp4"


def part_name(name: str, part: int, parts: int, burned: bool) -> str:
    """Return the name of one of a camera's files: `_part2` when it has several, `_burned-in` when re-encoded."""
    return f"{name.removesuffix('.mp4')}{f'_part{part}' if parts > 1 else ''}{'_burned-in' if burned else ''}.mp4"


def request_details(request: FootageRequest) -> dict[str, Any]:
    """Return the request as the manifest tells it."""
    return {"id": request.id, "officer_name": request.officer_name, "officer_unit": request.officer_unit,
            "officer_badge": request.officer_badge, "case_number": request.case_number, "reason": request.reason,
            "site_id": request.site_id, "camera_ids": list(request.camera_ids), "start": iso(request.start),
            "end": iso(request.end), "urgency": str(request.urgency), "created_by": request.created_by,
            "created_at": iso(request.created_at), "approved_by": request.decided_by,
            "approved_at": iso(request.decided_at), "approval_note": request.decision_note}  # fmt: skip


Finished = Callable[[int, Path, str, int], Awaitable[Any]]


class ExportQueue:
    """Make evidence packages one at a time."""

    def __init__(self, recordings_dir: Path, packages_dir: Path, key: SigningKey, appliance_id: Callable[[], str],
                 finished: Finished, *, ffmpeg_binary: str = FFMPEG, niced: bool = True) -> None:  # fmt: skip
        self.recordings_dir = recordings_dir
        self.packages_dir = packages_dir
        self.key = key
        self.appliance_id = appliance_id
        self.finished = finished  # told (request id, package, manifest hash, size)
        self.ffmpeg_binary = ffmpeg_binary
        self.niced = niced  # ffmpeg and the splice at the lowest priority (the service); off only to measure that
        self.jobs: dict[int, ExportJob] = {}
        self._queue: asyncio.Queue[ExportJob] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._halt = threading.Event()  # tells a splice under way to stop

    def start(self) -> None:
        """Start the worker that takes jobs one by one."""
        self.packages_dir.mkdir(parents=True, exist_ok=True)
        self._halt.clear()
        for leftover in self.packages_dir.glob("*.part"):
            leftover.unlink(missing_ok=True)
        self._worker = asyncio.get_running_loop().create_task(self._work(), name="evidence-export")

    async def stop(self) -> None:
        """Stop the worker (a job being made is abandoned and its partial file deleted)."""
        self._halt.set()  # a splice stops after the segment it is at
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()  # the worker thread then sees the end of its output
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    def submit(self, request_id: int) -> ExportJob:
        """Queue a request's export (once: a job already waiting or working is returned as it is)."""
        job = self.jobs.get(request_id)
        if job is not None and job.state in (JobState.QUEUED, JobState.WORKING):
            return job
        job = ExportJob(request_id, done=asyncio.Event())
        self.jobs[request_id] = job
        self._queue.put_nowait(job)
        return job

    async def wait(self, job: ExportJob) -> ExportJob:
        """Wait until the job is done or failed."""
        assert job.done is not None
        await job.done.wait()
        return job

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            job.state = JobState.WORKING
            try:
                await self._export(job)
                job.state, job.progress = JobState.DONE, 1.0
            except asyncio.CancelledError:
                job.state, job.error = JobState.FAILED, STOPPED
                raise
            except Exception as exc:
                job.state, job.error = JobState.FAILED, str(exc)[:255]
                log.exception("export of footage request %d failed", job.request_id)
            finally:
                assert job.done is not None
                job.done.set()

    def _copy(self, argv: list[str], script: str, writer: HashingWriter, job: ExportJob, done_before: int,
              total: int) -> tuple[int, str]:  # fmt: skip
        """Run ffmpeg and pump its output into the zip, hashing it (in a worker thread: no hop per chunk)."""
        with tempfile.TemporaryFile() as stderr:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                    preexec_fn=die_with_parent)  # fmt: skip
            self._proc = proc
            try:
                assert proc.stdin is not None and proc.stdout is not None
                threading.Thread(target=_feed, args=(proc.stdin, script.encode()), daemon=True).start()
                while chunk := proc.stdout.read(CHUNK):
                    writer.write(chunk)
                    job.progress = min(0.99, (done_before + writer.size) / total)
                code = proc.wait()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                self._proc = None
            stderr.seek(0)
            return code, stderr.read()[-2000:].decode(errors="replace").strip()

    async def _splice(self, entries: list[Entry], writer: HashingWriter, job: ExportJob, done_before: int,
                      total: int) -> Spliced:  # fmt: skip
        """Splice the entries into the zip member, in a thread of its own (at the lowest priority)."""

        def write(data: bytes | memoryview) -> None:
            writer.write(data)
            job.progress = min(0.99, (done_before + writer.size) / total)

        future = in_own_thread(lambda: splice(entries, write, self._halt), lowered=self.niced)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            self._halt.set()  # the thread stops after its segment; the zip is closed only after that
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.wrap_future(future), HALT_WAIT_S)
            raise
        except (SpliceStopped, MalformedStream, IncompatibleRun, OSError) as exc:
            raise ExportFailed(detail=f"splice from {entries[0].segment.path} on: {exc}") from exc

    async def _burn_in(self, request_id: int, packed: PackedFile, entries: list[Entry], writer: HashingWriter,
                       job: ExportJob, done_before: int, total: int) -> None:  # fmt: skip
        """Re-encode one stretch of entries with ffmpeg, the camera's name and the clock drawn in, into the zip."""
        assert packed.actual_start is not None
        name_file = self.packages_dir / f"request-{request_id}-camera-{packed.camera_id}-part-{packed.part}.txt"
        name_file.write_text(packed.camera_name or f"Camera {packed.camera_id}", encoding="utf-8")
        argv = burned_in_argv(name_file, packed.actual_start.timestamp(), self.ffmpeg_binary, niced=self.niced)
        try:
            code, words = await asyncio.to_thread(self._copy, argv, concat_script(entries), writer, job, done_before,
                                                  total)  # fmt: skip
        finally:
            name_file.unlink(missing_ok=True)
        if code != 0:
            raise ExportFailed(detail=f"camera {packed.camera_id}, part {packed.part}: ffmpeg exit {code}: {words}")

    async def _plan(self, camera_id: int, camera: Camera | None, start: datetime, end: datetime,
                    burned: bool) -> list[tuple[PackedFile, list[Entry]]]:  # fmt: skip
        """Return a camera's files and the entries of each: one per stretch its stream did not change in."""
        name = file_name(camera) if camera else f"{VIDEO_DIR}camera-{camera_id}.mp4"
        camera_name = camera.name if camera else ""
        try:
            entries = await plan_clip(camera_id, start, end, self.recordings_dir, max_s=10**9)
        except ClipEmpty:
            entries = []
        gaps = uncovered(entries, start, end)  # what the files do not hold, listed or unreadable
        if not entries:  # nothing recorded: no file, the whole range a gap
            return [(PackedFile("", camera_id, camera_name, start, end, gaps=gaps, parts=0), [])]
        try:
            runs = await asyncio.to_thread(stretches, entries)
        except MalformedStream as exc:
            raise ExportFailed(detail=f"camera {camera_id}: {exc}") from exc
        if len(runs) > 1:
            log.info("camera %d: its stream changed within the range: %d files", camera_id, len(runs))
        if burned:  # the drawn clock cannot jump a gap: a file per run recorded without one, its own clock start
            changed = len(runs)
            runs = [recorded for run in runs for recorded in recorded_runs(run)]
            if len(runs) > changed:
                log.info("camera %d: its recording has gaps: %d burned-in files", camera_id, len(runs))
        plans: list[tuple[PackedFile, list[Entry]]] = []
        begins: list[datetime] = []
        for part, run in enumerate(runs, 1):
            first, last = run[0], run[-1]
            packed = PackedFile(part_name(name, part, len(runs), burned), camera_id, camera_name, start, end,
                                part=part, parts=len(runs))  # fmt: skip
            packed.actual_start = first.segment.start + timedelta(seconds=first.skipped_s)
            packed.actual_end = last.segment.start + timedelta(seconds=last.skipped_s + last.duration_s)
            codecs = {e.segment.video_codec for e in run if e.segment.video_codec}
            packed.codec = "h264" if burned else ",".join(sorted(codecs))
            plans.append((packed, run))
            begins.append(packed.actual_start)
        # each file lists the gaps from where it starts (the range's start, for the first) to where the next starts
        edges = [start, *begins[1:], end]
        for (packed, _), low, high in zip(plans, edges, edges[1:], strict=False):
            packed.gaps = [(max(s, low), min(e, high)) for s, e in gaps if min(e, high) > max(s, low)]
        return plans

    async def _export(self, job: ExportJob) -> None:
        request = await FootageRequest.get(id=job.request_id)
        start, end = request.start.astimezone(UTC), request.end.astimezone(UTC)
        cameras = {c.id: c for c in await Camera.filter(id__in=list(request.camera_ids))}
        burned = request.export_variant == BURNED_IN
        plans: list[tuple[PackedFile, list[Entry]]] = []
        for camera_id in request.camera_ids:
            plans += await self._plan(camera_id, cameras.get(camera_id), start, end, burned)
        total = sum(e.segment.size for _, entries in plans for e in entries) or 1
        part = self.packages_dir / f"request-{request.id}.zip.part"
        archive = await asyncio.to_thread(open_package, part)
        done_bytes = 0
        try:
            for packed, entries in plans:
                if not entries:
                    continue  # nothing recorded: the manifest lists the whole range as a gap
                writer = await asyncio.to_thread(HashingWriter, archive, packed.name)
                if burned:
                    await self._burn_in(request.id, packed, entries, writer, job, done_bytes, total)
                else:
                    spliced = await self._splice(entries, writer, job, done_bytes, total)
                    first = entries[0]
                    if abs(spliced.skipped_s - first.skipped_s) > 1e-3:  # a keyframe the index did not know of
                        packed.actual_start = first.segment.start + timedelta(seconds=spliced.skipped_s)
                done_bytes += writer.size
                if writer.size == 0:
                    raise ExportFailed(detail=f"camera {packed.camera_id}, part {packed.part}: nothing written")
                packed.sha256, packed.size = await asyncio.to_thread(writer.close), writer.size
            files, details, created = [p for p, _ in plans], request_details(request), datetime.now(UTC)
            facts = HandoverFacts(details, self.appliance_id(), fingerprint(self.key.public_key()), created,
                                  request.export_variant)  # fmt: skip
            pdf = await asyncio.to_thread(render_handover, facts, files)
            handover = {"name": HANDOVER_NAME, "kind": "handover_record",
                        **await asyncio.to_thread(write_member, archive, HANDOVER_NAME, pdf)}  # fmt: skip
            manifest = build_manifest(self.appliance_id(), details, files, self.key, created, documents=[handover])
            manifest["variant"], manifest["re_encoded"] = request.export_variant, burned
            job.manifest_sha256 = await asyncio.to_thread(finish_package, archive, self.key, manifest)
        except BaseException:
            with contextlib.suppress(Exception):
                archive.close()
            part.unlink(missing_ok=True)
            raise
        final = part.with_suffix("")
        part.rename(final)
        job.package = final
        log.info("footage request %d exported: %s (%d video files)", request.id, final.name,
                 sum(1 for packed, _ in plans if packed.name))  # fmt: skip
        await self.finished(request.id, final, job.manifest_sha256, final.stat().st_size)
