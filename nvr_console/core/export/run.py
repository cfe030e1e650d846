"""Export a time range: for one camera into one MP4, or for every camera of a room into a folder.

Steps per camera: plan the pieces (plan.py), download the ones only on Drive into a temporary folder beside
the output (removed afterwards; a run cut short by a crash resumes its downloads when run again), check that
the pieces have the same streams (a piece without sound gets silence, one with other sound settings is
re-encoded to match; a piece in another video format is left out as a gap), then one FFmpeg run joins them
with `-c copy` (cut.py). Missing pieces are gaps, not failures; the log beside the file lists them.

Blocking (downloads, FFmpeg, database): call from a worker thread. `progress(fraction, text)` is called on
that thread; `cancel` (a threading.Event) stops at the next chunk or FFmpeg poll and removes partial output.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.coverage import Cause, Gap
from nvr_console.core.db.session import Database
from nvr_console.core.export import cut
from nvr_console.core.export.drive_download import Cancelled, DownloadFailed, download
from nvr_console.core.export.ffmpeg_step import ExportFailed, run_ffmpeg
from nvr_console.core.export.plan import CameraPlan, Piece, SourceKind, plan_camera
from nvr_console.core.recording.ffmpeg_locate import FFmpegNotFound, locate_tools
from nvr_console.core.recording.mp4_boxes import read_mp4, sample_times, video_keyframe_times
from nvr_console.core.recording.probe import MediaInfo, ProbeError, StreamInfo
from nvr_console.core.stream_url import InvalidInput
from nvr_console.core.text.durations import format_duration
from nvr_console.core.text.masking import mask_secrets

log = logging.getLogger(__name__)

END_MARGIN_S = 0.1  # the out point goes a little past the asked end, so the export ends at or after it
SAME_POINT_S = 0.002  # an asked start this close to a keyframe is that keyframe
TEMP_PREFIX = ".nvr-export-"
STALE_AFTER = timedelta(days=1)  # a failed export's downloads kept this long for a re-run to resume

Progress = Callable[[float, str], None]

__all__ = ["Cancelled", "ExportFailed", "ExportResult", "export_range", "output_name"]  # with their errors


@dataclass(frozen=True)
class ExportResult:
    room: str
    camera: str
    start: datetime  # asked (UTC)
    end: datetime
    path: Path | None  # None: nothing of the range could be exported
    log_path: Path | None
    media_start: datetime | None = None  # wall-clock time of the file's first frame
    seconds: float = 0.0  # the written file's length
    pieces: tuple[Piece, ...] = ()  # the pieces joined, in order, with where each was read from
    gaps: tuple[Gap, ...] = ()  # what the file does not hold, with reasons
    exact: bool = False
    notes: tuple[str, ...] = field(default=())


def output_name(room: str, camera: str, start: datetime, end: datetime, zone: Any) -> str:
    """`A-101_front_2026-11-27_10-15-11-45.mp4` (local times; the end's date too if it is another day)."""
    a = start.astimezone(zone) if zone else start.astimezone()
    b = end.astimezone(zone) if zone else end.astimezone()
    tail = b.strftime("%H-%M") if b.date() == a.date() else b.strftime("%Y-%m-%d_%H-%M")
    return f"{room}_{camera}_{a:%Y-%m-%d_%H-%M}-{tail}.mp4"


def _drive_unusable(settings: Settings, account: str) -> tuple[str | None, Any]:
    """(None, a Drive service signed in as the room's Google account) when Drive can be asked, else (why not,
    None). Network-free."""
    from nvr_console.core.upload.auth import DriveAuthError, load_credentials
    from nvr_console.core.upload.drive_service import build_drive_service

    try:
        settings = settings.for_drive_account(account)
    except KeyError as exc:
        return str(exc.args[0]), None
    try:
        creds = load_credentials(settings)
        return None, build_drive_service(settings.drive.api_root, creds, timeout=120)
    except (DriveAuthError, ValueError) as exc:
        return mask_secrets(str(exc)), None


def export_range(settings: Settings, db: Database, room: str, camera: str | None, start: datetime, end: datetime,
                 output: Path, *, exact: bool = False, progress: Progress | None = None,
                 cancel: threading.Event | None = None, now: datetime | None = None,
                 clean: bool = False) -> list[ExportResult]:
    """Export [start, end) of one camera into `output` (a file, or an existing folder to name it in), or of
    every camera of `room` (camera None) into the folder `output`. Leftover temporary folders of failed exports
    beside the output are removed first when older than a day, or all of them (but this export's own) with
    `clean`; the first result's notes say which. Raises InvalidInput (bad range, unknown room/camera),
    Cancelled, ExportFailed. Worker thread."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("export_range needs aware datetimes")
    if end <= start:
        raise InvalidInput("the export range ends before it starts; give --to after --from")
    if end - start > timedelta(days=7):
        raise InvalidInput("the export range is longer than 7 days; export it in parts")
    try:
        ffmpeg = str(locate_tools(settings.recording.ffmpeg).ffmpeg)
    except FFmpegNotFound as exc:
        raise ExportFailed(str(exc)) from None
    cams = [catalog.get_camera(db, room, camera)] if camera is not None else catalog.list_cameras(db, room)
    if not cams:
        raise InvalidInput(f"room {room!r} has no cameras; add one with `nvr-console cameras add`")
    zone = settings.recording.zone()
    if camera is not None:
        target = output / output_name(room, camera, start, end, zone) if output.is_dir() else output
        if target.suffix.lower() != ".mp4":
            target = target.with_name(target.name + ".mp4")
        targets = [target]
    else:
        output.mkdir(parents=True, exist_ok=True)
        targets = [output / output_name(c.room, c.name, start, end, zone) for c in cams]
    keep = {_temp_for(_temp_key(c.id, start, end), t).name for c, t in zip(cams, targets, strict=True)}
    removed = remove_leftovers({t.parent for t in targets}, keep, everything=clean, now=now)
    # The room's account uploaded its files: with the drive.file scope only it can read them back.
    drive_reason, service = _drive_unusable(settings, catalog.get_room(db, room).drive_account)
    results = []
    for i, (cam, target) in enumerate(zip(cams, targets, strict=True)):
        def part(fraction: float, text: str, i: int = i) -> None:
            if progress is not None:
                progress((i + min(1.0, max(0.0, fraction))) / len(cams), text)

        plan = plan_camera(db, settings, cam, start, end, drive_reason, now)
        results.append(_export_camera(settings, ffmpeg, plan, target, exact, service, part, cancel))
    if progress is not None:
        progress(1.0, "done")
    if removed and results:
        why = "(--clean)" if clean else f"(left by failed exports over {STALE_AFTER.days} day(s) ago)"
        note = f"removed {len(removed)} leftover temporary folder(s) {why}: {', '.join(p.name for p in removed)}"
        results[0] = dataclasses.replace(results[0], notes=(*results[0].notes, note))
    return results


def _temp_key(camera_id: int, start: datetime, end: datetime) -> str:
    return hashlib.sha1(f"{camera_id}|{start.isoformat()}|{end.isoformat()}".encode()).hexdigest()[:12]


def _temp_for(key: str, out: Path) -> Path:
    return out.parent / f"{TEMP_PREFIX}{key}"


def remove_leftovers(folders: set[Path], keep: set[str], *, everything: bool = False,
                     now: datetime | None = None) -> list[Path]:
    """Remove the temporary folders failed exports left in `folders` (their downloads, kept so that a re-run
    resumes them): those untouched for STALE_AFTER, or every one with `everything`; never one named in `keep`
    (the running export's own). Returns the removed ones. Blocking (file system)."""
    limit = (now or datetime.now(UTC)).timestamp() - STALE_AFTER.total_seconds()
    removed = []
    for folder in sorted(folders):
        try:
            found = [p for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX) and p.is_dir()]
        except OSError:
            continue  # not there yet (created by the export) or unreadable: nothing of ours to remove
        for p in sorted(found):
            if p.name in keep:
                continue
            try:
                touched = max([p.stat().st_mtime, *(f.stat().st_mtime for f in p.iterdir())])
            except OSError:
                continue
            if everything or touched < limit:
                shutil.rmtree(p, ignore_errors=True)
                if not p.exists():
                    removed.append(p)
    return removed


def _export_camera(settings: Settings, ffmpeg: str, plan: CameraPlan, out: Path, exact: bool, service: Any,
                   progress: Progress, cancel: threading.Event | None) -> ExportResult:
    label = f"{plan.room}/{plan.camera}"
    gaps = list(plan.gaps)
    notes: list[str] = []
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_for(_temp_key(plan.camera_id, plan.start, plan.end), out)
    done_ok = False
    try:
        pieces = _fetch(plan, temp, service, progress, cancel, gaps, label)
        pieces = _conform(ffmpeg, pieces, temp, gaps, notes, cancel, label, progress)
        pieces = _to_end(_from_start(pieces, plan.start, exact), plan.end)
        if not pieces:
            result = ExportResult(plan.room, plan.camera, plan.start, plan.end, None, None,
                                  gaps=tuple(sorted(gaps, key=lambda g: g.start)), exact=exact, notes=tuple(notes))
            done_ok = True
            return result
        while True:
            try:
                result = _join(ffmpeg, plan, pieces, out, temp, exact, gaps, notes, progress, cancel, label)
                break
            except _NoFrameInHead:
                pieces = pieces[1:]  # nothing of the first piece's picture at or after the asked start
                if not pieces:
                    done_ok = True
                    return ExportResult(plan.room, plan.camera, plan.start, plan.end, None, None,
                                        gaps=tuple(sorted(gaps, key=lambda g: g.start)), exact=exact,
                                        notes=tuple(notes))
        _write_log(result, settings)
        done_ok = True
        return dataclasses.replace(result, log_path=_log_path(out))
    except Cancelled:
        done_ok = True  # the operator does not want it: nothing is kept
        raise
    except ExportFailed as exc:
        if temp.is_dir():
            raise ExportFailed(f"{exc} (its temporary folder {temp} is kept, so that running the same export "
                               "again resumes its Drive downloads; the next export removes it after "
                               f"{STALE_AFTER.days} day(s), or at once with `export --clean`)") from exc
        raise
    finally:
        if done_ok:
            shutil.rmtree(temp, ignore_errors=True)


class _NoFrameInHead(Exception):
    """The exact cut's head holds no video frame."""


@dataclass
class _Ready:
    piece: Piece
    path: Path
    info: MediaInfo


def _fetch(plan: CameraPlan, temp: Path, service: Any, progress: Progress, cancel: threading.Event | None,
           gaps: list[Gap], label: str) -> list[_Ready]:
    """Every usable piece as a readable local file (downloads from Drive into `temp`)."""
    need = [p for p in plan.usable if p.source is not None and p.source.kind is SourceKind.DRIVE]
    total = sum(p.source.size or 0 for p in need if p.source is not None) or 1
    fetched = 0
    weight = 0.5 if need else 0.0
    out: list[_Ready] = []
    for p in plan.usable:
        src = p.source
        assert src is not None
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        path = src.path
        if src.kind is SourceKind.DRIVE:
            name = f"{p.file.recording_id}.mp4"
            base = fetched

            def on_bytes(done: int, size: int, base: int = base, p: Piece = p) -> None:
                share = 100 * done // max(1, size)
                progress(weight * (base + done) / total,
                         f"{label}: downloading the file of {p.start.astimezone():%H:%M:%S} from Drive ({share} %)")

            try:
                path = download(service, src.file_id or "", temp / name, expected_md5=src.md5, progress=on_bytes,
                                cancel=cancel)
            except DownloadFailed as exc:
                gaps.append(Gap(p.start, p.end, Cause.FILE_LOST, str(exc)))
                continue
            finally:
                fetched += src.size or 0
        assert path is not None
        try:
            info = read_mp4(path)
        except ProbeError as exc:
            gaps.append(Gap(p.start, p.end, Cause.FILE_FAILED, f"the file cannot be read: {exc}"))
            continue
        if info.video is None:
            gaps.append(Gap(p.start, p.end, Cause.FILE_FAILED, f"{path.name} has no video"))
            continue
        out.append(_Ready(p, path, info))
    return out


def _video_key(s: StreamInfo) -> tuple[object, ...]:
    # The timescale too: the concat demuxer adds each file's offset but does not rescale its timestamps.
    return (s.codec, s.width, s.height, s.timescale)


def _conform(ffmpeg: str, pieces: list[_Ready], temp: Path, gaps: list[Gap], notes: list[str],
             cancel: threading.Event | None, label: str, progress: Progress) -> list[_Ready]:
    """Same streams in every piece: other video formats become gaps; sound is made uniform."""
    if not pieces:
        return []
    ref = pieces[0].info.video
    assert ref is not None
    kept = []
    for r in pieces:
        assert r.info.video is not None
        if _video_key(r.info.video) != _video_key(ref):
            v = r.info.video
            gaps.append(Gap(r.piece.start, r.piece.end, Cause.FILE_FAILED,
                            f"recorded in another format ({v.codec} {v.width}x{v.height} 1/{v.timescale}, the export "
                            f"is {ref.codec} {ref.width}x{ref.height} 1/{ref.timescale}); export this time on its "
                            "own"))
        else:
            kept.append(r)
    with_audio = [r.info.audio for r in kept if r.info.audio is not None]
    if not with_audio:
        return kept
    a = with_audio[0]
    want = (a.codec, a.sample_rate or 48000, a.channels or 1)
    for r in kept:
        have = r.info.audio
        if have is not None and (have.codec, have.sample_rate, have.channels or 1) == want:
            continue
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        temp.mkdir(parents=True, exist_ok=True)
        fixed = temp / f"conformed-{r.piece.file.recording_id}.mp4"
        video_s = r.info.video.duration_s if r.info.video else None
        run_ffmpeg(cut.conform_audio_command(ffmpeg, r.path, fixed, has_audio=have is not None, codec=want[0],
                                             sample_rate=want[1], channels=want[2], video_s=video_s),
                   f"{label}: preparing the sound of {r.path.name}", cancel=cancel)
        what = "silence added (the file has no sound)" if have is None else "its sound re-encoded to match the others"
        notes.append(f"{r.piece.start.astimezone():%H:%M:%S}: {what}")
        r.path, r.info = fixed, read_mp4(fixed)
    progress(0.5 if any(r.piece.source and r.piece.source.kind is SourceKind.DRIVE for r in kept) else 0.0,
             f"{label}: joining {len(kept)} file(s)")
    return kept


def _join(ffmpeg: str, plan: CameraPlan, pieces: list[_Ready], out: Path, temp: Path, exact: bool,
          gaps: list[Gap], notes: list[str], progress: Progress, cancel: threading.Event | None,
          label: str) -> ExportResult:
    temp.mkdir(parents=True, exist_ok=True)
    first, last = pieces[0], pieces[-1]
    inpoint = (plan.start - first.piece.start).total_seconds()
    inpoint = inpoint if inpoint > SAME_POINT_S else 0.0
    last_len = last.info.duration_s or last.piece.file.seconds
    outpoint = (plan.end - last.piece.start).total_seconds() + END_MARGIN_S
    out_at = outpoint if outpoint < last_len - SAME_POINT_S else None
    keyframes = video_keyframe_times(first.path)
    k0 = max((k for k in keyframes if k <= inpoint + SAME_POINT_S), default=0.0)
    k1 = min((k for k in keyframes if k > inpoint + SAME_POINT_S), default=None)
    audio = first.info.audio is not None
    expected = sum(_length(r, i, len(pieces), inpoint, out_at) for i, r in enumerate(pieces))

    def entries(from_s: float) -> list[cut.ListEntry]:
        es = []
        for i, r in enumerate(pieces):
            es.append(cut.ListEntry(r.path, inpoint=(from_s or None) if i == 0 else None,
                                    outpoint=out_at if i == len(pieces) - 1 else _video_end(r)))
        return es

    base = 0.5 if any(r.piece.source and r.piece.source.kind is SourceKind.DRIVE for r in pieces) else 0.0
    partial = out.with_name(f".{out.name}.partial")
    use_exact = False
    if exact:
        inpoint, k0, k1, use_exact = _exact_start(first, keyframes, inpoint, k0, k1, notes)
    media_start_s = k0
    if use_exact:
        head = temp / "head.mp4"
        # The frames from the asked start up to the next keyframe (or the end of what is exported of this piece).
        head_end = k1 if k1 is not None else (_video_end(first) or first.info.duration_s or 0.0)
        if len(pieces) == 1 and out_at is not None:
            head_end = min(head_end, out_at)
        _encode_head(ffmpeg, first, head, k0, k1, inpoint, head_end, audio, cancel,
                     lambda s: progress(base + (1 - base) * 0.2 * s / max(0.01, head_end - inpoint),
                                        f"{label}: re-encoding the first partial GOP"), label)
        listed = [cut.ListEntry(head, duration=head_end - inpoint)]
        rest = entries(0.0)
        if k1 is not None and head_end >= k1 - SAME_POINT_S:
            listed.append(dataclasses.replace(rest[0], inpoint=k1))
        listed += rest[1:]
        media_start_s = inpoint
        start_share = 0.2
    else:
        listed, start_share = entries(inpoint), 0.0
    vlist = temp / "pieces.ffconcat"
    vlist.write_text(cut.concat_list(listed), encoding="utf-8")
    argv = cut.copy_command(ffmpeg, vlist, partial, audio=audio)
    info = _write_joined(argv, partial, out, f"{label}: joining the files", cancel,
                         lambda s: progress(base + (1 - base) * (start_share + (1 - start_share)
                                                                 * min(1.0, s / max(0.01, expected))),
                                            f"{label}: joining {len(pieces)} file(s) without re-encoding"))
    # debug: the CLI and the console report the result themselves (at info this landed amid the CLI's output).
    log.debug("exported %s %s-%s to %s (%.1f s)", label, plan.start, plan.end, out, info.duration_s or 0)
    return ExportResult(plan.room, plan.camera, plan.start, plan.end, out, None,
                        first.piece.start + timedelta(seconds=media_start_s), float(info.duration_s or 0.0),
                        tuple(r.piece for r in pieces),
                        tuple(sorted(gaps, key=lambda g: g.start)), use_exact, tuple(notes))


def _exact_start(first: _Ready, keyframes: list[float], inpoint: float, k0: float, k1: float | None,
                 notes: list[str]) -> tuple[float, float, float | None, bool]:
    """For an exact cut: the start (moved to the keyframe when the asked one lies in the frame before it), the
    keyframes before and after it, and whether a head must be re-encoded (not when the start is a keyframe, nor
    for a codec the head cannot be encoded in); says why not in `notes`."""
    frames = _frames_s(first)
    if k1 is not None and not any(inpoint - SAME_POINT_S <= t < k1 - SAME_POINT_S for t in frames):
        # The asked start is inside the frame before a keyframe: a head would hold no frame; start at the keyframe.
        inpoint = k0 = k1
        k1 = min((k for k in keyframes if k > inpoint + SAME_POINT_S), default=None)
    # A frame that began at most SAME_POINT_S before the asked start is the asked one: start the head on it, as
    # FFmpeg's -ss drops a frame before its time (the head began a frame late, or held none and the export
    # began in the next piece).
    inpoint = min((t for t in frames if inpoint - SAME_POINT_S <= t < inpoint), default=inpoint)
    use_exact = inpoint - k0 > SAME_POINT_S
    if not use_exact:
        notes.append("exact cut: the asked start is a keyframe; nothing re-encoded")
    if use_exact and (first.info.video is None or first.info.video.codec not in ("h264", "hevc")):
        codec = first.info.video.codec if first.info.video else "?"
        notes.append(f"exact cut needs H.264 or H.265 video, not {codec}; started at the keyframe before the "
                     "asked start")
        use_exact = False
    return inpoint, k0, k1, use_exact


def _encode_head(ffmpeg: str, first: _Ready, head: Path, k0: float, k1: float | None, inpoint: float,
                 head_end: float, audio: bool, cancel: threading.Event | None, on_progress: Callable[[float], None],
                 label: str) -> None:
    """Re-encode the frames from the asked start up to `head_end` (the next keyframe) into `head`, with as many
    sound packets as the rest does not bring; _NoFrameInHead if FFmpeg found no frame there."""
    packets = None
    if audio:
        # The rest's sound starts with the last packet at or before K1 (the concat demuxer's seek).
        times = [t for t, _key in sample_times(first.path, "audio")]
        until = max((t for t in times if t <= head_end + SAME_POINT_S), default=head_end)
        if k1 is None or head_end < (k1 or 0):
            until = head_end  # nothing of this piece follows the head
        packets = max(1, sum(1 for t in times if inpoint - SAME_POINT_S <= t < until - SAME_POINT_S))
        if not any(t >= inpoint - SAME_POINT_S for t in times):
            packets = 0  # the piece's sound ended before the asked start (a room's sound source): silence
    sound = first.info.audio
    silence = (cut.Silence(sound.codec or "aac", sound.sample_rate or 48000, sound.channels or 1)
               if sound is not None else None)
    assert first.info.video is not None
    run_ffmpeg(cut.head_command(ffmpeg, first.path, k0, inpoint, head_end - inpoint, head,
                                audio_packets=packets, codec=first.info.video.codec,
                                timescale=first.info.video.timescale or 90000, silence=silence),
               f"{label}: re-encoding the first {head_end - inpoint:.2f} s", cancel=cancel, progress=on_progress)
    if read_mp4(head).video is None:
        # FFmpeg found no frame from the asked start (a piece cut short at an outage, whose timestamps our
        # box reader and FFmpeg read differently): start from the next piece instead.
        raise _NoFrameInHead()


def _write_joined(argv: list[str], partial: Path, out: Path, what: str, cancel: threading.Event | None,
                  on_progress: Callable[[float], None]) -> MediaInfo:
    """Run the join into `partial`, read it back, and only then give it its name: no half-written file stays
    behind when it is cancelled, fails, or meets Ctrl-C."""
    try:
        run_ffmpeg(argv, what, cancel=cancel, progress=on_progress)
        info = read_mp4(partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)
    return info


def _frames_s(r: _Ready) -> list[float]:
    """Presentation times of the piece's video frames (its own timeline), sorted."""
    return sorted(t for t, _key in sample_times(r.path, "video"))


def _from_start(pieces: list[_Ready], start: datetime, exact: bool) -> list[_Ready]:
    """The pieces from the one the asked start lies in. Consecutive recordings overlap by a few frames at a cut:
    the previous file may run past the boundary (its container's end counting the sound, or a keyframe the cut
    came after), while the next one's first frame came before it. Starting in the previous file then put the in
    point at or past its video's end (an in point after the out point: FFmpeg refused the list; the exact head
    came out with a negative length). So a piece is skipped when the next one starts at or before the asked
    start, or when its video ends at or before it (for an exact cut, when less than a frame of it is left: a
    head to re-encode would hold no frame)."""
    edge = start + timedelta(seconds=SAME_POINT_S)
    while pieces:
        first = pieces[0]
        video_end = _wall_video_end(first)
        no_frame = False
        if exact and video_end > edge:
            # No frame starts at or after the asked start: a head would hold none.
            frames = _frames_s(first)
            no_frame = not frames or first.piece.start + timedelta(seconds=frames[-1] + SAME_POINT_S) < start
        if video_end <= edge or no_frame or (len(pieces) > 1 and pieces[1].piece.start <= edge):
            pieces = pieces[1:]
        else:
            break
    return pieces


def _wall_video_end(r: _Ready) -> datetime:
    video_s = r.info.video.duration_s if r.info.video else None
    return r.piece.start + timedelta(seconds=video_s or r.piece.file.seconds)


def _to_end(pieces: list[_Ready], end: datetime) -> list[_Ready]:
    """The pieces up to the one the asked end lies in: when the previous piece runs past the asked end (past a
    boundary, see _from_start), the next one adds nothing, and the out point (on the last piece only) would
    leave the previous piece's time past the end in the file."""
    while len(pieces) > 1 and _wall_video_end(pieces[-2]) >= end:
        pieces = pieces[:-1]
    return pieces


def _video_end(r: _Ready) -> float | None:
    """Where a piece's video ends, when its sound runs on past it: the next piece starts there, not after the
    sound. Consecutive recordings overlap in sound by up to a packet (the muxer writes the packet that straddles
    the cut into both files); ending each piece with its video keeps the video continuous and the sound in step
    with it at every join (measured: a 40 ms slip at each join otherwise)."""
    video = r.info.video.duration_s if r.info.video else None
    if video is None or r.info.duration_s is None or r.info.duration_s - video <= SAME_POINT_S:
        return None
    return video


def _length(r: _Ready, i: int, n: int, inpoint: float, out_at: float | None) -> float:
    total = r.info.duration_s or r.piece.file.seconds
    end = out_at if i == n - 1 and out_at is not None else total
    begin = inpoint if i == 0 else 0.0
    return max(0.0, end - begin)


def _log_path(out: Path) -> Path:
    return out.with_suffix(".log")


def _write_log(r: ExportResult, settings: Settings) -> None:
    """The export's log beside the file: what it holds, where each piece came from, every gap and why."""
    assert r.path is not None
    zone = settings.recording.zone()

    def t(d: datetime) -> str:
        return (d.astimezone(zone) if zone else d.astimezone()).strftime("%Y-%m-%d %H:%M:%S.%f")[:-4]

    lines = [f"nvr-console export of {r.room}/{r.camera}: {t(r.start)} to {t(r.end)} ({settings.recording.timezone} "
             "time)",
             f"file: {r.path.name}, {format_duration(round(r.seconds, 1))}, {r.path.stat().st_size} bytes",
             f"first frame at {t(r.media_start) if r.media_start else '?'} ("
             + ("the asked frame: exact cut" if r.exact else "the keyframe at or before the asked start") + ")",
             "", "pieces (joined without re-encoding):"]
    for p in r.pieces:
        src = p.source
        where = "?" if src is None else (f"Drive file {src.file_id} (downloaded, MD5 verified)"
                                         if src.kind is SourceKind.DRIVE else f"{src.kind.value} {src.path}")
        damaged = f"  [damaged: {p.file.damaged}]" if p.file.damaged else ""
        lines.append(f"  {t(p.start)} - {t(p.end)}  {where}{damaged}")
    lines += ["", "gaps (not in the file):" if r.gaps else "gaps: none"]
    lines += [f"  {t(g.start)} - {t(g.end)}  ({format_duration(round(g.seconds))})  {g.reason}" for g in r.gaps]
    if r.notes:
        lines += ["", "notes:", *(f"  {n}" for n in r.notes)]
    _log_path(r.path).write_text("\n".join(lines) + "\n", encoding="utf-8")
