"""Read the box structure of an MP4 we have just written, instead of starting ffprobe on it.

The finalizer used to run ffprobe on every MP4 it wrote to check it and learn its duration: a process
start costs about 0.1 CPU-s, a third of all the per-file work. The file is our own, written by FFmpeg's
mp4 muxer with +faststart, so its structure is known and reading it takes a few reads of the header:

  ftyp, moov (mvhd: movie timescale and duration; trak -> mdia -> mdhd, hdlr, minf -> stbl -> stsd,
  stsz, stco/co64), free, mdat

`read_mp4()` checks what ffprobe's success used to promise and more: every box lies inside the file
(a truncated file fails), there is a moov with at least one audio or video track and an mdat holding
every sample the tables name. It returns probe.MediaInfo, the same type probe() does.
"""

from __future__ import annotations

import dataclasses
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from nvr_console.core.recording.probe import MediaInfo, ProbeError, StreamInfo

# What ffprobe calls FFmpeg's mov/mp4 demuxer, so a MediaInfo from here reads like one from probe().
FORMAT_NAME = "mov,mp4,m4a,3gp,3g2,mj2"
# The moov of a 30-minute 25 fps file with audio is ~0.5 MiB; anything far larger is not ours.
MAX_MOOV_BYTES = 64 * 1024 * 1024
# Sample entry fourcc -> FFmpeg's codec name (what probe() reports as StreamInfo.codec).
CODECS = {
    "avc1": "h264", "avc3": "h264", "hvc1": "hevc", "hev1": "hevc", "av01": "av1", "vp09": "vp9",
    "mp4v": "mpeg4", "mp4a": "aac", ".mp3": "mp3", "Opus": "opus", "fLaC": "flac", "ac-3": "ac3",
    "ec-3": "eac3", "alaw": "pcm_alaw", "ulaw": "pcm_mulaw",
}
# MPEG-4 objectTypeIndication in an mp4a's esds: MPEG-1/2 audio layer 3 (FFmpeg writes MP3 as mp4a too).
_MP3_OBJECT_TYPES = frozenset({0x69, 0x6B})
_KINDS = {"vide": "video", "soun": "audio", "sbtl": "subtitle", "text": "subtitle", "subt": "subtitle"}


@dataclass(frozen=True)
class _Box:
    kind: str
    start: int  # offset of the box header in its buffer (or file)
    body: int  # offset of the payload
    end: int


def _boxes(buf: bytes, start: int, end: int, where: str) -> list[_Box]:
    """The child boxes in buf[start:end]; ProbeError if one overruns its parent."""
    out = []
    pos = start
    while pos + 8 <= end:
        size, kind_raw = struct.unpack_from(">I4s", buf, pos)
        body = pos + 8
        if size == 1:
            if pos + 16 > end:
                raise ProbeError(f"{where}: a box header is cut short")
            (size,) = struct.unpack_from(">Q", buf, pos + 8)
            body = pos + 16
        elif size == 0:
            size = end - pos
        kind = kind_raw.decode("latin-1")
        if size < body - pos or pos + size > end:
            raise ProbeError(f"{where}: the {kind!r} box overruns its parent (malformed MP4)")
        out.append(_Box(kind, pos, body, pos + size))
        pos += size
    return out


def _child(buf: bytes, parent: _Box, kind: str, where: str) -> _Box | None:
    return next((b for b in _boxes(buf, parent.body, parent.end, where) if b.kind == kind), None)


def _need(buf: bytes, parent: _Box, kind: str, where: str) -> _Box:
    box = _child(buf, parent, kind, where)
    if box is None:
        raise ProbeError(f"{where}: no {kind!r} box in {parent.kind!r} (malformed MP4)")
    return box


def _fields(buf: bytes, box: _Box, fmt: str, offset: int, where: str) -> tuple[int, ...]:
    """Unpack `fmt` (integer fields only) at `offset` into a box's payload, checking it fits inside the box."""
    return _unpack(buf, box, fmt, offset, where)


def _fourcc(buf: bytes, box: _Box, offset: int, where: str) -> str:
    """The four-character code at `offset` into a box's payload."""
    (raw,) = _unpack(buf, box, ">4s", offset, where)
    assert isinstance(raw, bytes)
    return raw.decode("latin-1")


def _unpack(buf: bytes, box: _Box, fmt: str, offset: int, where: str) -> tuple[Any, ...]:
    pos = box.body + offset
    if pos + struct.calcsize(fmt) > box.end:
        raise ProbeError(f"{where}: the {box.kind!r} box is too short (malformed MP4)")
    return struct.unpack_from(fmt, buf, pos)


def _timescale_duration(buf: bytes, box: _Box, where: str) -> tuple[int, int]:
    """(timescale, duration) of an mvhd or mdhd box, version 0 (32-bit) or 1 (64-bit times)."""
    (version,) = _fields(buf, box, ">B", 0, where)
    if version == 1:
        timescale, duration = _fields(buf, box, ">IQ", 20, where)
    else:
        timescale, duration = _fields(buf, box, ">II", 12, where)
    return timescale, duration


def _read_header(f: BinaryIO, pos: int, file_size: int, where: str) -> _Box:
    f.seek(pos)
    head = f.read(16)
    if len(head) < 8:
        raise ProbeError(f"{where}: truncated: a box header is cut short at byte {pos}")
    size, kind_raw = struct.unpack_from(">I4s", head)
    kind = kind_raw.decode("latin-1")
    body = pos + 8
    if size == 1:
        if len(head) < 16:
            raise ProbeError(f"{where}: truncated: a box header is cut short at byte {pos}")
        (size,) = struct.unpack_from(">Q", head, 8)
        body = pos + 16
    elif size == 0:
        size = file_size - pos
    if size < body - pos:
        raise ProbeError(f"{where}: the {kind!r} box at byte {pos} has an impossible size {size} (malformed MP4)")
    if pos + size > file_size:
        raise ProbeError(f"{where}: truncated: the {kind!r} box needs {pos + size} bytes, the file has {file_size}")
    return _Box(kind, pos, body, pos + size)


def _esds(buf: bytes, esds: _Box) -> tuple[int | None, bytes]:
    """(objectTypeIndication, DecoderSpecificInfo) from an esds box: ES_Descriptor (tag 3) ->
    DecoderConfigDescriptor (tag 4) -> DecoderSpecificInfo (tag 5); (None, b"") where absent."""
    end = esds.end

    def descriptor(p: int) -> tuple[int, int, int]:  # (tag, payload start, payload end)
        tag = buf[p]
        p += 1
        length = 0
        for _ in range(4):  # expandable size: 7 bits a byte, high bit = more follows
            if p >= end:
                return tag, end, end
            byte = buf[p]
            p += 1
            length = (length << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        return tag, p, min(end, p + length)

    p = esds.body + 4  # after version/flags
    if p >= end:
        return None, b""
    tag, p, stop = descriptor(p)
    if tag != 0x03 or p + 3 > stop:
        return None, b""
    flags = buf[p + 2]
    p += 3  # ES_ID, flags
    if flags & 0x80:
        p += 2  # dependsOn_ES_ID
    if flags & 0x40 and p < stop:
        p += 1 + buf[p]  # URL
    if flags & 0x20:
        p += 2  # OCR_ES_Id
    if p >= stop:
        return None, b""
    tag, p, stop = descriptor(p)
    if tag != 0x04 or p >= stop:
        return None, b""
    object_type = buf[p]
    p += 13  # objectTypeIndication, streamType, bufferSizeDB, maxBitrate, avgBitrate
    if p < stop:
        tag, p, dsi_end = descriptor(p)
        if tag == 0x05:
            return object_type, buf[p:dsi_end]
    return object_type, b""


def _aac_channels(config: bytes) -> int | None:
    """channelConfiguration from an AAC AudioSpecificConfig (the sample entry always says 2 in MP4)."""
    if len(config) < 2:
        return None
    bits = int.from_bytes(config[:5].ljust(5, b"\0"), "big")
    pos = 40 - 5  # audioObjectType: 5 bits (31 = escape, 6 more)
    if bits >> pos == 31:
        pos -= 6
    pos -= 4  # samplingFrequencyIndex (15 = escape, a 24-bit frequency follows)
    if (bits >> pos) & 0xF == 0xF:
        pos -= 24
    if pos < 4:
        return None
    channels = (bits >> (pos - 4)) & 0xF
    return {7: 8}.get(channels, channels) or None  # 0: defined in the stream (rare); 7 means 7.1


def _sample_entry(buf: bytes, entry: _Box, kind: str, timescale: int, where: str) -> StreamInfo:
    """Codec and picture or sound format from the first sample entry of an stsd box."""
    fourcc = entry.kind
    codec = CODECS.get(fourcc, fourcc.strip().lower())
    width = height = sample_rate = channels = None
    if kind == "video":
        width, height = _fields(buf, entry, ">HH", 24, where)  # after SampleEntry (8) + 16 bytes pre_defined
    elif kind == "audio":
        version, = _fields(buf, entry, ">H", 8, where)
        channels, _bits, _pre, _res, rate_fixed = _fields(buf, entry, ">HHHHI", 16, where)
        sample_rate = rate_fixed >> 16 or timescale  # 16.16 fixed point; mdhd timescale is the rate too
        if fourcc == "mp4a":
            # Child boxes follow 20 bytes of audio fields (QuickTime sound description versions 1 and 2
            # add 16 and 36 bytes; FFmpeg's mp4 mode writes version 0).
            extra = {1: 16, 2: 36}.get(version, 0)
            esds = next((b for b in _boxes(buf, entry.body + 28 + extra, entry.end, where) if b.kind == "esds"),
                        None)
            object_type, config = _esds(buf, esds) if esds is not None else (None, b"")
            if object_type in _MP3_OBJECT_TYPES:
                codec, channels = "mp3", None  # the count is in the MP3 frame headers, not here
            else:
                channels = _aac_channels(config)
    return StreamInfo(index=0, kind=kind, codec=codec, width=width, height=height, sample_rate=sample_rate,
                      channels=channels)


@dataclass(frozen=True)
class _Track:
    stream: StreamInfo
    samples: int
    sample_bytes: int
    first_chunk: int | None
    last_chunk: int | None


def _track(buf: bytes, trak: _Box, index: int, where: str) -> _Track:
    mdia = _need(buf, trak, "mdia", where)
    timescale, duration = _timescale_duration(buf, _need(buf, mdia, "mdhd", where), where)
    handler = _fourcc(buf, _need(buf, mdia, "hdlr", where), 8, where)
    kind = _KINDS.get(handler, "data")
    stbl = _need(buf, _need(buf, mdia, "minf", where), "stbl", where)
    stsd = _need(buf, stbl, "stsd", where)
    (entries,) = _fields(buf, stsd, ">I", 4, where)
    sample_entries = _boxes(buf, stsd.body + 8, stsd.end, where)
    if entries < 1 or not sample_entries:
        raise ProbeError(f"{where}: track {index} has no sample description (malformed MP4)")
    described = _sample_entry(buf, sample_entries[0], kind, timescale, where)

    stsz = _need(buf, stbl, "stsz", where)
    uniform, samples = _fields(buf, stsz, ">II", 4, where)
    if uniform:
        sample_bytes = uniform * samples
    else:
        if stsz.body + 12 + 4 * samples > stsz.end:
            raise ProbeError(f"{where}: track {index}'s sample size table is cut short (malformed MP4)")
        sample_bytes = sum(struct.unpack_from(f">{samples}I", buf, stsz.body + 12))
    chunks = _child(buf, stbl, "stco", where)
    width_of_offset = 4
    if chunks is None:
        chunks, width_of_offset = _child(buf, stbl, "co64", where), 8
    first = last = None
    if chunks is not None:
        (count,) = _fields(buf, chunks, ">I", 4, where)
        if chunks.body + 8 + width_of_offset * count > chunks.end:
            raise ProbeError(f"{where}: track {index}'s chunk offset table is cut short (malformed MP4)")
        if count:
            offsets = struct.unpack_from(f">{count}{'I' if width_of_offset == 4 else 'Q'}", buf, chunks.body + 8)
            first, last = min(offsets), max(offsets)
    if samples and first is None:
        raise ProbeError(f"{where}: track {index} has samples but no chunk offsets (malformed MP4)")
    fps = None
    if kind == "video" and samples and duration and timescale:
        fps = round(samples * timescale / duration, 3)  # as ffprobe's avg_frame_rate, to the millisecond
    stream = dataclasses.replace(described, index=index, fps=fps, frames=samples,
                                 duration_s=duration / timescale if timescale else None, timescale=timescale or None)
    return _Track(stream, samples, sample_bytes, first, last)


def _top_boxes(path: Path, where: str) -> tuple[list[_Box], bytes]:
    """The file's top-level boxes (it must start with 'ftyp') and the bytes of its one 'moov' box (b"" when
    there is none); ProbeError when it is not an MP4 or cannot be read. Blocking file I/O."""
    tops: list[_Box] = []
    moov_buf = b""
    try:
        with path.open("rb") as f:
            file_size = os.fstat(f.fileno()).st_size
            if file_size < 8:
                raise ProbeError(f"{where}: not an MP4 ({file_size} bytes)")
            pos = 0
            while pos < file_size:
                box = _read_header(f, pos, file_size, where)
                if not tops and box.kind != "ftyp":
                    raise ProbeError(f"{where}: not an MP4 (starts with {box.kind!r}, not 'ftyp')")
                if box.kind == "moov":
                    if moov_buf:
                        raise ProbeError(f"{where}: two 'moov' boxes (malformed MP4)")
                    if box.end - box.start > MAX_MOOV_BYTES:
                        raise ProbeError(f"{where}: the 'moov' box is implausibly large ({box.end - box.start} bytes)")
                    f.seek(box.start)
                    moov_buf = f.read(box.end - box.start)
                tops.append(box)
                pos = box.end
    except FileNotFoundError:
        raise ProbeError(f"{where}: no such file") from None
    except OSError as exc:
        raise ProbeError(f"{where}: cannot read: {exc.strerror or exc}") from None
    return tops, moov_buf


def read_mp4(path: str | os.PathLike[str]) -> MediaInfo:
    """Streams and duration of an MP4 from its boxes; ProbeError naming the file if it is malformed,
    truncated, holds no audio or video track, or its sample data is not all inside the mdat box.

    Blocking file I/O (a few small reads plus the moov box); any thread.
    """
    path = Path(path)
    where = str(path)
    tops, moov_buf = _top_boxes(path, where)
    if not moov_buf:
        raise ProbeError(f"{where}: no 'moov' box: the MP4 was not finished")
    mdats = [b for b in tops if b.kind == "mdat"]
    if not mdats or all(b.end == b.body for b in mdats):
        raise ProbeError(f"{where}: no media data (the 'mdat' box is missing or empty)")

    moov_top = next(b for b in tops if b.kind == "moov")
    moov = _Box("moov", 0, moov_top.body - moov_top.start, len(moov_buf))
    timescale, duration = _timescale_duration(moov_buf, _need(moov_buf, moov, "mvhd", where), where)
    if not timescale:
        raise ProbeError(f"{where}: the movie timescale is 0 (malformed MP4)")
    tracks = [_track(moov_buf, trak, i, where)
              for i, trak in enumerate(b for b in _boxes(moov_buf, moov.body, moov.end, where) if b.kind == "trak")]
    streams = tuple(t.stream for t in tracks if t.stream.kind in ("video", "audio"))
    if not streams:
        raise ProbeError(f"{where}: no audio or video streams")
    # Every sample the tables name must be inside the media data that is really in the file.
    data_bytes = sum(b.end - b.body for b in mdats)
    if sum(t.sample_bytes for t in tracks) > data_bytes:
        raise ProbeError(f"{where}: the sample tables name more data than the 'mdat' box holds (malformed MP4)")
    for t in tracks:
        if t.first_chunk is None or t.last_chunk is None:
            continue
        if not any(b.body <= t.first_chunk < b.end for b in mdats) or \
                not any(b.body <= t.last_chunk < b.end for b in mdats):
            raise ProbeError(f"{where}: track {t.stream.index}'s samples lie outside the 'mdat' box (malformed MP4)")
    return MediaInfo(format_name=FORMAT_NAME, duration_s=duration / timescale, start_time_s=None,
                     streams=streams, duration_source="container")



def video_keyframe_times(path: str | os.PathLike[str]) -> list[float]:
    """Presentation times (seconds, on the file's timeline) of the first video track's keyframes: where a
    `-c copy` cut can start. ProbeError if the file is not a readable MP4 or has no video. Any thread."""
    return [t for t, key in sample_times(path, "video") if key]


def sample_times(path: str | os.PathLike[str], kind: str) -> list[tuple[float, bool]]:
    """(presentation time in seconds, is a sync sample) of every sample of the first `kind` ("video" or
    "audio") track, in decode order, from its sample tables (stts, ctts, stss, elst). ProbeError if the file
    is not a readable MP4 or has no such track. Blocking file I/O; any thread."""
    path = Path(path)
    where = str(path)
    try:
        with path.open("rb") as f:
            file_size = os.fstat(f.fileno()).st_size
            pos, moov_buf = 0, b""
            while pos < file_size:
                box = _read_header(f, pos, file_size, where)
                if box.kind == "moov":
                    if box.end - box.start > MAX_MOOV_BYTES:
                        raise ProbeError(f"{where}: the 'moov' box is implausibly large")
                    f.seek(box.start)
                    moov_buf = f.read(box.end - box.start)
                    break
                pos = box.end
    except OSError as exc:
        raise ProbeError(f"{where}: cannot read: {exc.strerror or exc}") from None
    if not moov_buf:
        raise ProbeError(f"{where}: no 'moov' box")
    size, _ = struct.unpack_from(">I4s", moov_buf, 0)
    moov = _Box("moov", 0, 16 if size == 1 else 8, len(moov_buf))
    movie_scale, _ = _timescale_duration(moov_buf, _need(moov_buf, moov, "mvhd", where), where)
    handler_wanted = {"video": "vide", "audio": "soun"}[kind]
    for trak in (b for b in _boxes(moov_buf, moov.body, moov.end, where) if b.kind == "trak"):
        mdia = _need(moov_buf, trak, "mdia", where)
        if _fourcc(moov_buf, _need(moov_buf, mdia, "hdlr", where), 8, where) != handler_wanted:
            continue
        timescale, _ = _timescale_duration(moov_buf, _need(moov_buf, mdia, "mdhd", where), where)
        stbl = _need(moov_buf, _need(moov_buf, mdia, "minf", where), "stbl", where)
        dts = _decode_times(moov_buf, _need(moov_buf, stbl, "stts", where), where)
        offsets = _composition_offsets(moov_buf, _child(moov_buf, stbl, "ctts", where), len(dts), where)
        stss = _child(moov_buf, stbl, "stss", where)
        if stss is None:
            sync = set(range(len(dts)))
        else:
            (count,) = _fields(moov_buf, stss, ">I", 4, where)
            if stss.body + 8 + 4 * count > stss.end:
                raise ProbeError(f"{where}: the sync sample table is cut short (malformed MP4)")
            sync = {n - 1 for n in struct.unpack_from(f">{count}I", moov_buf, stss.body + 8) if 0 < n <= len(dts)}
        shift = _edit_shift(moov_buf, _child(moov_buf, trak, "edts", where), movie_scale, timescale, where)
        return [((dts[i] + offsets[i] - shift) / timescale, i in sync) for i in range(len(dts))]
    raise ProbeError(f"{where}: no {kind} track")


def _decode_times(buf: bytes, stts: _Box, where: str) -> list[int]:
    (count,) = _fields(buf, stts, ">I", 4, where)
    if stts.body + 8 + 8 * count > stts.end:
        raise ProbeError(f"{where}: the time-to-sample table is cut short (malformed MP4)")
    out, t = [], 0
    for i in range(count):
        n, delta = struct.unpack_from(">II", buf, stts.body + 8 + 8 * i)
        for _ in range(n):
            out.append(t)
            t += delta
    return out


def _composition_offsets(buf: bytes, ctts: _Box | None, samples: int, where: str) -> list[int]:
    if ctts is None:
        return [0] * samples
    (version,) = _fields(buf, ctts, ">B", 0, where)
    (count,) = _fields(buf, ctts, ">I", 4, where)
    if ctts.body + 8 + 8 * count > ctts.end:
        raise ProbeError(f"{where}: the composition offset table is cut short (malformed MP4)")
    out: list[int] = []
    fmt = ">Ii" if version == 1 else ">II"
    for i in range(count):
        n, off = struct.unpack_from(fmt, buf, ctts.body + 8 + 8 * i)
        out.extend([off] * n)
    return (out + [0] * samples)[:samples]


def _edit_shift(buf: bytes, edts: _Box | None, movie_scale: int, timescale: int, where: str) -> int:
    """Media time (track timescale) the edit list starts playing from, minus any empty lead-in; 0 without one."""
    elst = _child(buf, edts, "elst", where) if edts is not None else None
    if elst is None:
        return 0
    (version,) = _fields(buf, elst, ">B", 0, where)
    (count,) = _fields(buf, elst, ">I", 4, where)
    step = 20 if version == 1 else 12
    lead, pos = 0, elst.body + 8
    for _ in range(count):
        if pos + step > elst.end:
            raise ProbeError(f"{where}: the edit list is cut short (malformed MP4)")
        entry: tuple[int, int] = struct.unpack_from(">Qq" if version == 1 else ">Ii", buf, pos)
        duration, media_time = entry
        pos += step
        if media_time == -1:  # an empty edit: the track starts later on the movie timeline
            lead += duration * timescale // max(1, movie_scale)
            continue
        return media_time - lead
    return -lead
