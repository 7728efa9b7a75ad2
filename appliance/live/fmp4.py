"""Cut ffmpeg's fragmented MP4 stream (stdout) into an init segment and fragments, for Media Source Extensions.

ffmpeg writes `-movflags +frag_keyframe+empty_moov+default_base_moof` as: ftyp, moov (no samples),
then moof+mdat pairs. A browser needs the init segment (ftyp+moov) once, then whole fragments, and a
viewer who joins late must start at a fragment whose first sample is a keyframe: its sample flags
(trun's first-sample flags, per-sample flags, tfhd's or trex's defaults) say so.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_HEADER = struct.Struct(">I4s")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
MAX_BOX = 32 * 1024 * 1024  # a live fragment larger than this is not one we can relay
SAMPLE_IS_NON_SYNC = 0x00010000
CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf"})


class MalformedStream(Exception):
    """The bytes are not a fragmented MP4 stream."""


@dataclass(frozen=True)
class InitSegment:
    """ftyp + moov: what a browser's SourceBuffer needs before any fragment."""

    data: bytes
    codec: str  # the RFC 6381 codec string for MediaSource.isTypeSupported(), e.g. avc1.42c01e

    @property
    def mime(self) -> str:
        """Return the MIME type with codecs for MediaSource.addSourceBuffer()."""
        return f'video/mp4; codecs="{self.codec}"'


@dataclass(frozen=True)
class Fragment:
    """moof + mdat: a few frames of video."""

    data: bytes
    keyframe: bool  # its first sample is a sync sample: a viewer may start here


def _boxes(buf: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """Return (type, payload start, box end) of the boxes between start and end."""
    found = []
    pos = start
    while pos + 8 <= end:
        size, kind = _HEADER.unpack_from(buf, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                break
            size = _U64.unpack_from(buf, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            break
        found.append((kind, pos + header, pos + size))
        pos += size
    return found


def _find(buf: bytes, start: int, end: int, path: list[bytes]) -> list[tuple[int, int]]:
    """Return (payload start, end) of every box at `path` below the range."""
    if not path:
        return [(start, end)]
    out: list[tuple[int, int]] = []
    for kind, payload, box_end in _boxes(buf, start, end):
        if kind == path[0]:
            out += _find(buf, payload, box_end, path[1:])
    return out


def codec_string(moov: bytes) -> str:
    """Return the codec string of the first video sample entry in a moov payload (avc1.*, hev1.*, hvc1.*)."""
    for stsd_start, stsd_end in _find(moov, 0, len(moov), [b"trak", b"mdia", b"minf", b"stbl", b"stsd"]):
        # stsd: version/flags (4), entry count (4), then sample entries
        for kind, payload, end in _boxes(moov, stsd_start + 8, stsd_end):
            name = kind.decode("latin-1")
            # a visual sample entry has 78 bytes of fields before its child boxes
            children = _boxes(moov, payload + 78, end)
            for child, child_payload, child_end in children:
                record = moov[child_payload:child_end]
                if child == b"avcC" and len(record) >= 4:
                    return f"{name}.{record[1]:02x}{record[2]:02x}{record[3]:02x}"
                if child == b"hvcC" and len(record) >= 13:
                    return f"{name}.{_hevc_codec(record)}"
            return name
    raise MalformedStream("no video sample entry in moov")


def _hevc_codec(record: bytes) -> str:
    """Return the hev1/hvc1 codec parameters (ISO/IEC 14496-15 annex E) from an hvcC record."""
    space = "ABC"[(record[1] >> 6) - 1] if record[1] >> 6 else ""
    tier = "H" if record[1] & 0x20 else "L"
    profile = record[1] & 0x1F
    compat = int.from_bytes(record[2:6], "big")
    reversed_compat = int(f"{compat:032b}"[::-1], 2)
    constraints = list(record[6:12])
    while constraints and constraints[-1] == 0:
        constraints.pop()
    parts = [f"{space}{profile}", f"{reversed_compat:x}", f"{tier}{record[12]}"] + [f"{c:x}" for c in constraints]
    return ".".join(parts)


def _trex_flags(moov: bytes) -> int:
    """Return the default sample flags of the (first) track, from moov/mvex/trex; 0 when absent."""
    for start, end in _find(moov, 0, len(moov), [b"mvex", b"trex"]):
        if end - start >= 24:
            return int(_U32.unpack_from(moov, start + 20)[0])
    return 0


def first_sample_is_sync(moof: bytes, default_flags: int) -> bool:
    """Return whether the first sample of a moof payload's first track run is a keyframe."""
    for traf_start, traf_end in _find(moof, 0, len(moof), [b"traf"]):
        flags_default = default_flags
        for kind, payload, end in _boxes(moof, traf_start, traf_end):
            if kind == b"tfhd" and end - payload >= 8:
                tf_flags = _U32.unpack_from(moof, payload)[0] & 0xFFFFFF
                pos = payload + 8  # version/flags, track_ID
                for bit, size in ((0x1, 8), (0x2, 4), (0x8, 4), (0x10, 4)):
                    if tf_flags & bit:
                        pos += size
                if tf_flags & 0x20 and pos + 4 <= end:
                    flags_default = _U32.unpack_from(moof, pos)[0]
            elif kind == b"trun" and end - payload >= 8:
                tr_flags = _U32.unpack_from(moof, payload)[0] & 0xFFFFFF
                pos = payload + 8  # version/flags, sample_count
                if tr_flags & 0x1:
                    pos += 4  # data_offset
                if tr_flags & 0x4 and pos + 4 <= end:
                    return not _U32.unpack_from(moof, pos)[0] & SAMPLE_IS_NON_SYNC
                if tr_flags & 0x400:
                    pos += 4 * bool(tr_flags & 0x100) + 4 * bool(tr_flags & 0x200)
                    if pos + 4 <= end:
                        return not _U32.unpack_from(moof, pos)[0] & SAMPLE_IS_NON_SYNC
                return not flags_default & SAMPLE_IS_NON_SYNC
    return False


class FragmentSplitter:
    """Feed bytes as they arrive; take back the init segment and whole fragments."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._ftyp = b""
        self._moof = b""
        self._default_flags = 0
        self.init: InitSegment | None = None

    def feed(self, data: bytes) -> list[InitSegment | Fragment]:
        """Take the next bytes of the stream; return what they complete, in order."""
        self._buf += data
        out: list[InitSegment | Fragment] = []
        while True:
            box = self._next_box()
            if box is None:
                return out
            kind, raw, header = box
            if kind == b"ftyp":
                self._ftyp = raw
            elif kind == b"moov":
                payload = raw[header:]
                self._default_flags = _trex_flags(payload)
                self.init = InitSegment(self._ftyp + raw, codec_string(payload))
                out.append(self.init)
            elif kind == b"moof":
                self._moof = raw
            elif kind == b"mdat" and self._moof:
                if self.init is None:
                    raise MalformedStream("a fragment before the init segment")
                moof = self._moof
                self._moof = b""
                keyframe = first_sample_is_sync(moof[8:], self._default_flags)
                out.append(Fragment(moof + raw, keyframe))
            # styp, sidx, free and the like: nothing a browser needs

    def _next_box(self) -> tuple[bytes, bytes, int] | None:
        if len(self._buf) < 8:
            return None
        size, kind = _HEADER.unpack_from(self._buf, 0)
        header = 8
        if size == 1:
            if len(self._buf) < 16:
                return None
            size = _U64.unpack_from(self._buf, 8)[0]
            header = 16
        if size < header or size > MAX_BOX:
            raise MalformedStream(f"box {kind!r} of {size} bytes")
        if len(self._buf) < size:
            return None
        raw = bytes(self._buf[:size])
        del self._buf[:size]
        return kind, raw, header
