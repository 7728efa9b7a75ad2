"""Join a camera's recorded segments into one fragmented MP4 without ffmpeg, for the evidence export.

The recorder writes fragmented MP4 segments: ftyp, a moov without samples, then a moof+mdat pair at
every keyframe (and at least every second). Each segment is read whole into one buffer; playback's
Splicer (appliance/playback/splice.py) moves each moof's decode times on to where the file has got to
and numbers the fragments on, patching the moofs where they lie, and the segment's fragments go out in
one write. The first segment's ftyp+moov opens the file. The result is what ffmpeg's concat demuxer with
stream copy gave: each segment placed where the previous one's video ends, gaps left out.

The cuts:
- start: the first segment starts at the fragment whose first video sample is the keyframe at or before
  the start asked for (the recorder starts a fragment at every keyframe); that keyframe is the file's time 0.
- end: samples whose decode time is at or after the end asked for are cut out of their fragment, track by
  track (as the concat demuxer's outpoint does): the moof is rebuilt for the samples kept, its mdat holds
  only their data.

A segment whose tracks differ from the previous one's (the camera's codec, picture size or audio changed)
cannot follow in the same file: `stretches()` splits a camera's entries there beforehand, and the export
writes one file per stretch, each spliced here.

The work runs in a thread of its own that lowers its own priority (`lower_this_thread`: nice 19 and the
idle I/O class, which Linux keeps per thread), as `nice -n 19 ionice -c 3` did for ffmpeg: the reading,
hashing and writing never take a core or the disk from the recording ffmpegs. A thread rather than a
process: the bytes are not copied through a pipe, and hashing, CRC and file I/O release the GIL.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import os
import platform
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from appliance.live.fmp4 import SAMPLE_IS_NON_SYNC, MalformedStream
from appliance.playback.ffmpeg import Entry
from appliance.playback.splice import IncompatibleRun, Splicer, Track, boxes, read_init

__all__ = ["IncompatibleRun", "MalformedStream", "SpliceStopped", "Spliced", "splice", "stretches"]

T = TypeVar("T")
Write = Callable[[bytes | memoryview], None]

_HEADER = struct.Struct(">I4s")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
INIT_READ = 64 * 1024  # enough for a segment's ftyp+moov
EPSILON_S = 1e-3  # a keyframe this close after the start asked for counts as at it (the index rounds)
TFHD_BASE_OFFSET, TFHD_BASE_IS_MOOF = 0x1, 0x020000
TRUN_DATA_OFFSET, TRUN_FIRST_FLAGS = 0x1, 0x4
TRUN_COLUMNS = (0x100, 0x200, 0x400, 0x800)  # duration, size, flags, composition offset of each sample
IOPRIO_SET = {"x86_64": 251, "aarch64": 30, "riscv64": 30, "armv7l": 314, "armv6l": 314, "i686": 289}
IOPRIO_WHO_PROCESS, IOPRIO_CLASS_IDLE, IOPRIO_CLASS_SHIFT = 1, 3, 13


class SpliceStopped(Exception):
    """The export was stopped while its footage was being joined."""


@dataclass(frozen=True)
class Spliced:
    """What was written: where its first frame is in the first segment."""

    skipped_s: float  # seconds from the first segment's first frame to the file's first frame (a keyframe)


# --- the init segment -----------------------------------------------------------------------------------


def _init_of(path: Path) -> bytes:
    """Return a segment's ftyp+moov; MalformedStream when it does not start so or is not fragmented."""
    with path.open("rb") as f:
        head = f.read(INIT_READ)
        kinds = []
        at = 0
        for _ in range(2):  # ftyp, then moov
            if len(head) < at + 8:
                raise MalformedStream(f"{path.name}: too short")
            size, kind = _HEADER.unpack_from(head, at)
            kinds.append(kind)
            at += size if size >= 8 else len(head)
        if kinds != [b"ftyp", b"moov"]:
            raise MalformedStream(f"{path.name}: it does not start with ftyp and moov")
        if at > len(head):
            f.seek(0)
            head = f.read(at)
    init = head[:at]
    moov_at = _HEADER.unpack_from(init, 0)[0]
    if not any(kind == b"mvex" for kind, _, _ in boxes(init, moov_at + 8, len(init))):
        raise MalformedStream(f"{path.name}: not fragmented MP4")
    return init


def stretches(entries: Sequence[Entry]) -> list[list[Entry]]:
    """Split the entries where the camera's stream changed (a file whose tracks differ from the previous
    file's: codec, picture size, audio): each stretch can be spliced into one file.

    MalformedStream (naming the file) when a file is not fragmented MP4 or its moov cannot be read.
    """
    runs: list[list[Entry]] = []
    previous = b""
    for entry in entries:
        try:
            init = _init_of(entry.path)  # its errors name the file
        except OSError as exc:
            raise MalformedStream(f"{entry.path.name}: {exc}") from exc
        try:
            signature = read_init(init[_U32.unpack_from(init, 0)[0] + 8 :]).signature
        except (MalformedStream, struct.error, IndexError) as exc:
            raise MalformedStream(f"{entry.path.name}: {exc}") from exc
        if not runs or signature != previous:
            runs.append([])
        runs[-1].append(entry)
        previous = signature
    return runs


# --- fragments, sample by sample (only where a cut falls) -----------------------------------------------


@dataclass
class _Trun:
    version: int
    flags: int
    first_flags: int | None
    rows: list[tuple[int, ...]]  # each sample's fields, in TRUN_COLUMNS order, as written
    durations: list[int]
    sizes: list[int]
    sync: list[bool]
    data_at: int  # where its first sample's data is, in the file


@dataclass
class _Traf:
    track_id: int
    tfhd: tuple[int, list[int]]  # flags, the optional fields after the track id (without the base offset)
    tfdt: bytes  # the whole box
    decode_time: int
    truns: list[_Trun] = field(default_factory=list)

    def keep(self, limit: float, timescale: int) -> list[int]:
        """Return how many samples of each trun decode before `limit` seconds."""
        kept, at = [], self.decode_time
        for trun in self.truns:
            count = 0
            for duration in trun.durations:
                if at / timescale >= limit:
                    break
                count, at = count + 1, at + duration
            kept.append(count)
            if count < len(trun.durations):
                return kept + [0] * (len(self.truns) - len(kept))
        return kept


def _parse_moof(buf: memoryview, moof_at: int, moof_end: int, tracks: dict[int, Track]) -> tuple[bytes, list[_Traf]]:
    """Return a moof's mfhd box and its trafs, sample by sample."""
    mfhd, trafs, previous_end = b"", [], moof_at
    for kind, payload, end in boxes(buf, moof_at + 8, moof_end):
        if kind == b"mfhd":
            mfhd = bytes(buf[payload - 8 : end])
        elif kind == b"traf":
            traf = _parse_traf(buf, payload, end, moof_at, previous_end, tracks)
            trafs.append(traf)
            last = traf.truns[-1] if traf.truns else None
            previous_end = last.data_at + sum(last.sizes) if last else previous_end
    return mfhd, trafs


def _parse_traf(buf: memoryview, start: int, end: int, moof_at: int, previous_end: int,
                tracks: dict[int, Track]) -> _Traf:  # fmt: skip
    children = boxes(buf, start, end)
    tfhd = next(((at, box_end) for kind, at, box_end in children if kind == b"tfhd"), None)
    tfdt = next(((at, box_end) for kind, at, box_end in children if kind == b"tfdt"), None)
    if tfhd is None or tfdt is None:
        raise MalformedStream("a traf without tfhd or tfdt")
    at = tfhd[0]
    flags = _U32.unpack_from(buf, at)[0] & 0xFFFFFF
    track_id = _U32.unpack_from(buf, at + 4)[0]
    track = tracks.get(track_id)
    if track is None:
        raise MalformedStream(f"a fragment of unknown track {track_id}")
    at += 8
    base = moof_at if flags & TFHD_BASE_IS_MOOF else previous_end
    if flags & TFHD_BASE_OFFSET:
        base, at = _U64.unpack_from(buf, at)[0], at + 8
    optional = []
    defaults = {0x8: track.default_duration, 0x10: track.default_size, 0x20: track.default_flags}
    for bit in (0x2, 0x8, 0x10, 0x20):
        if flags & bit:
            value = _U32.unpack_from(buf, at)[0]
            optional.append(value)
            defaults[bit] = value
            at += 4
    version = buf[tfdt[0]]
    decode_time = (_U64 if version == 1 else _U32).unpack_from(buf, tfdt[0] + 4)[0]
    traf = _Traf(track_id, (flags & ~TFHD_BASE_OFFSET, optional), bytes(buf[tfdt[0] - 8 : tfdt[1]]), decode_time)
    data_at = base
    for kind, payload, _ in children:
        if kind == b"trun":
            trun = _parse_trun(buf, payload, base, data_at, defaults)
            traf.truns.append(trun)
            data_at = trun.data_at + sum(trun.sizes)
    return traf


def _parse_trun(buf: memoryview, at: int, base: int, data_at: int, defaults: dict[int, int]) -> _Trun:
    version, flags = buf[at], _U32.unpack_from(buf, at)[0] & 0xFFFFFF
    count = _U32.unpack_from(buf, at + 4)[0]
    at += 8
    if flags & TRUN_DATA_OFFSET:
        data_at = base + struct.unpack_from(">i", buf, at)[0]
        at += 4
    first_flags = None
    if flags & TRUN_FIRST_FLAGS:
        first_flags, at = _U32.unpack_from(buf, at)[0], at + 4
    present = [bit for bit in TRUN_COLUMNS if flags & bit]
    values = struct.unpack_from(f">{count * len(present)}I", buf, at)
    width = len(present)
    rows: list[tuple[int, ...]] = [values[i * width : (i + 1) * width] for i in range(count)]
    column = {bit: index for index, bit in enumerate(present)}

    def each(bit: int, default: int) -> list[int]:
        return [row[column[bit]] for row in rows] if bit in column else [default] * count

    sample_flags = each(0x400, defaults[0x20])
    if first_flags is not None and count:
        sample_flags[0] = first_flags
    return _Trun(version, flags, first_flags, rows, each(0x100, defaults[0x8]), each(0x200, defaults[0x10]),
                 [not f & SAMPLE_IS_NON_SYNC for f in sample_flags], data_at)  # fmt: skip


def _box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _cut(buf: memoryview, mfhd: bytes, trafs: list[_Traf], kept: list[list[int]]) -> tuple[bytearray, bytes]:
    """Return a fragment rebuilt with only the samples kept: its moof and its mdat (empty moof: nothing kept)."""
    pieces: list[tuple[_Traf, list[tuple[_Trun, int]]]] = []
    for traf, counts in zip(trafs, kept, strict=True):
        runs = [(trun, n) for trun, n in zip(traf.truns, counts, strict=True) if n]
        if runs:
            pieces.append((traf, runs))
    if not pieces:
        return bytearray(), b""

    def moof(offsets: list[int]) -> bytes:
        trafs_out, index = [], 0
        for traf, runs in pieces:
            flags, optional = traf.tfhd
            tfhd = _box(b"tfhd", struct.pack(f">II{len(optional)}I", flags | TFHD_BASE_IS_MOOF, traf.track_id,
                                             *optional))  # fmt: skip
            truns = []
            for trun, n in runs:
                head = struct.pack(">II", trun.version << 24 | trun.flags | TRUN_DATA_OFFSET, n)
                head += struct.pack(">i", offsets[index])
                if trun.first_flags is not None:
                    head += _U32.pack(trun.first_flags)
                truns.append(_box(b"trun", head, b"".join(struct.pack(f">{len(r)}I", *r) for r in trun.rows[:n])))
                index += 1
            trafs_out.append(_box(b"traf", tfhd, traf.tfdt, *truns))
        return _box(b"moof", mfhd, *trafs_out)

    runs_kept = [(trun, n) for _, runs in pieces for trun, n in runs]
    lengths = [sum(trun.sizes[:n]) for trun, n in runs_kept]
    size = len(moof([0] * len(runs_kept)))  # the offsets do not change the moof's size
    offsets, at = [], size + 8
    for length in lengths:
        offsets.append(at)
        at += length
    data = b"".join(buf[trun.data_at : trun.data_at + n] for (trun, _), n in zip(runs_kept, lengths, strict=True))
    return bytearray(moof(offsets)), _box(b"mdat", data)


# --- the splice -----------------------------------------------------------------------------------------


def _read(path: Path, buf: bytearray) -> tuple[bytearray, int]:
    """Read a whole file into buf (a larger one when it does not fit); return the buffer and the file's size."""
    with path.open("rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        if len(buf) < size:
            buf = bytearray(size + size // 4)
        with memoryview(buf) as view:
            got = 0
            while got < size:
                n = f.readinto(view[got:size])
                if not n:
                    raise MalformedStream(f"{path.name} became shorter while it was read")
                got += n
    return buf, size


def _layout(view: memoryview, size: int) -> tuple[bytes, list[tuple[int, int, int]]]:
    """Return a segment's ftyp+moov and its fragments as (moof start, moof end, mdat end)."""
    top = boxes(view, 0, size)
    kinds = [kind for kind, _, _ in top]
    if kinds[:2] != [b"ftyp", b"moov"]:
        raise MalformedStream("a segment that does not start with ftyp and moov")
    init = bytes(view[: top[1][2]])
    fragments = []
    starts = [0] + [end for _, _, end in top[:-1]]  # the boxes follow each other
    for index in range(len(top) - 1):
        if top[index][0] == b"moof" and top[index + 1][0] == b"mdat":
            fragments.append((starts[index], top[index][2], top[index + 1][2]))
    return init, fragments


def _video_start(view: memoryview, fragment: tuple[int, int, int], splicer: Splicer) -> tuple[int, bool] | None:
    """Return the decode time of a fragment's first video sample and whether it is a keyframe (None: no video)."""
    assert splicer.init is not None
    _, trafs = _parse_moof(view, fragment[0], fragment[1], splicer.init.tracks)
    for traf in trafs:
        if traf.track_id == splicer.init.video_track and traf.truns and traf.truns[0].sync:
            return traf.decode_time, traf.truns[0].sync[0]
    return None


def _start_fragment(view: memoryview, fragments: list[tuple[int, int, int]], splicer: Splicer,
                    inpoint_s: float) -> tuple[int, int]:  # fmt: skip
    """Return the index of the fragment to start at (the keyframe at or before inpoint_s) and its decode time."""
    assert splicer.init is not None
    timescale = splicer.init.tracks[splicer.init.video_track].timescale
    best: tuple[int, int] | None = None  # the latest keyframe so far, else the first video
    for index, fragment in enumerate(fragments):
        start = _video_start(view, fragment, splicer)
        if start is None:
            continue
        decode_time, keyframe = start
        if decode_time / timescale > inpoint_s + EPSILON_S:
            break
        if keyframe or best is None:
            best = (index, decode_time)
    if best is None:
        raise MalformedStream("no video to start from")
    return best


def _groups(fragments: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """Return the byte ranges that adjacent fragments make up together."""
    ranges: list[tuple[int, int]] = []
    for start, _, end in fragments:
        if ranges and ranges[-1][1] == start:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    return ranges


def splice(entries: Sequence[Entry], write: Write, stop: threading.Event | None = None) -> Spliced:
    """Write the entries' footage as one fragmented MP4 through `write` (a segment at a time, in large pieces).

    IncompatibleRun or MalformedStream when a file cannot be joined; SpliceStopped when `stop` is set.
    """
    splicer, buf, skipped_s = Splicer(), bytearray(), 0.0
    for index, entry in enumerate(entries):
        if stop is not None and stop.is_set():
            raise SpliceStopped()
        buf, size = _read(entry.path, buf)
        with memoryview(buf) as view:
            init, fragments = _layout(view, size)
            head = splicer.take_init(init)
            if head:
                write(head)
            assert splicer.init is not None
            video = splicer.init.tracks[splicer.init.video_track]
            first_video = next((s for f in fragments if (s := _video_start(view, f, splicer)) is not None), None)
            if first_video is None:
                continue  # no video at all: nothing to place
            start_at, start_ts = 0, first_video[0]
            if entry.inpoint > 0:
                start_at, start_ts = _start_fragment(view, fragments, splicer, entry.inpoint)
            if index == 0:
                skipped_s = (start_ts - first_video[0]) / video.timescale
            splicer.next_run(start_ts / video.timescale)
            kept, rebuilt = fragments[start_at:], list[tuple[bytearray, bytes]]()
            if entry.outpoint is not None:
                kept, rebuilt = _cut_at(view, kept, splicer, entry.outpoint)
            for moof_at, moof_end, _ in kept:
                splicer.place(view[moof_at:moof_end])
            for start, end in _groups(kept):
                write(view[start:end])
            for moof, mdat in rebuilt:
                splicer.place(moof)
                write(bytes(moof) + mdat)
    return Spliced(skipped_s)


def _cut_at(view: memoryview, fragments: list[tuple[int, int, int]], splicer: Splicer,
            outpoint_s: float) -> tuple[list[tuple[int, int, int]], list[tuple[bytearray, bytes]]]:  # fmt: skip
    """Split the fragments at outpoint_s: those kept whole, then the rebuilt ones (moof, mdat)."""
    assert splicer.init is not None
    tracks = splicer.init.tracks
    whole: list[tuple[int, int, int]] = []
    rebuilt: list[tuple[bytearray, bytes]] = []
    for fragment in fragments:
        mfhd, trafs = _parse_moof(view, fragment[0], fragment[1], tracks)
        kept = [traf.keep(outpoint_s, tracks[traf.track_id].timescale) for traf in trafs]
        whole_kept = all(k == [len(t.durations) for t in traf.truns] for k, traf in zip(kept, trafs, strict=True))
        if whole_kept and not rebuilt:  # after a rebuilt one, the rest are rebuilt too, to keep their order
            whole.append(fragment)
            continue
        moof, mdat = _cut(view, mfhd, trafs, kept)
        if moof:
            rebuilt.append((moof, mdat))
    return whole, rebuilt


# --- the thread it runs in ------------------------------------------------------------------------------


def lower_this_thread() -> None:
    """Put the calling thread at the lowest CPU priority (nice 19) and in the idle I/O class (where known)."""
    thread = threading.get_native_id()
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, thread, 19)
    number = IOPRIO_SET.get(platform.machine())
    if number is not None:
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall(number, IOPRIO_WHO_PROCESS, thread, IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT)


def in_own_thread(
    work: Callable[[], T], *, lowered: bool = True, name: str = "evidence-export"
) -> concurrent.futures.Future[T]:
    """Run work in a new thread (at the lowest priority unless lowered is False); return its future."""
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        if lowered:
            lower_this_thread()
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to whoever waits for the future
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future
