"""Which recordings make up a time range of one camera, where each one can be read from, and what is missing.

A piece is read from the first place that has it: the local recording (this machine recorded it and still
holds it), the local archive (upload.destination = local, or a shared folder), else Drive (downloaded by
run.py). A piece found nowhere, still being written, or unusable is a gap with its reason; so is time no file
covers, explained from the camera's events as `recordings coverage` does.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import select

from nvr_console.core.catalog import CameraInfo
from nvr_console.core.config import Settings
from nvr_console.core.coverage import FileSpan, Gap, compute, file_span
from nvr_console.core.db.models import Recording, RecordingStatus
from nvr_console.core.db.session import Database
from nvr_console.core.events.store import events_between


class SourceKind(StrEnum):
    LOCAL = "local"
    ARCHIVE = "archive"
    DRIVE = "drive"


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    path: Path | None = None  # local and archive
    file_id: str | None = None  # Drive
    md5: str | None = None
    size: int | None = None

    def describe(self) -> str:
        if self.kind is SourceKind.DRIVE:
            return f"Drive file {self.file_id}"
        return str(self.path)


@dataclass(frozen=True)
class Piece:
    """One recording inside the range and where it can be read from (None: it cannot)."""

    file: FileSpan
    source: Source | None
    missing: str = ""  # why there is no source

    @property
    def start(self) -> datetime:
        return self.file.start

    @property
    def end(self) -> datetime:
        return self.file.end


@dataclass(frozen=True)
class CameraPlan:
    camera_id: int
    room: str
    camera: str
    start: datetime  # asked, aware UTC
    end: datetime
    pieces: tuple[Piece, ...]  # every recording overlapping the range, in time order
    gaps: tuple[Gap, ...]  # what the export cannot contain, with reasons

    @property
    def usable(self) -> list[Piece]:
        return [p for p in self.pieces if p.source is not None]


# Files whose final MP4 exists (or existed and was uploaded).
_FINISHED = frozenset({RecordingStatus.READY.value, RecordingStatus.UPLOADING.value, RecordingStatus.UPLOADED.value})


def archive_path(web_link: str | None) -> Path | None:
    """The archive copy of a recording uploaded to the local archive (its link is a file:// URI)."""
    if not web_link or not web_link.startswith("file:"):
        return None
    return Path(unquote(urlsplit(web_link).path))


def locate(f: FileSpan, drive_usable: str | None, md5: str | None) -> tuple[Source | None, str]:
    """Where a recording can be read from, or why it cannot. `drive_usable` is None when Drive can be
    asked, else the reason it cannot. Any thread (it looks at the file system)."""
    if f.status in (RecordingStatus.RECORDING.value, RecordingStatus.FINALIZING.value):
        return None, f"it is still being {'recorded' if f.status == RecordingStatus.RECORDING.value else 'finalized'}"
    if f.status == RecordingStatus.FAILED.value:
        return None, f"the file is unusable: {f.last_error or f.notes or 'no reason recorded'}"
    local = Path(f.local_path) if f.local_path else None
    if f.status in _FINISHED and local is not None and not f.local_deleted and local.is_file():
        return Source(SourceKind.LOCAL, path=local, md5=md5, size=f.size), ""
    archived = archive_path(f.web_link) if f.destination == "local" else None
    if archived is not None and archived.is_file():
        return Source(SourceKind.ARCHIVE, path=archived, md5=md5, size=f.size), ""
    if f.drive_file_id and f.status == RecordingStatus.UPLOADED.value:
        if drive_usable is None:
            return Source(SourceKind.DRIVE, file_id=f.drive_file_id, md5=md5, size=f.size), ""
        return None, f"it is only on Drive, which cannot be used here: {drive_usable}"
    if f.status == RecordingStatus.LOST.value:
        return None, f"the file was lost: {f.last_error or 'it vanished before it was uploaded'}"
    where = "in the archive" if archived is not None else "on Drive" if f.drive_file_id else "anywhere"
    return None, f"the file is not on this machine and not {where} (status {f.status})"


def plan_camera(db: Database, settings: Settings, cam: CameraInfo, start: datetime, end: datetime,
                drive_usable: str | None, now: datetime | None = None) -> CameraPlan:
    """The pieces and gaps of one camera between `start` and `end`. Blocking (database, file system)."""
    now = now or datetime.now(UTC)
    zone = settings.recording.zone()
    with db.session() as s:
        rows = list(s.scalars(
            # A piece's first frame may come before its slot's cut (a reconnect, a loaded machine): its slot may
            # start after the asked end while the piece does not.
            select(Recording).where(Recording.camera_id == cam.id,
                                    Recording.slot_start < end + timedelta(seconds=settings.recording.segment_length),
                                    Recording.slot_start >= start - timedelta(days=1))
            .order_by(Recording.slot_start, Recording.id)))
        found: list[tuple[FileSpan, str | None]] = []
        for r in rows:
            f = file_span(r, zone, settings.recording.segment_length, now)
            if f.end > start and f.start < end:
                found.append((f, r.md5))
    pieces = []
    for f, md5 in sorted(found, key=lambda item: item[0].start):
        source, why = locate(f, drive_usable, md5)
        pieces.append(Piece(f, source, why))
    # Gaps: the asked range is the window; pieces that cannot be read explain their own time.
    as_files = [dataclasses.replace(p.file, status=RecordingStatus.READY.value) if p.source is not None
                else dataclasses.replace(p.file, status=RecordingStatus.LOST.value, last_error=p.missing)
                for p in pieces]
    events = events_between(db, start, end, [cam.id])
    cov = compute(cam.id, cam.room, cam.name, start, end, [(start.timestamp(), end.timestamp())], as_files,
                  events, now)
    gaps = tuple(dataclasses.replace(g, reason=g.reason.replace("the file was lost: ", "", 1))
                 for g in cov.gaps)
    return CameraPlan(cam.id, cam.room, cam.name, start, end, tuple(pieces), gaps)
