"""Deliver lectures: once a lecture has ended (+ lectures.post_roll) and its pieces are finalized, build one
file per camera with the export machinery (core/export: no re-encoding, from the keyframe at or before the
start, the room's sound in sync, pieces from the local disk, the archive or Drive) and upload it verified into
the lecture's folder (core/upload destinations: Drive resumable + MD5, or the local archive).

Each camera's file is claimed in the database (lecture_store.claim_file): one node builds it; the claim is
renewed every third of `lectures.claim_ttl` while the node works, and a node that dies mid-way loses it to
the next node that looks. A lecture with gaps is still delivered, as `incomplete`, its gaps in its notes and
in the Drive file's description; `lecture_incomplete` alerts when coverage is under
`alerts.lecture_coverage_under`. Blocking (FFmpeg, network, database): the lecture worker thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.coverage import Gap
from nvr_console.core.db.models import LectureFileState, Recording, RecordingStatus
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.export.plan import archive_path
from nvr_console.core.export.run import Cancelled, ExportFailed, export_range
from nvr_console.core.fleet import leases
from nvr_console.core.folder_names import RESERVED_PREFIX
from nvr_console.core.lectures import lecture_store, naming, timetable_store
from nvr_console.core.lectures.lecture_store import OPEN, FileInfo, LectureInfo
from nvr_console.core.lectures.notice import Notifier
from nvr_console.core.monitoring import alert_store
from nvr_console.core.monitoring.rules import LECTURE_INCOMPLETE, Condition, Status
from nvr_console.core.stream_url import InvalidInput
from nvr_console.core.text.durations import format_duration
from nvr_console.core.text.masking import mask_secrets
from nvr_console.core.upload import drive_usage
from nvr_console.core.upload.auth import DriveAuthError, load_credentials
from nvr_console.core.upload.destinations import DriveDestination, LocalDestination, Outcome
from nvr_console.core.upload.errors import Stopped, UploadError
from nvr_console.core.upload.folders import DriveFolders, escape_q

log = logging.getLogger(__name__)

RETRY_S = 60.0  # a file that failed is tried again this long after (by any node)
WORK_DIR = RESERVED_PREFIX + "lectures"  # inside recording.dir: where files are built before upload
# Past this after the lecture's end (+ post-roll), pieces still being written are not waited for: they are gaps.
FINALIZE_WAIT_SEGMENTS = 2
FINALIZE_WAIT_EXTRA_S = 300.0


@dataclass(frozen=True)
class Delivered:
    lecture: LectureInfo
    seconds_after_end: float  # from the lecture's end (+ post-roll) to its verified delivery


def covered(start: datetime, end: datetime, gaps: tuple[Gap, ...] | list[Gap]) -> float:
    """Recorded share of [start, end): 1 - (the gaps' seconds inside it) / its seconds."""
    total = (end - start).total_seconds()
    if total <= 0:
        return 1.0
    missing = sum(max(0.0, (min(g.end, end) - max(g.start, start)).total_seconds()) for g in gaps)
    return max(0.0, min(1.0, 1.0 - missing / total))


class _Hooks:
    """What an upload destination asks of its worker: stop when the claim is lost or the service stops; the
    upload session is kept on the file's row (`persist`), so a node taking the file over resumes it."""

    def __init__(self, stop: threading.Event, persist: Callable[[str | None, int], bool] | None = None) -> None:
        self._stop = stop
        self._persist = persist

    def save(self, session_uri: str | None, offset: int) -> None:
        self.check()
        if self._persist is not None and not self._persist(session_uri, offset):
            self._stop.set()
            raise Stopped("the lecture file's claim was lost")

    def progress(self, sent: int, total: int) -> None:
        pass

    def sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise Stopped("the lecture file's claim was lost or the service is stopping")

    def check(self) -> None:
        if self._stop.is_set():
            raise Stopped("the lecture file's claim was lost or the service is stopping")


class _CountingHooks:
    """A lecture upload's hooks that also count what Drive confirms against the account's daily budget."""

    def __init__(self, inner: _Hooks, db: Database, account: str) -> None:
        self._inner, self._db, self._account, self._counted = inner, db, account, 0

    def save(self, session_uri: str | None, offset: int) -> None:
        self._inner.save(session_uri, offset)
        if offset < self._counted:  # a new session: its bytes count again
            self._counted = offset
            return
        try:
            drive_usage.add(self._db, self._account, offset - self._counted)
            self._counted = offset
        except (SQLAlchemyError, DatabaseUnavailable) as exc:
            log.warning("Drive usage of account %s not counted yet: %s", self._account, exc)

    def progress(self, sent: int, total: int) -> None:
        self._inner.progress(sent, total)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

    def check(self) -> None:
        self._inner.check()


class Deliverer:
    """Finds lectures due, claims their files and delivers them. One per node; the lecture worker thread."""

    def __init__(self, settings: Settings, db: Database, node: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings = settings
        self.db = db
        self.node = node
        self.clock = clock
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._active: set[threading.Event] = set()  # one per file being built: set to stop it
        self._drive: dict[str, tuple[DriveDestination, DriveFolders]] = {}  # per Google account
        self.delivered_seconds: list[float] = []  # end (+ post-roll) -> verified, per lecture (metrics)
        self.notifier = Notifier(settings, db, node)

    def clean_work_dir(self) -> int:
        """Remove what a previous run of this node left half-built (killed mid-way: its claims have expired or
        will, and the file is built again). Only at start, before any build. Returns how many were removed."""
        work = Path(self.settings.recording.dir) / WORK_DIR
        removed = 0
        for leftover in work.iterdir() if work.is_dir() else []:
            if leftover.name != "delivered" and leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
                removed += 1
        if removed:
            log.info("removed %d half-built lecture file folder(s) in %s", removed, work)
        return removed

    def request_stop(self) -> None:
        """Stop at the next chunk or FFmpeg poll; the claims expire and another node (or the next start)
        finishes. Any thread."""
        self.stop.set()
        with self._lock:
            for ev in self._active:
                ev.set()

    def _zone(self) -> tzinfo | None:
        return self.settings.recording.zone()

    # --- one pass ---------------------------------------------------------------------------------------------

    def run_once(self) -> list[Delivered]:
        """Move started lectures to recording, then assemble and deliver every lecture that is due."""
        now = self.clock()
        lecture_store.start_recording(self.db, now)
        post = timedelta(seconds=self.settings.lectures.post_roll)
        out = []
        for lec in lecture_store.due(self.db, now - post):
            if self.stop.is_set():
                break
            if lec.state in OPEN:
                if not self._pieces_final(lec, now):
                    continue
                cams = [(c.id, c.name) for c in catalog.list_cameras(self.db, lec.room)]
                if not lecture_store.begin_assembly(self.db, lec, cams, self.settings.lectures.claim_ttl):
                    continue
                log.info("lecture %d (%s, %s) ended: assembling %d camera file(s)", lec.id, lec.title, lec.room,
                         len(cams))
                fresh = lecture_store.get(self.db, lec.id)
                if fresh is None:
                    continue
                lec = fresh
            mine = self._mine()
            while not self.stop.is_set():
                f = lecture_store.claim_file(self.db, lec.id, self.node, self.settings.lectures.claim_ttl, mine)
                if f is None:
                    break
                self._build(lec, f)
            done = lecture_store.finish(self.db, lec.id, self.settings.alerts.lecture_coverage_under)
            if done is not None:
                after = max(0.0, (self.clock() - (done.end + post)).total_seconds())
                self.delivered_seconds.append(after)
                out.append(Delivered(done, after))
                self._alert(done)
                log.info("lecture %d (%s, %s) %s: coverage %.1f %%%s", done.id, done.title, done.room, done.state,
                         100 * (done.coverage or 0.0), f"; gaps:\n{done.notes}" if done.notes else "")
        if not self.stop.is_set():
            try:  # also the notices of lectures another node finished, or whose sending failed before
                self.notifier.run_once(self.clock())
            except Exception as exc:  # a notice is worth a warning, never a lost delivery
                log.warning("lecture delivery notices: %s", mask_secrets(str(exc)))
        return out

    def _mine(self) -> set[int]:
        """Cameras whose lecture files this node builds at once: those it records (their pieces are on its disk)
        and those nobody records now; the others' only after lectures.claim_ttl, if their holder has not."""
        return {cid for cid, h in leases.camera_holders(self.db).items()
                if h.node == self.node or not (h.live and h.node_alive)}

    def _pieces_final(self, lec: LectureInfo, now: datetime) -> bool:
        """No piece of the lecture's time is still being written or finalized (or they were waited for long
        enough: they become gaps)."""
        waited = (now - lec.end).total_seconds() - self.settings.lectures.post_roll
        if waited > FINALIZE_WAIT_SEGMENTS * self.settings.recording.segment_length + FINALIZE_WAIT_EXTRA_S:
            return True
        ids = [c.id for c in catalog.list_cameras(self.db, lec.room)]
        if not ids:
            return True
        with self.db.session() as s:
            busy = s.scalar(select(Recording.id).where(
                Recording.camera_id.in_(ids), Recording.slot_start < lec.end,
                Recording.slot_start >= lec.start - timedelta(days=1),
                Recording.status.in_([RecordingStatus.RECORDING, RecordingStatus.FINALIZING])).limit(1))
        return busy is None

    # --- one camera's file ------------------------------------------------------------------------------------

    def _build(self, lec: LectureInfo, f: FileInfo) -> None:
        """Build, upload and record one claimed file; any failure is recorded on the file for a later retry."""
        lost = threading.Event()
        done = threading.Event()
        ttl = self.settings.lectures.claim_ttl

        def renew() -> None:
            while not done.wait(ttl / 3):
                try:
                    if not lecture_store.renew_claim(self.db, f.id, f.claim_token, ttl):
                        log.warning("lecture %d, camera %s: the claim was lost (taken over or redone); stopping",
                                    lec.id, f.camera)
                        lost.set()
                        return
                except Exception as exc:  # the database away for a moment: try again at the next renewal
                    log.warning("lecture %d: claim not renewed: %s", lec.id, mask_secrets(str(exc)))

        with self._lock:
            self._active.add(lost)
        if self.stop.is_set():
            lost.set()
        renewer = threading.Thread(target=renew, name=f"lecture-claim-{f.id}", daemon=True)
        renewer.start()
        work = Path(self.settings.recording.dir) / WORK_DIR / f"{lec.id}-{f.camera_id}-{f.claim_token}"
        try:
            self._build_claimed(lec, f, work, lost)
        except (Cancelled, Stopped):
            log.info("lecture %d, camera %s: stopped before delivery (another node or a later run finishes it)",
                     lec.id, f.camera)
        except (ExportFailed, UploadError, InvalidInput, OSError) as exc:
            why = mask_secrets(str(exc))
            log.warning("lecture %d (%s), camera %s: %s; trying again in %s", lec.id, lec.title, f.camera, why,
                        format_duration(RETRY_S))
            lecture_store.file_failed(self.db, f.id, f.claim_token, why, RETRY_S)
        finally:
            done.set()
            with self._lock:
                self._active.discard(lost)
            renewer.join(5)
            shutil.rmtree(work, ignore_errors=True)

    def _build_claimed(self, lec: LectureInfo, f: FileInfo, work: Path, stop: threading.Event) -> None:
        cam = catalog.get_camera_by_id(self.db, f.camera_id) if f.camera_id is not None else None
        if cam is None:
            lecture_store.file_done(self.db, f.id, f.claim_token, state=LectureFileState.EMPTY, coverage=0.0,
                                    gaps="the camera was removed before the lecture was assembled")
            return
        zone = self._zone()
        name = naming.file_name(lec.start, lec.room, cam.name, lec.title, zone)
        work.mkdir(parents=True, exist_ok=True)
        [result] = export_range(self.settings, self.db, lec.room, cam.name, lec.start, lec.end, work / name,
                                cancel=stop)
        coverage = covered(lec.start, lec.end, result.gaps)
        gaps = "\n".join(self._gap_line(g, zone) for g in result.gaps)
        if result.path is None:
            lecture_store.file_done(self.db, f.id, f.claim_token, state=LectureFileState.EMPTY, coverage=0.0,
                                    gaps=gaps or "nothing of the lecture was recorded", name="",
                                    lecture_version=f.lecture_version)
            return
        description = self._description(lec, cam.name, coverage, gaps, zone)
        outcome = self._upload(lec, f, cam.room, result.path, name, description, stop)
        if not lecture_store.file_done(self.db, f.id, f.claim_token, state=LectureFileState.DONE, name=name,
                                       coverage=coverage, gaps=gaps, size=outcome.size, md5=outcome.md5,
                                       destination=outcome.destination, drive_file_id=outcome.file_id,
                                       web_link=outcome.web_link, folder_link=outcome.folder_link,
                                       lecture_version=f.lecture_version):
            log.warning("lecture %d, camera %s: uploaded, but the claim was lost meanwhile; the new claimant's "
                        "copy replaces this one", lec.id, cam.name)

    @staticmethod
    def _gap_line(g: Gap, zone: tzinfo | None) -> str:
        def t(d: datetime) -> str:
            return (d.astimezone(zone) if zone is not None else d.astimezone()).strftime("%H:%M:%S")

        return f"{t(g.start)}-{t(g.end)} ({format_duration(round(g.seconds))}): {g.reason}"

    @staticmethod
    def _description(lec: LectureInfo, camera: str, coverage: float, gaps: str, zone: tzinfo | None) -> str:
        a = lec.start.astimezone(zone) if zone is not None else lec.start.astimezone()
        b = lec.end.astimezone(zone) if zone is not None else lec.end.astimezone()
        lines = [f"{lec.title}", f"{lec.room} / {camera}, {a:%Y-%m-%d %H:%M}-{b:%H:%M}",
                 *([f"Organizer: {lec.organizer}"] if lec.organizer else []),
                 f"Coverage: {coverage * 100:.1f} %", f"Event: {lec.uid} {lec.recurrence_id}".rstrip()]
        if gaps:
            lines += ["Gaps (not in this file):", *gaps.splitlines()]
        return "\n".join(lines)

    # --- upload -----------------------------------------------------------------------------------------------

    def _upload(self, lec: LectureInfo, f: FileInfo, room: str, path: Path, name: str, description: str,
                stop: threading.Event) -> Outcome:
        parts = naming.folder_parts(self.settings.lectures.folder, lec.title, room, lec.organizer)
        where = self.settings.effective_destination()
        if where == "drive":
            size = path.stat().st_size
            hooks = _Hooks(stop, lambda uri, offset: lecture_store.save_upload(self.db, f.id, f.claim_token, uri,
                                                                              offset, size))
            # A claimant that died (or stopped) mid-upload left its session: resumed when this file has its size
            # (the export is deterministic for the same pieces and FFmpeg; Drive's MD5 check catches the rest).
            resume = f.upload_session_uri if f.upload_session_uri and f.upload_size == size else None
            if resume:
                log.info("lecture %d, camera %s: resuming the upload session left at %d of %d bytes", lec.id,
                         f.camera, f.upload_offset, size)
            return self._upload_drive(lec, room, parts, path, name, description, hooks, resume, f.upload_offset)
        hooks = _Hooks(stop)
        # upload.destination = none: kept on this machine, in the engine's own folder (never taken for a camera's)
        root = self.settings.upload.local_dir if where == "local" else \
            Path(self.settings.recording.dir) / WORK_DIR / "delivered"
        folder = root.joinpath(room, *parts)
        outcome = LocalDestination(self.settings).put_file(path, folder, name, hooks)
        placed = archive_path(outcome.web_link)
        wanted = folder / name
        if placed is not None and placed != wanted:  # delivered again (redo): the new file takes the name
            os.replace(placed, wanted)
            outcome = Outcome(outcome.destination, None, None, wanted.as_uri(), folder.as_uri(), outcome.md5,
                              outcome.size)
        return outcome

    def _drive_destination(self, account: str) -> tuple[DriveDestination, DriveFolders]:
        """The destination signed in as the room's Google account (drive.accounts), made once."""
        if account not in self._drive:
            try:
                settings = self.settings.for_drive_account(account)
                creds = load_credentials(settings)
            except KeyError as exc:
                raise ExportFailed(f"cannot upload lectures to Drive: {exc.args[0]}") from None
            except (DriveAuthError, ValueError) as exc:
                raise ExportFailed(f"cannot upload lectures to Drive (account {account}): {exc}") from None
            folders = DriveFolders(settings, self.db, account)
            self._drive[account] = (DriveDestination(settings, folders, creds), folders)
        return self._drive[account]

    def _upload_drive(self, lec: LectureInfo, room: str, parts: list[str], path: Path, name: str,
                      description: str, hooks: _Hooks, session_uri: str | None = None, offset: int = 0) -> Outcome:
        info = catalog.get_room(self.db, room)
        dest, folders = self._drive_destination(info.drive_account)
        service: Any = dest.service
        tt = timetable_store.get(self.db, room)
        # The event category's folder (lectures.category_folders), else the calendar's own lecture folder (rooms
        # edit --lecture-folder), else the room's folder (or the root).
        folder = folders.base(service, room, self.settings.lectures.category_folder(lec.categories)
                              or (tt.lecture_folder if tt and tt.lecture_folder else info.drive_folder))
        for part in parts:
            folder = folders.child(service, folder.id, part)
        # A node that died after its upload but before recording it left a copy with this name: replaced below.
        q = f"name = '{escape_q(name)}' and '{escape_q(folder.id)}' in parents and trashed = false"
        where: dict[str, str] = {}
        if self.settings.drive.shared_drive:  # as DriveFolders lists a shared drive
            where = {"corpora": "drive", "driveId": self.settings.drive.shared_drive}
        before: list[dict[str, Any]] = []
        token = None
        while True:  # every page: Drive may return short pages
            page = service.files().list(q=q, fields="nextPageToken,files(id)", supportsAllDrives=True,
                                        includeItemsFromAllDrives=True, pageSize=100, pageToken=token,
                                        **where).execute(num_retries=5)
            before += page.get("files", [])
            token = page.get("nextPageToken")
            if not token:
                break
        counting = _CountingHooks(hooks, self.db, info.drive_account)
        outcome = dest.put_file(path, folder.id, folder.web_link, name, counting, description=description,
                                session_uri=session_uri, offset=offset)
        for old in before:
            if old.get("id") != outcome.file_id:
                with contextlib.suppress(Exception):
                    service.files().delete(fileId=old["id"], supportsAllDrives=True).execute(num_retries=5)
        return outcome

    # --- alerts -----------------------------------------------------------------------------------------------

    def _alert(self, lec: LectureInfo) -> None:
        under = self.settings.alerts.lecture_coverage_under
        if under is None:
            return
        short = (lec.coverage or 0.0) < under
        cond = Condition(f"{LECTURE_INCOMPLETE.name}:lecture:{lec.id}", LECTURE_INCOMPLETE,
                         f"lecture {lec.title} ({lec.room}, {lec.start.astimezone():%Y-%m-%d %H:%M})",
                         Status.ACTIVE if short else Status.INACTIVE,
                         f"lecture {lec.id} {lec.title!r} in {lec.room} was delivered with "
                         f"{(lec.coverage or 0) * 100:.1f} % coverage (under {under * 100:g} %): "
                         + "; ".join(lec.notes.splitlines()) if short else "", time.time())
        try:
            alert_store.apply(self.db, [cond], self.node, self.settings.alerts.repeat_every)
        except Exception as exc:  # an alert is worth a warning, never a lost delivery
            log.warning("lecture %d: alert not recorded: %s", lec.id, mask_secrets(str(exc)))
