"""Index an MP4 segment from its ISO BMFF boxes, without starting ffprobe and without reading media data.

The recorder writes fragmented MP4: ftyp, a moov without samples, then one moof+mdat pair per
keyframe interval. Only moov and the moof boxes (a few hundred bytes each) are read; every mdat is
skipped by its header. A fragment counts only when its moof and all the media data it points to are
on disk, so a segment cut short by a crash (SIGKILL, power loss) reports the duration its complete
fragments play, and truncate_to_complete() cuts off the torn tail so that players open it cleanly.

Plain (non-fragmented) MP4 is read from the moov's sample tables (stts, ctts, stss). A plain MP4
whose moov is at its end is unreadable until ffmpeg finishes it; one cut short after its moov
reports what the moov declares and `truncated`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MAX_META_BOX = 16 * 1024 * 1024  # a moov or moof larger than this is not one of our segments
MAX_SAMPLES = 10_000_000  # per track or run: more is a corrupt count, not a recording
FIRST_BOX_TYPES = frozenset({b"ftyp", b"styp", b"moov", b"free", b"skip", b"wide", b"pdin", b"mdat"})
SAMPLE_ENTRIES_WITH_SIZE = frozenset({"avc1", "avc3", "hvc1", "hev1", "mp4v", "av01", "vp09"})
SAMPLE_IS_NON_SYNC = 0x00010000  # bit of the sample flags in trex, tfhd and trun

_HEADER = struct.Struct(">I4s")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")


class UnreadableSegment(Exception):
    """The file is not an MP4 segment that can be indexed."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class _Malformed(Exception):
    """A box inside moov or moof contradicts its own sizes."""


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """What the index keeps of one segment; times in seconds, offsets in bytes."""

    path: Path
    size: int  # bytes on disk when read
    video_codec: str  # sample entry fourcc: avc1, avc3, hvc1, hev1 ...
    width: int | None
    height: int | None
    timescale: int  # of the video track
    first_pts_s: float  # presentation time of the first video sample, as ffprobe's start_time
    duration_s: float  # sum of the video sample durations of the complete fragments
    keyframes_s: tuple[float, ...]  # presentation times of sync samples, relative to first_pts_s
    fragments: int  # complete moof+mdat pairs (0 for a plain MP4)
    complete_bytes: int  # where the last complete box ends; == size unless the tail is torn
    truncated: bool  # the file ends inside a box or a fragment
    fragmented: bool
    has_audio: bool
    audio_codec: str | None  # sample entry fourcc: mp4a, Opus ...


@dataclass(slots=True)
class _Track:
    """One trak of the moov, with the mvex defaults its fragments fall back on."""

    track_id: int = 0
    handler: bytes = b""
    timescale: int = 0
    codec: str = ""
    width: int | None = None
    height: int | None = None
    edit_shift: int = 0  # media time where the first non-empty edit starts
    stts: list[tuple[int, int]] = field(default_factory=list)  # (sample count, duration)
    ctts: list[tuple[int, int]] = field(default_factory=list)  # (sample count, composition offset)
    stss: list[int] | None = None  # 1-based sync sample numbers; None: every sample is a sync sample
    default_duration: int = 0
    default_size: int = 0
    default_flags: int = 0


@dataclass(slots=True)
class _Run:
    """The samples of one track in one fragment."""

    track_id: int
    decode_time: int | None  # tfdt, when the fragment has one
    durations: list[int]
    composition_offsets: list[int]
    sync: list[bool]


@dataclass(slots=True)
class _Fragment:
    """One parsed moof and the end of the media data its runs point to."""

    runs: list[_Run]
    data_end: int


@dataclass(slots=True)
class _Scan:
    """The top level of a file: its tracks, its complete fragments and where the whole part ends."""

    tracks: list[_Track]
    fragmented: bool  # the moov has an mvex: samples come in moof boxes
    fragments: list[_Fragment]
    complete_bytes: int


def read_segment(path: str | os.PathLike[str]) -> SegmentInfo:
    """Read a segment's codec, playable duration and keyframe times from its boxes."""
    fd = os.open(path, os.O_RDONLY)  # OSError (FileNotFoundError ...) is the caller's to handle
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            raise UnreadableSegment(path, "empty file")
        scan = _scan(fd, size, path)
    finally:
        os.close(fd)
    return _summarise(Path(path), size, scan)


def truncate_to_complete(path: str | os.PathLike[str]) -> SegmentInfo:
    """Cut a segment torn by a crash back to its last complete fragment and return it re-read.

    Never call this on a segment that ffmpeg is still writing.
    """
    info = read_segment(path)
    if info.truncated:
        os.truncate(path, info.complete_bytes)
        info = read_segment(path)
    return info


# --- the top level: box headers, moov and moof payloads ----------------------------------------------


def _scan(fd: int, size: int, path: str | os.PathLike[str]) -> _Scan:
    """Walk the top-level boxes, reading moov and moof and seeking past everything else."""
    tracks: list[_Track] | None = None
    fragmented = False
    fragments: list[_Fragment] = []
    pending: _Fragment | None = None  # a moof whose media data is not all on disk yet
    complete_bytes = 0
    pos = 0
    while pos < size:
        header = _top_header(fd, pos, size)
        if header is None or (pos == 0 and header[0] not in FIRST_BOX_TYPES):
            if pos == 0:
                raise UnreadableSegment(path, "not an MP4 file (no ISO BMFF box at its start)")
            break  # garbage after the last box, such as the zeros a power loss can leave
        kind, payload_at, end = header
        if end > size:
            break  # the box is cut short
        if kind == b"moov" or kind == b"moof":
            if end - payload_at > MAX_META_BOX:
                raise UnreadableSegment(path, f"{kind.decode()} box of {end - pos} bytes is too large")
            payload = os.pread(fd, end - payload_at, payload_at)
            if kind == b"moov":
                try:
                    tracks, fragmented = _parse_moov(payload)
                except (_Malformed, struct.error, IndexError) as exc:
                    raise UnreadableSegment(path, f"malformed moov: {exc}") from exc
            else:
                if tracks is None:
                    raise UnreadableSegment(path, "moof before moov")
                try:
                    pending = _parse_moof(payload, pos, payload_at, tracks)
                except (_Malformed, struct.error, IndexError):
                    pending = None
                    break  # a torn or corrupt fragment ends what can be played
        if pending is not None and pending.data_end <= end:
            fragments.append(pending)
            pending = None
        pos = end
        if pending is None:
            complete_bytes = end
    if tracks is None:
        raise UnreadableSegment(path, "no moov box (an MP4 whose recording was interrupted has none)")
    return _Scan(tracks, fragmented, fragments, complete_bytes)


def _top_header(fd: int, pos: int, size: int) -> tuple[bytes, int, int] | None:
    """Return (type, payload offset, end offset) of the box at pos, or None where there is none."""
    head = os.pread(fd, 8, pos)
    if len(head) < 8:
        return None
    box_size, kind = _HEADER.unpack_from(head)
    header_size = 8
    if box_size == 1:
        large = os.pread(fd, 8, pos + 8)
        if len(large) < 8:
            return None
        (box_size,) = _U64.unpack_from(large)
        header_size = 16
    elif box_size == 0:
        box_size = size - pos  # the last box runs to the end of the file
    if box_size < header_size or not all(32 <= c < 127 for c in kind):
        return None
    return kind, pos + header_size, pos + box_size


def _children(buf: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """Yield (type, payload start, payload end) of the boxes inside buf[start:end]."""
    pos = start
    while pos + 8 <= end:
        box_size, kind = _HEADER.unpack_from(buf, pos)
        header_size = 8
        if box_size == 1:
            (box_size,) = _U64.unpack_from(buf, pos + 8)
            header_size = 16
        elif box_size == 0:
            box_size = end - pos
        if box_size < header_size or pos + box_size > end:
            raise _Malformed(f"box {kind!r} at {pos} overruns its parent")
        yield kind, pos + header_size, pos + box_size
        pos += box_size


def _child(buf: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    """Return (payload start, payload end) of the first child box of this type."""
    for child_kind, child_start, child_end in _children(buf, start, end):
        if child_kind == kind:
            return child_start, child_end
    return None


# --- moov ---------------------------------------------------------------------------------------------


def _parse_moov(buf: bytes) -> tuple[list[_Track], bool]:
    """Return the moov's tracks in file order, with their mvex defaults applied, and if it has an mvex."""
    tracks: list[_Track] = []
    defaults: dict[int, tuple[int, int, int]] = {}
    fragmented = False
    for kind, start, end in _children(buf, 0, len(buf)):
        if kind == b"trak":
            tracks.append(_parse_trak(buf, start, end))
        elif kind == b"mvex":
            fragmented = True
            for child_kind, child_start, _ in _children(buf, start, end):
                if child_kind == b"trex":
                    track_id, _, duration, size, flags = struct.unpack_from(">5I", buf, child_start + 4)
                    defaults[track_id] = (duration, size, flags)
    for track in tracks:
        track.default_duration, track.default_size, track.default_flags = defaults.get(track.track_id, (0, 0, 0))
    return tracks, fragmented


def _parse_trak(buf: bytes, start: int, end: int) -> _Track:
    """Read one trak: id, handler, timescale, sample entry, edit list and sample tables."""
    track = _Track()
    for kind, child_start, child_end in _children(buf, start, end):
        if kind == b"tkhd":
            track.track_id = _U32.unpack_from(buf, child_start + (20 if buf[child_start] == 1 else 12))[0]
        elif kind == b"edts":
            elst = _child(buf, child_start, child_end, b"elst")
            if elst is not None:
                track.edit_shift = _edit_shift(buf, elst[0])
        elif kind == b"mdia":
            _parse_mdia(buf, child_start, child_end, track)
    return track


def _edit_shift(buf: bytes, start: int) -> int:
    """Return the media time where the first non-empty edit of an elst starts."""
    version = buf[start]
    (count,) = _U32.unpack_from(buf, start + 4)
    entry_size = 20 if version == 1 else 12
    for index in range(count):
        at = start + 8 + index * entry_size
        media_time = _I64.unpack_from(buf, at + 8)[0] if version == 1 else _I32.unpack_from(buf, at + 4)[0]
        if media_time >= 0:
            return int(media_time)
    return 0


def _parse_mdia(buf: bytes, start: int, end: int, track: _Track) -> None:
    """Fill in the track's timescale, handler, sample entry and sample tables."""
    for kind, child_start, child_end in _children(buf, start, end):
        if kind == b"mdhd":
            track.timescale = _U32.unpack_from(buf, child_start + (20 if buf[child_start] == 1 else 12))[0]
        elif kind == b"hdlr":
            track.handler = buf[child_start + 8 : child_start + 12]
        elif kind == b"minf":
            stbl = _child(buf, child_start, child_end, b"stbl")
            if stbl is not None:
                _parse_stbl(buf, stbl[0], stbl[1], track)


def _parse_stbl(buf: bytes, start: int, end: int, track: _Track) -> None:
    """Read the sample entry's fourcc and size, and the timing tables."""
    for kind, child_start, child_end in _children(buf, start, end):
        if kind == b"stsd" and _U32.unpack_from(buf, child_start + 4)[0] > 0:
            entry = next(_children(buf, child_start + 8, child_end), None)
            if entry is None:
                raise _Malformed("stsd without a sample entry")
            entry_kind, entry_start, entry_end = entry
            track.codec = entry_kind.decode("latin-1")
            if track.codec in SAMPLE_ENTRIES_WITH_SIZE and entry_end - entry_start >= 28:
                track.width = _U16.unpack_from(buf, entry_start + 24)[0]
                track.height = _U16.unpack_from(buf, entry_start + 26)[0]
        elif kind == b"stts":
            track.stts = _pairs(buf, child_start, signed=False)
        elif kind == b"ctts":
            track.ctts = _pairs(buf, child_start, signed=True)
        elif kind == b"stss":
            (count,) = _U32.unpack_from(buf, child_start + 4)
            track.stss = list(struct.unpack_from(f">{count}I", buf, child_start + 8))


def _pairs(buf: bytes, start: int, signed: bool) -> list[tuple[int, int]]:
    """Return the (count, value) entries of an stts or ctts box."""
    (count,) = _U32.unpack_from(buf, start + 4)
    values = struct.unpack_from(f">{2 * count}{'i' if signed else 'I'}", buf, start + 8)
    pairs = [(values[i] & 0xFFFFFFFF, values[i + 1]) for i in range(0, len(values), 2)]  # counts are unsigned
    if sum(count for count, _ in pairs) > MAX_SAMPLES:
        raise _Malformed("a sample table counts more samples than a recording has")
    return pairs


# --- moof ---------------------------------------------------------------------------------------------


def _parse_moof(buf: bytes, moof_at: int, payload_at: int, tracks: Sequence[_Track]) -> _Fragment:
    """Read every traf's samples and where the media data they point to ends in the file."""
    by_id = {track.track_id: track for track in tracks}
    runs: list[_Run] = []
    data_end = moof_at
    previous_traf_end = moof_at  # the implicit base offset of a traf after the first
    for kind, start, end in _children(buf, 0, len(buf)):
        if kind != b"traf":
            continue
        run, traf_end = _parse_traf(buf, start, end, moof_at, previous_traf_end, by_id)
        runs.append(run)
        data_end = max(data_end, traf_end)
        previous_traf_end = traf_end
    if data_end < payload_at and any(run.durations for run in runs):
        raise _Malformed("fragment data points inside its own moof")
    return _Fragment(runs, data_end)


def _parse_traf(
    buf: bytes, start: int, end: int, moof_at: int, previous_end: int, tracks: dict[int, _Track]
) -> tuple[_Run, int]:
    """Read one traf; return its samples and the file offset where its media data ends."""
    children = list(_children(buf, start, end))
    tfhd = next(((s, e) for kind, s, e in children if kind == b"tfhd"), None)
    if tfhd is None:
        raise _Malformed("traf without tfhd")
    at = tfhd[0]
    flags = _U32.unpack_from(buf, at)[0] & 0xFFFFFF
    track_id = _U32.unpack_from(buf, at + 4)[0]
    track = tracks.get(track_id, _Track(track_id=track_id))
    at += 8
    base = moof_at if flags & 0x020000 else previous_end
    if flags & 0x01:
        base = _U64.unpack_from(buf, at)[0]
        at += 8
    if flags & 0x02:
        at += 4  # sample description index
    duration, size, sample_flags = track.default_duration, track.default_size, track.default_flags
    if flags & 0x08:
        duration = _U32.unpack_from(buf, at)[0]
        at += 4
    if flags & 0x10:
        size = _U32.unpack_from(buf, at)[0]
        at += 4
    if flags & 0x20:
        sample_flags = _U32.unpack_from(buf, at)[0]
    run = _Run(track_id, None, [], [], [])
    data_at = base
    for kind, child_start, _ in children:
        if kind == b"tfdt":
            version = buf[child_start]
            run.decode_time = (_U64 if version == 1 else _U32).unpack_from(buf, child_start + 4)[0]
        elif kind == b"trun":
            data_at = _parse_trun(buf, child_start, base, data_at, (duration, size, sample_flags), run)
    return run, data_at


def _parse_trun(buf: bytes, start: int, base: int, data_at: int, defaults: tuple[int, int, int], run: _Run) -> int:
    """Append one trun's samples to the run; return the file offset where its data ends."""
    flags = _U32.unpack_from(buf, start)[0] & 0xFFFFFF
    (count,) = _U32.unpack_from(buf, start + 4)
    if count > MAX_SAMPLES:
        raise _Malformed("trun counts more samples than a recording has")
    at = start + 8
    if flags & 0x01:
        data_at = base + _I32.unpack_from(buf, at)[0]
        at += 4
    first_flags: int | None = None
    if flags & 0x04:
        first_flags = _U32.unpack_from(buf, at)[0]
        at += 4
    present = [bit for bit in (0x100, 0x200, 0x400, 0x800) if flags & bit]
    values = struct.unpack_from(f">{count * len(present)}I", buf, at)  # struct.error when the box is short
    columns = {bit: values[index :: len(present)] for index, bit in enumerate(present)}
    duration, size, sample_flags = defaults
    run.durations.extend(columns.get(0x100, (duration,) * count))
    if 0x800 in columns:  # signed in a version 1 trun; ffmpeg writes version 1 when an offset is negative
        signed = buf[start] == 1
        run.composition_offsets.extend(v - (1 << 32) if signed and v >= 1 << 31 else v for v in columns[0x800])
    else:
        run.composition_offsets.extend((0,) * count)
    all_flags = list(columns.get(0x400, (sample_flags,) * count))
    if first_flags is not None and all_flags:
        all_flags[0] = first_flags
    run.sync.extend(not value & SAMPLE_IS_NON_SYNC for value in all_flags)
    return int(data_at + (sum(columns[0x200]) if 0x200 in columns else size * count))


# --- from boxes to the index's numbers ----------------------------------------------------------------


def _summarise(path: Path, size: int, scan: _Scan) -> SegmentInfo:
    """Pick the video track and add up its samples in moov and in the complete fragments."""
    video = next((track for track in scan.tracks if track.handler == b"vide"), None)
    if video is None:
        raise UnreadableSegment(path, "no video track")
    if video.timescale == 0:
        raise UnreadableSegment(path, "the video track has no timescale")
    audio = next((track for track in scan.tracks if track.handler == b"soun"), None)
    runs = [_moov_run(video)] + [run for f in scan.fragments for run in f.runs if run.track_id == video.track_id]
    decode_time, duration, start_pts, keyframes = 0, 0, None, []
    for run in runs:
        if run.decode_time is not None:
            decode_time = run.decode_time
        for sample_duration, offset, sync in zip(run.durations, run.composition_offsets, run.sync, strict=True):
            if start_pts is None:
                start_pts = decode_time + offset
            if sync:
                keyframes.append(decode_time + offset - start_pts)
            decode_time += sample_duration
        duration += sum(run.durations)
    scale = video.timescale
    return SegmentInfo(
        path=path,
        size=size,
        video_codec=video.codec,
        width=video.width,
        height=video.height,
        timescale=scale,
        first_pts_s=((start_pts or 0) - video.edit_shift) / scale,
        duration_s=duration / scale,
        keyframes_s=tuple(sorted(time / scale for time in keyframes)),
        fragments=len(scan.fragments),
        complete_bytes=scan.complete_bytes,
        truncated=scan.complete_bytes < size,
        fragmented=scan.fragmented,
        has_audio=audio is not None,
        audio_codec=audio.codec if audio is not None else None,
    )


def _moov_run(track: _Track) -> _Run:
    """Return the samples listed in the moov's sample tables (none in a fragmented file's moov)."""
    durations = [delta for count, delta in track.stts for _ in range(count)]
    offsets = [offset for count, offset in track.ctts for _ in range(count)][: len(durations)]
    offsets += [0] * (len(durations) - len(offsets))
    sync_numbers = None if track.stss is None else set(track.stss)
    sync = [sync_numbers is None or number in sync_numbers for number in range(1, len(durations) + 1)]
    return _Run(track.track_id, 0, durations, offsets, sync)
