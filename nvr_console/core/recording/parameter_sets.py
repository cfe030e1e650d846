"""Notice a camera changing its picture inside one RTSP session (a new in-band SPS), so the recorder cuts a new
file there instead of writing both pictures into one (docs/streams.md, "In-band changes").

FFmpeg's segment muxer copies a new SPS into the open file as it comes. The recorder's FFmpeg therefore has a
second output that keeps only the parameter sets (`filter_units`, SPS: H.264 type 7, H.265 type 33) and traces
them (`trace_headers`, ~65 log lines per keyframe) into a null muxer; `SpsWatch` reads those lines from stderr
and says when the picture's size, profile or format differs from the previous in-band SPS. The SPS of the SDP
(FFmpeg's "Extradata") is not compared: some cameras announce other parameters than they send, and a restart
would meet the same SDP again. Pure: the recorder (engine thread) feeds it lines.
"""

from __future__ import annotations

import functools
import re

TRACE_MARK = "[trace_headers @ "
# The second output's bitstream filters (its argv is in ffmpeg_command).
SPS_WATCH_BSF = "filter_units=pass_types=7|33,trace_headers"

# A field line after its "[trace_headers @ 0x...] " prefix: bit position, name, bits, value.
_FIELD = re.compile(r"^\d+\s+(?P<name>\w+)(?:\[[^\]]*\])*\s+[01]+ = (?P<value>-?\d+)$")

# What decides the picture a player sets up for (size, cropping, interlace, profile, chroma, bit depth);
# the rest (VUI timing, reference counts) may differ between two SPS of one picture.
_PICTURE_FIELDS = frozenset({
    "profile_idc", "chroma_format_idc", "bit_depth_luma_minus8", "pic_width_in_mbs_minus1",
    "pic_height_in_map_units_minus1", "frame_mbs_only_flag", "frame_crop_left_offset", "frame_crop_right_offset",
    "frame_crop_top_offset", "frame_crop_bottom_offset",
    "general_profile_idc", "pic_width_in_luma_samples", "pic_height_in_luma_samples", "conf_win_left_offset",
    "conf_win_right_offset", "conf_win_top_offset", "conf_win_bottom_offset",
})
_CHROMA_UNITS = {0: (1, 1), 1: (2, 2), 2: (2, 1), 3: (1, 1)}  # chroma_format_idc -> crop units (x, y)


def picture_size(sps: dict[str, int]) -> tuple[int, int] | None:
    """The displayed width and height an SPS describes (H.264 or H.265); None if it lacks the fields."""
    cx, cy = _CHROMA_UNITS.get(sps.get("chroma_format_idc", 1), (2, 2))
    if "pic_width_in_luma_samples" in sps:  # H.265
        w = sps["pic_width_in_luma_samples"] - cx * (sps.get("conf_win_left_offset", 0)
                                                      + sps.get("conf_win_right_offset", 0))
        h = sps.get("pic_height_in_luma_samples", 0) - cy * (sps.get("conf_win_top_offset", 0)
                                                             + sps.get("conf_win_bottom_offset", 0))
        return (w, h) if w > 0 and h > 0 else None
    if "pic_width_in_mbs_minus1" not in sps:
        return None
    frame_only = sps.get("frame_mbs_only_flag", 1)
    w = (sps["pic_width_in_mbs_minus1"] + 1) * 16 - cx * (sps.get("frame_crop_left_offset", 0)
                                                          + sps.get("frame_crop_right_offset", 0))
    h = (2 - frame_only) * (sps.get("pic_height_in_map_units_minus1", 0) + 1) * 16 - cy * (2 - frame_only) * (
        sps.get("frame_crop_top_offset", 0) + sps.get("frame_crop_bottom_offset", 0))
    return (w, h) if w > 0 and h > 0 else None


def describe(sps: dict[str, int]) -> str:
    size = picture_size(sps)
    return f"{size[0]}x{size[1]}" if size else "another picture format"


@functools.lru_cache(maxsize=1024)
def _field(text: str) -> tuple[str, int] | None:
    """A field line's name and value. Cached: a camera repeats the same SPS at every keyframe, so the same
    few dozen lines come again and again (the regex was most of the engine's cost of the trace)."""
    m = _FIELD.match(text)
    return (m["name"], int(m["value"])) if m else None


class SpsWatch:
    """Feed it FFmpeg's trace lines; `feed` returns a sentence when an in-band SPS changes the picture."""

    def __init__(self) -> None:
        self.current: dict[str, int] | None = None  # the last in-band SPS's picture fields
        self.changes = 0
        self.seen = 0  # in-band SPS read (tests and logs)
        self._section = ""
        self._in_extradata = False
        self._fields: dict[str, int] = {}

    def picture(self) -> tuple[int, int] | None:
        """The size the last in-band SPS describes (None: none seen yet)."""
        return picture_size(self.current) if self.current else None

    def feed(self, line: str) -> str | None:
        """One trace line, with its TRACE_MARK prefix or without it. The thread that reads FFmpeg's stderr."""
        text = line[line.find("] ", len(TRACE_MARK)) + 2:] if line.startswith(TRACE_MARK) else line
        if text[:1].isdigit():
            if self._section != "sps" or self._in_extradata:
                return None  # the fields of other units are not read at all
            field = _field(text)
            if field is not None:
                name, value = field
                if name in _PICTURE_FIELDS:
                    self._fields[name] = value
                elif name == "rbsp_stop_one_bit":
                    return self._complete()
            return None
        if text[:1].isalpha():
            change = self._complete()
            if text.startswith("Extradata"):
                self._in_extradata = True
            elif text.startswith("Packet:"):
                self._in_extradata = False
            self._section = "sps" if text.startswith("Sequence Parameter Set") else "other"
            return change
        return None

    def _complete(self) -> str | None:
        fields, self._fields = self._fields, {}
        if self._section != "sps" or self._in_extradata or not fields:
            self._section = "other" if self._section == "sps" else self._section
            return None
        self._section = "other"
        self.seen += 1
        before, self.current = self.current, fields
        if before is None or before == fields:
            return None
        self.changes += 1
        return f"the camera changed its picture from {describe(before)} to {describe(fields)} inside its stream"
