"""Join the fragmented MP4 outputs of successive ffmpeg runs into one continuous stream.

A playback stream outlives one ffmpeg: the segments to play are read from the index in batches, and
new ones close while someone watches. Each run writes its own ftyp+moov and fragments whose decode
times start again near 0. The Splicer keeps the first run's init segment, drops the next runs' (when
they describe the same tracks), moves each later fragment's decode time (tfdt) to where the stream
has got to, and numbers the fragments (mfhd) on. A run whose tracks differ (the camera's stream
changed) cannot follow in the same file: IncompatibleRun ends the stream there.

The evidence export (appliance/requests/splice_export.py) splices the recorded segments themselves,
each one a run: `take_init` and `place` work on the bytes of a file read whole, patching each moof
where it lies, and `next_run(start_s)` places a run's moment start_s (a keyframe after a cut) at the
stream's end.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from appliance.live.fmp4 import Fragment, FragmentSplitter, InitSegment, MalformedStream

_HEADER = struct.Struct(">I4s")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


class IncompatibleRun(Exception):
    """The next run's tracks differ from the stream's: it cannot be appended to the same file."""


def boxes(buf: bytes | bytearray | memoryview, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """Return (type, payload start, box end) of the boxes between start and end (32-bit sizes and largesize)."""
    found = []
    pos = start
    while pos + 8 <= end:
        size, kind = _HEADER.unpack_from(buf, pos)
        header = 8
        if size == 1 and pos + 16 <= end:
            size, header = _U64.unpack_from(buf, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise MalformedStream(f"box {kind!r} overruns its parent")
        found.append((kind, pos + header, pos + size))
        pos += size
    return found


def _child(buf: bytes | bytearray | memoryview, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for found, payload, box_end in boxes(buf, start, end):
        if found == kind:
            return payload, box_end
    return None


VISUAL_ENTRY_FIELDS = 78  # bytes of a visual sample entry before its boxes (ISO/IEC 14496-12)
AUDIO_ENTRY_FIELDS = 28
VISUAL_ENTRIES = frozenset({b"avc1", b"avc3", b"hvc1", b"hev1"})


def _descriptor(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Return (tag, content start, content end) of the MPEG-4 descriptor at pos (sizes in 7-bit groups)."""
    tag, size, pos = buf[pos], 0, pos + 1
    for _ in range(4):
        byte = buf[pos]
        pos += 1
        size = size << 7 | byte & 0x7F
        if not byte & 0x80:
            break
    if pos + size > end:
        raise MalformedStream("an esds descriptor overruns its box")
    return tag, pos, pos + size


def _audio_config(esds: bytes) -> bytes:
    """Return what identifies an esds: the object type and the decoder-specific config, not the bit rates."""
    tag, pos, end = _descriptor(esds, 4, len(esds))  # after version and flags: the ES_Descriptor
    if tag != 0x03:
        return esds
    flags = esds[pos + 2]
    pos += 3 + (2 if flags & 0x80 else 0)  # ES_ID, flags, the ES it depends on
    if flags & 0x40:
        pos += 1 + esds[pos]  # a URL
    pos += 2 if flags & 0x20 else 0  # an OCR stream
    while pos < end:
        tag, start, stop = _descriptor(esds, pos, end)
        if tag == 0x04:  # DecoderConfigDescriptor: object type (1), stream type (1), buffer (3), bit rates (8)
            inner = start + 13
            while inner < stop:
                sub, sub_start, sub_stop = _descriptor(esds, inner, stop)
                if sub == 0x05:
                    return esds[start : start + 1] + esds[sub_start:sub_stop]
                inner = sub_stop
            return esds[start : start + 1]
        pos = stop
    return esds


def _entries_signature(moov: bytes, start: int, end: int) -> bytes:
    """Return what must match in two runs' sample descriptions: the codec and its configuration.

    ffmpeg writes each run's measured bit rates too (btrt, and inside esds), which differ run to run and
    matter to no player: they are left out.
    """
    out = bytearray()
    for kind, payload, entry_end in boxes(moov, start + 8, end):  # after version, flags and entry count
        fields = VISUAL_ENTRY_FIELDS if kind in VISUAL_ENTRIES else AUDIO_ENTRY_FIELDS
        out += kind + moov[payload : payload + fields]
        for child, child_start, child_end in boxes(moov, payload + fields, entry_end):
            if child == b"btrt":
                continue
            body = moov[child_start:child_end]
            out += child + (_audio_config(body) if child == b"esds" else body)
    return bytes(out)


@dataclass(frozen=True)
class Track:
    """What a fragment needs from the moov: the track's timescale, kind and default sample values (trex)."""

    track_id: int
    timescale: int
    handler: bytes
    default_duration: int = 0
    default_size: int = 0
    default_flags: int = 0


@dataclass(frozen=True)
class InitInfo:
    """An init segment's tracks, and the bytes that must match for another run to follow it."""

    tracks: dict[int, Track]
    signature: bytes
    video_track: int


def read_init(moov: bytes) -> InitInfo:
    """Read a moov payload: every track's id, timescale and handler, and what identifies the tracks."""
    tracks: dict[int, Track] = {}
    signature = bytearray()
    video = 0
    trex: dict[int, tuple[int, int, int]] = {}  # default sample duration, size and flags
    for kind, payload, end in boxes(moov, 0, len(moov)):
        if kind == b"mvex":
            for sub, sub_payload, sub_end in boxes(moov, payload, end):
                if sub == b"trex" and sub_end - sub_payload >= 24:
                    track_id, _, duration, size, flags = struct.unpack_from(">5I", moov, sub_payload + 4)
                    trex[track_id] = (duration, size, flags)
                    signature += moov[sub_payload:sub_end]
        if kind != b"trak":
            continue
        tkhd = _child(moov, payload, end, b"tkhd")
        mdia = _child(moov, payload, end, b"mdia")
        if tkhd is None or mdia is None:
            raise MalformedStream("a trak without tkhd or mdia")
        version = moov[tkhd[0]]
        track_id = _U32.unpack_from(moov, tkhd[0] + (20 if version == 1 else 12))[0]
        mdhd = _child(moov, mdia[0], mdia[1], b"mdhd")
        hdlr = _child(moov, mdia[0], mdia[1], b"hdlr")
        minf = _child(moov, mdia[0], mdia[1], b"minf")
        stbl = _child(moov, minf[0], minf[1], b"stbl") if minf else None
        stsd = _child(moov, stbl[0], stbl[1], b"stsd") if stbl else None
        if mdhd is None or hdlr is None or stsd is None:
            raise MalformedStream("a trak without mdhd, hdlr or stsd")
        timescale = _U32.unpack_from(moov, mdhd[0] + (20 if moov[mdhd[0]] == 1 else 12))[0]
        handler = bytes(moov[hdlr[0] + 8 : hdlr[0] + 12])
        tracks[track_id] = Track(track_id, timescale, handler)
        if handler == b"vide" and not video:
            video = track_id
        signature += struct.pack(">II", track_id, timescale) + handler + _entries_signature(moov, *stsd)
    if not video or any(t.timescale <= 0 for t in tracks.values()):
        raise MalformedStream("no video track, or a track without a timescale")
    tracks = {i: Track(i, t.timescale, t.handler, *trex.get(i, (0, 0, 0))) for i, t in tracks.items()}
    return InitInfo(tracks, bytes(signature), video)


@dataclass
class _TrackRun:
    """Where one track of one fragment starts and ends (decode time, in the track's timescale)."""

    track_id: int
    tfdt_at: int  # offset of the tfdt payload in the moof
    version: int
    start: int
    duration: int


def _track_runs(moof: bytearray | memoryview, tracks: dict[int, Track]) -> tuple[int, list[_TrackRun]]:
    """Return the offset of mfhd's sequence number and each traf's decode time and duration."""
    sequence_at = -1
    runs: list[_TrackRun] = []
    for kind, payload, end in boxes(moof, 8, len(moof)):
        if kind == b"mfhd":
            sequence_at = payload + 4
        if kind != b"traf":
            continue
        track_id, default_duration, tfdt, duration = 0, 0, None, 0
        for sub, at, sub_end in boxes(moof, payload, end):
            flags = _U32.unpack_from(moof, at)[0] & 0xFFFFFF
            if sub == b"tfhd":
                track_id = _U32.unpack_from(moof, at + 4)[0]
                track = tracks.get(track_id)
                default_duration = track.default_duration if track else 0
                pos = at + 8 + (8 if flags & 0x1 else 0) + (4 if flags & 0x2 else 0)
                if flags & 0x8:
                    default_duration = _U32.unpack_from(moof, pos)[0]
            elif sub == b"tfdt":
                version = moof[at]
                value = _U64.unpack_from(moof, at + 4)[0] if version == 1 else _U32.unpack_from(moof, at + 4)[0]
                tfdt = (at + 4, version, value)
            elif sub == b"trun":
                count = _U32.unpack_from(moof, at + 4)[0]
                pos = at + 8 + (4 if flags & 0x1 else 0) + (4 if flags & 0x4 else 0)
                if flags & 0x100:
                    stride = 4 * sum(bool(flags & bit) for bit in (0x100, 0x200, 0x400, 0x800))
                    if pos + stride * count > sub_end:
                        raise MalformedStream("trun overruns its box")
                    duration += sum(_U32.unpack_from(moof, pos + i * stride)[0] for i in range(count))
                else:
                    duration += default_duration * count
        if tfdt is None:
            raise MalformedStream("a traf without tfdt")
        runs.append(_TrackRun(track_id, tfdt[0], tfdt[1], tfdt[2], duration))
    return sequence_at, runs


@dataclass
class Splicer:
    """Turn the outputs of successive ffmpeg runs into the bytes of one continuous fragmented MP4."""

    init: InitInfo | None = None
    end_ts: int = 0  # where the video track has got to, in its timescale
    fragments: int = 0
    _run_offset_s: float = 0.0
    _run_started: bool = False
    _splitter: FragmentSplitter = field(default_factory=FragmentSplitter)

    @property
    def end_s(self) -> float:
        """Return how many seconds of video the stream holds so far."""
        if self.init is None:
            return 0.0
        return self.end_ts / self.init.tracks[self.init.video_track].timescale

    def next_run(self, start_s: float = 0.0) -> None:
        """Expect a new run, its moment start_s (in its own time) to be placed after everything so far."""
        self._splitter = FragmentSplitter()
        self._run_offset_s = self.end_s - start_s
        self._run_started = False

    def feed(self, data: bytes) -> bytes:
        """Take the next bytes of the current run; return the bytes to send on (possibly none yet)."""
        out = bytearray()
        for piece in self._splitter.feed(data):
            if isinstance(piece, InitSegment):
                out += self.take_init(piece.data)
            else:
                out += self._shift(piece)
        return bytes(out)

    def take_init(self, data: bytes) -> bytes:
        """Take a run's init segment (ftyp+moov); return it if it is the stream's first, else nothing.

        IncompatibleRun when its tracks differ from the stream's.
        """
        ftyp_size = _U32.unpack_from(data, 0)[0]
        moov = data[ftyp_size:]
        info = read_init(moov[8:])
        if self.init is None:
            self.init = info
            return data
        if info.signature != self.init.signature:
            raise IncompatibleRun("the next recording's tracks differ from the stream's")
        return b""

    def _shift(self, piece: Fragment) -> bytes:
        """Renumber a fragment and move its decode times after what was sent before."""
        moof_size = _U32.unpack_from(piece.data, 0)[0]
        moof = bytearray(piece.data[:moof_size])
        self.place(moof)
        return bytes(moof) + piece.data[moof_size:]

    def place(self, moof: bytearray | memoryview) -> None:
        """Renumber one moof box (header included) and move its decode times after what was sent before, in place.

        A decode time that would fall before the stream's start (audio a little ahead of the keyframe a cut
        starts at) is set to the start.
        """
        assert self.init is not None
        sequence_at, runs = _track_runs(moof, self.init.tracks)
        self.fragments += 1
        if sequence_at >= 0:
            _U32.pack_into(moof, sequence_at, self.fragments)
        for run in runs:
            track = self.init.tracks.get(run.track_id)
            if track is None:
                raise MalformedStream(f"a fragment of unknown track {run.track_id}")
            start = max(0, run.start + round(self._run_offset_s * track.timescale))
            if run.version == 1:
                _U64.pack_into(moof, run.tfdt_at, start)
            elif start < 2**32:
                _U32.pack_into(moof, run.tfdt_at, start)
            else:
                raise MalformedStream("a 32-bit decode time overflows")
            if run.track_id == self.init.video_track:
                self.end_ts = max(self.end_ts, start + run.duration)
