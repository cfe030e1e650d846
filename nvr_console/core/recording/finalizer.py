"""Turn a closed raw segment into the final MP4 and its Recording row (ready, or failed with the reason).

`finalize()` is blocking (an FFmpeg remux, well under a second per file on loopback, longer for
30-minute files on slow disks), so the engine runs it on a worker thread; it touches the database only
through its own sessions. Data is never dropped: a raw file that cannot be made into an MP4 is kept
beside the row that says why.

One process per file: each FFmpeg or ffprobe start costs about 0.1 CPU-s, which at short segments was
most of the product's CPU overhead over bare FFmpeg. A segment whose streams the recorder learnt from
FFmpeg's own header (FinalizeJob.streams) is remuxed without probing it, and every written MP4 is checked
by reading its boxes (mp4_boxes) rather than by ffprobe: video with frames and a duration, or the file
takes the full path. The full path probes the raw file first (its reasons for failing are the ones the
operator sees); it serves recovery after a crash, a room with a sound source (the mux needs the video's
exact duration) and any segment the quick remux did not turn into a good MP4.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from nvr_console.core.db.models import Recording, RecordingStatus
from nvr_console.core.db.session import Database
from nvr_console.core.ffmpeg.job import JobError, run_job
from nvr_console.core.recording import duration_check, lifecycle
from nvr_console.core.recording.errors import NO_SPACE
from nvr_console.core.recording.ffmpeg_command import build_finalize_command
from nvr_console.core.recording.ffmpeg_locate import Tools
from nvr_console.core.recording.matroska_media import holds_no_media
from nvr_console.core.recording.mp4_boxes import read_mp4
from nvr_console.core.recording.probe import MediaInfo, ProbeError, probe
from nvr_console.core.recording.segment_names import final_path_for, partial_path_for, raw_name_time
from nvr_console.core.recording.stream_support import unrecordable_reason
from nvr_console.core.status import RecordingEvent
from nvr_console.core.text.masking import mask_secrets
from nvr_console.core.text.sizes import format_size

log = logging.getLogger(__name__)
REMUX_TIMEOUT_S = 600.0


class NoRoom(Exception):
    """The MP4 could not be written for lack of space on the disk. Its partial file is gone; the raw segment
    and the row (`finalizing`) stay, to be finalized once there is room, or by recovery at the next start."""


@dataclass(frozen=True)
class SoundPiece:
    """A closed raw segment of the room's sound source, with its wall-clock span (epoch s)."""

    path: Path
    wall_start: float | None
    wall_end: float | None


@dataclass(frozen=True)
class FinalizeJob:
    recording_id: int
    camera_id: int | None
    room: str
    camera: str
    raw: Path
    wall_start: float | None
    wall_end: float | None
    # The room's sound pieces overlapping this segment, in wall-clock order (sound_pairing); () for none.
    sounds: tuple[SoundPiece, ...] = ()
    sound_note: str = ""  # why the room audio is missing, when the room has a sound source
    recovery: bool = False  # the raw file may be crash-truncated
    # The streams the recorder's FFmpeg said it writes (from its stderr header); None: probe the raw file.
    streams: MediaInfo | None = None

    @property
    def final(self) -> Path:
        return final_path_for(self.raw)


def _run(argv: list[str]) -> tuple[int, str]:
    """One remux: its exit code and, when it failed, FFmpeg's last error line (masked). Raises JobError.
    Worker thread."""
    result = run_job(argv, timeout_s=REMUX_TIMEOUT_S)
    return result.returncode, "" if result.ok else result.summary()


def _probe(path: Path, tools: Tools) -> MediaInfo:
    return probe(path, ffmpeg=str(tools.ffmpeg), ffprobe=str(tools.ffprobe) if tools.ffprobe else None)


def _read_final(path: Path, tools: Tools) -> MediaInfo:
    """A final MP4 from before a crash: our own box reader, ffprobe if it cannot read it. Worker thread."""
    try:
        return read_mp4(path)
    except ProbeError:
        return _probe(path, tools)


def _quick_remux(job: FinalizeJob, tools: Tools, partial: Path) -> MediaInfo | None:
    """Remux a segment whose streams are known from the recorder, with no probe before or after;
    None (and no partial file) unless the MP4 has the expected tracks, video frames and a duration.
    Worker thread."""
    streams = job.streams
    assert streams is not None
    audio = streams.audio
    video = streams.video
    argv = build_finalize_command(str(tools.ffmpeg), job.raw, partial, audio_codec=audio.codec if audio else None,
                                  video_codec=video.codec if video else None)
    code, error = _run(argv)
    why = f"FFmpeg: {error or f'exit code {code}'}"
    if code == 0:
        try:
            info = read_mp4(partial)
            video = info.video
            if video is None or not video.frames:
                why = "no video frames in the MP4"
            elif not info.duration_s or info.duration_s <= 0:
                why = "the MP4 has no duration"
            elif (info.audio is None) != (audio is None):
                why = "the MP4's audio track is not the one the recorder wrote"
            else:
                return info
        except ProbeError as exc:
            why = str(exc)
    partial.unlink(missing_ok=True)
    # Not an error yet: the full path probes the segment and gives the operator its reason.
    log.info("%s/%s: %s: remux without probing failed (%s); probing the segment", job.room, job.camera,
             job.raw.name, mask_secrets(why))
    return None


def finalize(job: FinalizeJob, tools: Tools, db: Database, zone: ZoneInfo | None) -> RecordingEvent:
    """Remux to MP4 (+faststart, G.711 -> AAC, room audio aligned), probing the segment only when its
    streams are unknown or the quick remux fails; update the row. Worker thread."""
    notes: list[str] = []
    final = job.final
    named = raw_name_time(job.raw, zone)
    start = job.wall_start if job.wall_start is not None else (named.timestamp() if named else None)
    try:
        settled = _settled_without_remux(job, tools, db, start)
        if settled is not None:
            return settled
        if not job.sounds and job.sound_note:
            notes.append(job.sound_note)
        if (job.streams is not None and job.streams.video is not None and not job.sounds
                and not job.recovery):
            final.parent.mkdir(parents=True, exist_ok=True)
            partial = partial_path_for(final)
            quick = _quick_remux(job, tools, partial)
            if quick is not None:
                return _publish(db, job, partial, quick, start, notes, tools, zone)
        info = _probe_segment(job, tools)
        if isinstance(info, str):
            return _failed(db, job, start, info)
        sound_only = info.video is None  # the camera announced no video: an audio recording (_probe_segment)
        sound, sound_codec = _sound_layout(job, start, info.duration_s or 0.0, tools, zone, notes)

        final.parent.mkdir(parents=True, exist_ok=True)
        partial = partial_path_for(final)
        error = _remux(job, tools, info, partial, sound, sound_codec, notes)
        if error is not None:
            partial.unlink(missing_ok=True)
            _raise_if_no_room(job, error)
            return _failed(db, job, start, f"could not write the MP4 (kept {job.raw.name}): {error}")
        try:
            final_info = read_mp4(partial)  # our own fresh MP4: its boxes, not another ffprobe
        except ProbeError as exc:
            partial.unlink(missing_ok=True)
            _raise_if_no_room(job, str(exc))  # FFmpeg may exit 0 with an MP4 cut short by a full disk
            return _failed(db, job, start, f"the written MP4 is unreadable (kept {job.raw.name}): {exc}")
        if not sound_only and (final_info.video is None or not final_info.video.frames):
            # A camera that sends video but whose file got none of it (a run that ended before its first
            # keyframe could be written keeps only sound): never a recording, however it plays.
            partial.unlink(missing_ok=True)
            only = f" (only {final_info.duration_s:.3f} s of sound)" if final_info.duration_s else ""
            return _failed(db, job, start, f"not a recording: the file holds no frame of the camera's video"
                           f"{only} (kept as {job.raw.name})")
        if job.recovery:
            notes.insert(0, "recovered after an unclean stop")
        return _publish(db, job, partial, final_info, start, notes, tools, zone)
    except (OSError, JobError) as exc:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            partial_path_for(final).unlink(missing_ok=True)
            raise NoRoom(f"no room on the disk for the MP4 ({exc.strerror})") from exc
        return _failed(db, job, start, f"finalizing failed: {mask_secrets(str(exc))}")


def _settled_without_remux(job: FinalizeJob, tools: Tools, db: Database,
                           start: float | None) -> RecordingEvent | None:
    """The cases settled before any remux: the raw file gone (its MP4 written before a crash, or vanished), a
    file with no media in it (removed), streams the recorder said cannot be recorded. None: go on. Worker
    thread."""
    final = job.final
    if not job.raw.exists():
        if final.exists():  # finished before a crash, row not yet updated (or no row: a fresh database)
            try:
                info = _read_final(final, tools)
            except ProbeError as exc:
                return _failed(db, job, start, f"unreadable final file (kept): {mask_secrets(str(exc))}")
            return _done(db, job, final, info, start, ["recovered: final file already written"])
        return _failed(db, job, start, "the raw segment file vanished before it was finalized")
    if holds_no_media(job.raw):
        # Nothing to keep: an empty file, or a header FFmpeg wrote before it was stopped (or the disk filled).
        job.raw.unlink(missing_ok=True)
        return _failed(db, job, start, "empty segment: no video or audio was written before the file was "
                       "closed (removed)")
    if job.streams is not None and (why := unrecordable_reason(job.streams)):
        return _failed(db, job, start, f"not a recording: {why} (kept as {job.raw.name})")
    return None


def _probe_segment(job: FinalizeJob, tools: Tools) -> MediaInfo | str:
    """The raw segment's streams and duration, or why it cannot become a recording. Worker thread."""
    try:
        info = _probe(job.raw, tools)
    except ProbeError as exc:
        return f"unreadable segment (kept as {job.raw.name}): {mask_secrets(str(exc))}"
    # No video track at all: the camera announced none (FFmpeg maps every announced stream, with frames or
    # not), so it sends only sound and the file is an audio recording. A video track without frames is
    # not that: finalize catches it on the written MP4.
    if info.video is None and info.audio is None:
        return f"segment has no video or audio stream (kept as {job.raw.name})"
    if why := unrecordable_reason(info):
        return f"not a recording: {why} (kept as {job.raw.name})"
    if not info.duration_s or info.duration_s <= 0:
        return f"segment holds no frames (kept as {job.raw.name})"
    return info


def _remux(job: FinalizeJob, tools: Tools, info: MediaInfo, partial: Path, sound: list[tuple[Path, float]],
           sound_codec: str | None, notes: list[str]) -> str | None:
    """Write the MP4 into `partial`: with the room's sound if there is some, then without it, then tolerating
    damaged packets; None once one worked (what it did goes in `notes`), else FFmpeg's last error. Worker
    thread."""
    sound_only = info.video is None
    audio_codec = info.audio.codec if info.audio else None
    attempts: list[tuple[bool, bool]] = []  # (with sound, tolerant)
    if sound and not sound_only:
        attempts.append((True, job.recovery))
    attempts.append((False, job.recovery))
    if not job.recovery:
        attempts.append((False, True))
    error = ""
    for with_sound, tolerant in attempts:
        argv = build_finalize_command(
            str(tools.ffmpeg), job.raw, partial, audio_codec=audio_codec,
            video_codec=info.video.codec if info.video else None, has_video=not sound_only,
            sound=sound if with_sound else (), sound_codec=sound_codec,
            max_duration_s=info.duration_s if with_sound else None, tolerant=tolerant,
        )
        code, error = _run(argv)
        if code == 0 and partial.exists() and partial.stat().st_size > 0:
            if with_sound:
                offsets = ", ".join(f"{o:+.3f} s" for _, o in sound)
                many = f"{len(sound)} pieces, offsets" if len(sound) > 1 else "offset"
                notes.append(f"room audio muxed ({many} {offsets})")
            if tolerant and not job.recovery:
                notes.append("repaired damaged packets while remuxing")
            return None
        if with_sound:
            notes.append(f"room audio missing: muxing the sound source failed ({error})")
    return error


def _sound_layout(job: FinalizeJob, start: float | None, duration: float, tools: Tools, zone: ZoneInfo | None,
                  notes: list[str]) -> tuple[list[tuple[Path, float]], str | None]:
    """The room's sound pieces that reach into the video, each with its offset (its wall-clock start - the
    video's), in order, and their codec; unreadable ones are left out with a note. Worker thread."""
    placed: list[tuple[Path, float]] = []
    codec = None
    for piece in job.sounds:
        try:
            info = _probe(piece.path, tools)
            if info.audio is None:
                raise ProbeError(f"{piece.path.name}: no audio stream")
            s_start = piece.wall_start
            if s_start is None:
                s_named = raw_name_time(piece.path, zone)
                s_start = s_named.timestamp() if s_named else None
            if s_start is None or start is None:
                raise ProbeError(f"{piece.path.name}: start time of the sound or the video is unknown")
        except ProbeError as exc:
            notes.append(f"room audio missing: sound source file unreadable ({mask_secrets(str(exc))})")
            continue
        codec = codec or info.audio.codec
        placed.append((piece.path, s_start - start))
    placed.sort(key=lambda p: p[1])
    # A piece that a later one starts before it is heard, or that starts after the video, adds nothing.
    kept = [p for i, p in enumerate(placed)
            if p[1] < duration and (i + 1 == len(placed) or placed[i + 1][1] > max(0.0, p[1]))]
    return kept, codec


def _publish(db: Database, job: FinalizeJob, partial: Path, info: MediaInfo, start: float | None, notes: list[str],
             tools: Tools, zone: ZoneInfo | None) -> RecordingEvent:
    """The written MP4 checked against the wall clock (timestamps repaired, or the file marked damaged),
    then put in place and the raw segment removed. Worker thread."""
    verdict = duration_check.check_duration(partial, info, duration_check.wall_span(job.raw, zone), str(tools.ffmpeg))
    notes += [n for n in (verdict.note, f"damaged: {verdict.damaged}" if verdict.damaged else "") if n]
    os.replace(partial, job.final)
    job.raw.unlink(missing_ok=True)
    return _done(db, job, job.final, verdict.info, start, notes, damaged=verdict.damaged)


def _raise_if_no_room(job: FinalizeJob, error: str) -> None:
    """NoRoom if writing the MP4 failed for lack of space: FFmpeg said so, or the disk has less free than the
    segment takes (then any failure to write is the disk's). Worker thread."""
    try:
        need = job.raw.stat().st_size
        free = shutil.disk_usage(job.final.parent).free
    except OSError:
        return
    if NO_SPACE in error or free < need:
        raise NoRoom(f"no room on the disk for the MP4 ({format_size(free)} free, the segment is "
                     f"{format_size(need)})")


def _dt(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _slot_epoch(db: Database, recording_id: int, fallback: float) -> float:
    with db.session() as s:
        slot = s.scalar(select(Recording.slot_start).where(Recording.id == recording_id))
    return slot.timestamp() if slot is not None else fallback


def _done(db: Database, job: FinalizeJob, final: Path, info: MediaInfo, start: float | None,
          notes: list[str], damaged: str | None = None) -> RecordingEvent:
    size = final.stat().st_size
    duration = float(info.duration_s or 0.0)
    end = start + duration if start is not None else None
    note = "; ".join(notes)
    if not lifecycle.mark_finalized(db, job.recording_id, size=size, duration=duration, notes=note,
                                    start_time=_dt(start), end_time=_dt(end), damaged=damaged):
        log.info("%s/%s: %s was finalized by another engine already", job.room, job.camera, final)
    log.info("%s/%s: ready %s (%.1f s, %d bytes)%s", job.room, job.camera, final, duration, size,
             f" [{note}]" if note else "")
    return RecordingEvent(job.recording_id, job.camera_id, job.room, job.camera, str(final),
                          RecordingStatus.READY.value, _slot_epoch(db, job.recording_id, start or 0.0), duration,
                          size, note, start_time=start or 0.0)


def _failed(db: Database, job: FinalizeJob, start: float | None, reason: str) -> RecordingEvent:
    lifecycle.mark_finalize_failed(db, job.recording_id, reason=reason, start_time=_dt(start))
    log.warning("%s/%s: segment %s failed: %s", job.room, job.camera, job.raw.name, reason)
    return RecordingEvent(job.recording_id, job.camera_id, job.room, job.camera, str(job.final),
                          RecordingStatus.FAILED.value, _slot_epoch(db, job.recording_id, start or 0.0), 0.0, 0,
                          reason, start_time=start or 0.0)
