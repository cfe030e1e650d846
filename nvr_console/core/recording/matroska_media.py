"""Whether a raw Matroska segment holds any media at all, without starting ffprobe.

FFmpeg writes a segment's header (EBML header, then in the Segment: SeekHead, Void, Info, Tracks, Tags) as
soon as its encoders or stream copies are set up, before the first packet. A recorder stopped in that
instant (a `q` 0.1 s after it started, measured: a 720-byte file from the demo camera), or one whose disk
filled up, leaves such a file with no packet. ffprobe calls it "End of file" (unreadable), so without this
check it was kept as an unreadable segment forever though there is nothing in it to keep.

Every packet of a Matroska file lives in a (Simple)Block, and those only inside a Cluster. The test here is
one-sided on purpose: a file counts as holding no media only when it is empty, or when its whole structure
reads cleanly (the EBML header, then a Segment whose children are all known header elements, each lying
inside the file, up to its very end) with no Cluster among them. Anything else (a Cluster, an unknown or
cut-short element, junk, a file larger than any header) counts as media and goes the ffprobe way, where
an unreadable file is kept with its reason.
"""

from __future__ import annotations

from pathlib import Path

EBML_ID = 0x1A45DFA3
SEGMENT_ID = 0x18538067
CLUSTER_ID = 0x1F43B675
# The Segment's children that carry no packet: SeekHead, Info, Tracks, Tags, Cues, Chapters, Attachments,
# Void, CRC-32.
HEADER_IDS = frozenset({0x114D9B74, 0x1549A966, 0x1654AE6B, 0x1254C367, 0x1C53BB6B, 0x1043A770, 0x1941A469,
                        0xEC, 0xBF})
# A header is a few hundred bytes plus the codec set-up (an H.264 SPS/PPS, AAC config): far under this.
HEADER_ONLY_MAX = 256 * 1024


class _Unsure(Exception):
    """The bytes are not a clean Matroska header: the file may hold media."""


def holds_no_media(path: Path) -> bool:
    """True when `path` is empty, or a well-formed Matroska file of at most HEADER_ONLY_MAX bytes with no
    Cluster (so no packet). False in every other case, including when the file cannot be read. Any thread."""
    try:
        if path.stat().st_size > HEADER_ONLY_MAX:
            return False  # every finished segment passes here: a real one costs a stat, not a read
        with path.open("rb") as f:
            data = f.read(HEADER_ONLY_MAX + 1)
    except OSError:
        return False
    if not data:
        return True
    if len(data) > HEADER_ONLY_MAX:
        return False
    try:
        return _header_only(data)
    except _Unsure:
        return False


def _header_only(data: bytes) -> bool:
    ident, body, end = _element(data, 0, len(data))
    if ident != EBML_ID or end is None:
        raise _Unsure
    ident, body, seg_end = _element(data, end, len(data))
    if ident != SEGMENT_ID:
        raise _Unsure
    seg_end = len(data) if seg_end is None else seg_end  # unknown size (a crash): up to the end of the file
    if seg_end != len(data):
        raise _Unsure  # cut short, or something after the Segment
    pos = body
    while pos < seg_end:
        ident, _, child_end = _element(data, pos, seg_end)
        if ident == CLUSTER_ID:
            return False
        if ident not in HEADER_IDS or child_end is None:
            raise _Unsure
        pos = child_end
    return True


def _element(data: bytes, pos: int, limit: int) -> tuple[int, int, int | None]:
    """(ID, where its body starts, where it ends or None for an unknown size) of the element at `pos`."""
    ident, n = _vint(data, pos, limit, keep_marker=True)
    if n > 4:
        raise _Unsure  # element IDs are 1 to 4 bytes
    size, m = _vint(data, pos + n, limit, keep_marker=False)
    body = pos + n + m
    if size == (1 << (7 * m)) - 1:  # all ones: unknown size
        return ident, body, None
    if body + size > limit:
        raise _Unsure
    return ident, body, body + size


def _vint(data: bytes, pos: int, limit: int, *, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-length integer at `pos`: (value, its length in bytes)."""
    if pos >= limit:
        raise _Unsure
    first = data[pos]
    length = 1
    while length <= 8 and not first & (0x100 >> length):
        length += 1
    if length > 8 or pos + length > limit:
        raise _Unsure
    value = first if keep_marker else first & ((0x100 >> length) - 1)
    for b in data[pos + 1:pos + length]:
        value = (value << 8) | b
    return value, length
