"""The Uploader: N worker threads draining the durable queue (`Recording` rows) to Drive or a local archive.

Owned by the engine and living in the engine's thread (start/stop/wake/retry/resume are called there).
Workers are plain Python threads, each with its own destination object and so its own httplib2 connection
(httplib2 is not thread-safe). They emit `upload_progress` / `queue_status` directly; Qt queues those
signals to receivers in other threads (the console), so nobody blocks on the network.

Nothing about an upload lives only in memory: the claim, session URI, confirmed offset, attempts, last error
and next retry time are columns of the row (see `queue.py`), so a restarted or SIGKILLed process resumes
where Drive stands.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from PySide6.QtCore import QObject, Signal
from sqlalchemy.exc import SQLAlchemyError

from nvr_console.core import retention
from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.db.types import utcnow
from nvr_console.core.recording import lifecycle
from nvr_console.core.status import QueueStatus, UploadProgress, UploadState
from nvr_console.core.stream_url import drive_folder_link
from nvr_console.core.upload import drive_usage, naming, queue
from nvr_console.core.upload.account_destinations import AccountDestinations
from nvr_console.core.upload.account_holds import AccountHolds
from nvr_console.core.upload.auth import DriveAuthError
from nvr_console.core.upload.destinations import DriveDestination, LocalDestination, Outcome, backoff
from nvr_console.core.upload.errors import (
    DailyCapReached,
    Fatal,
    FileFailed,
    FolderMissing,
    Stopped,
    UploadError,
    VerifyMismatch,
    classify,
)
from nvr_console.core.upload.queue import Job, RoundRobin
from nvr_console.core.upload.queue_pause import QueuePause

log = logging.getLogger(__name__)

FILE_FAILURE_LIMIT = 5  # per-file rejections before a recording is `failed` (network trouble never counts)
RETRY_CAP_S = 3600.0  # longest wait between attempts of one file


@dataclass
class _Active:
    job: Job
    started: float
    start_offset: int
    sent: int
    total: int
    rate: float = 0.0
    last_emit: float = 0.0
    counted: int = 0  # bytes of this file already added to its account's Drive usage (drive_usage)
    count_usage: bool = False  # a Drive upload: what the server confirms counts against the daily cap


class _WorkerHooks:
    """The per-job callbacks a destination uses (worker thread)."""

    def __init__(self, up: Uploader, active: _Active) -> None:
        self._up, self._a = up, active

    def check(self) -> None:
        if self._up._stopping:
            raise Stopped("stopping")

    def sleep(self, seconds: float) -> None:
        with self._up._cond:
            self._up._cond.wait_for(lambda: self._up._stopping, timeout=seconds)
        self.check()

    def save(self, session_uri: str | None, offset: int) -> None:
        if not queue.save_progress(self._up._db, self._a.job.id, session_uri, offset, self._up._lease_s):
            raise Stopped("the claim on this recording was lost (another process took it over)")
        self._count(offset)

    def _count(self, offset: int) -> None:
        """Add what Drive newly confirmed to the account's usage of the day. A failed write is carried to the
        next chunk (`counted` moves only when it was written)."""
        a = self._a
        if not a.count_usage:
            return
        if offset < a.counted:  # a new session (expired, or a bad copy deleted): its bytes count again
            a.counted = offset
            return
        if offset > a.counted and self._up._holds.worked(a.job.account):
            self._up._emit_queue()
        try:
            drive_usage.add(self._up._db, a.job.account, offset - a.counted)
            a.counted = offset
        except (SQLAlchemyError, DatabaseUnavailable) as exc:
            log.warning("Drive usage of account %s not counted yet: %s", a.job.account, exc)

    def progress(self, sent: int, total: int) -> None:
        a, now = self._a, time.monotonic()
        a.sent, a.total = sent, total
        elapsed = now - a.started
        if elapsed > 0:
            a.rate = max(sent - a.start_offset, 0) / elapsed
        if now - a.last_emit >= 0.2 or sent >= total:
            a.last_emit = now
            self._up._emit_progress(a, UploadState.UPLOADING)


class Uploader(QObject):
    """Durable, resumable, verified, parallel uploads. See the module docstring for threads."""

    upload_progress = Signal(object)  # status.UploadProgress
    queue_status = Signal(object)  # status.QueueStatus
    warning = Signal(str)  # loud operator warnings (disk nearly full), already logged

    def __init__(
        self,
        settings: Settings,
        db: Database,
        parent: QObject | None = None,
        *,
        lease_s: float = 120.0,
        retry_base_s: float = 2.0,
        poll_s: float = 15.0,
        probe_s: float = 900.0,
        retention_every_s: float = 60.0,
        max_inline_retries: int = 6,
        retention_space: bool = True,
    ) -> None:
        """`retention_space=False`: the housekeeping sweep leaves retention.min_free_space to the recording
        engine's disk guard, which applies it at once and with the room its segments need."""
        super().__init__(parent)
        self._settings = settings
        self._db = db
        self._lease_s = lease_s
        self._retry_base = retry_base_s
        self._poll_s = poll_s
        self._retention_every = retention_every_s
        self._retention_space = retention_space
        self._max_inline = max_inline_retries
        self._cond = threading.Condition()
        self._stopping = False
        self._pause = QueuePause(self._cond, probe_s, poll_s)
        self._active: dict[int, _Active] = {}
        self._threads: list[threading.Thread] = []
        self._rr = RoundRobin()
        self._holds = AccountHolds(self._cond, settings.drive.cap_probe_every)
        self._destination = settings.effective_destination()
        self._accounts = AccountDestinations(self._destination, db, self._cond, retry_base_s=retry_base_s,
                                             max_inline_retries=max_inline_retries)
        self._reclaim_pending = False
        # Uploads this node's recordings only: the files on its own disk (recordings.node).
        self._node = settings.node.name

    # ------------------------------------------------------------------ engine-thread API

    @property
    def destination(self) -> str:
        return self._destination

    def retention_changed(self, settings: Settings) -> None:
        """New retention settings, used from the next verified upload and sweep on. Engine thread (the workers
        read the attribute, replaced whole)."""
        self._settings = replace(self._settings, retention=settings.retention)

    def start(self) -> None:
        """Start the workers and the housekeeping thread. Engine thread."""
        if self._threads:
            return
        self._stopping = False
        self._reclaim_claims()
        if self._destination == "none":
            log.info("uploads are off (upload.destination = none); recordings stay in the queue")
        else:
            for i in range(self._settings.upload.workers):
                t = threading.Thread(target=self._worker_main, name=f"upload-{i + 1}", daemon=True)
                self._threads.append(t)
        self._threads.append(threading.Thread(target=self._housekeeping, name="upload-housekeeping", daemon=True))
        for t in self._threads:
            t.start()
        log.info("uploader started: destination %s, %d worker(s)", self._destination,
                 0 if self._destination == "none" else self._settings.upload.workers)
        self._emit_queue()

    def _reclaim_claims(self) -> None:
        """Claims left by this node's earlier process (or a dead one on this host) go back to the queue. Tried
        again by the housekeeping thread until the database answers (a start while it is down)."""
        try:
            reclaimed = queue.reclaim_dead_claims(self._db, self._node)
        except (SQLAlchemyError, DatabaseUnavailable) as exc:
            log.info("upload claims of an earlier process not checked yet: %s", exc)
            self._reclaim_pending = True
            return
        self._reclaim_pending = False
        if reclaimed:
            log.info("resuming %d upload(s) left by a process that stopped without finishing them", reclaimed)

    def stop(self, timeout_s: float = 10) -> None:
        """Stop the workers; each finishes or abandons its current chunk. Engine thread.

        The session URI and confirmed offset are already in the database, so nothing is lost: rows still
        held after `timeout_s` are handed back to the queue and resume from Drive's offset next time.
        """
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout_s
        for t in self._threads:
            t.join(max(deadline - time.monotonic(), 0.01))
        stuck = [a.job.id for a in list(self._active.values())]
        for rid in stuck:
            self._release_quietly(rid, None, None, count=False)
        if stuck:
            log.warning("uploads %s did not stop within %.0f s; they will resume from the saved offset", stuck,
                        timeout_s)
        self._active.clear()
        self._threads = []

    def wake(self) -> None:
        """A recording became ready: idle workers look at the queue now, and the queue's figure is sent again
        (it grew: with uploads off, or all workers busy, nothing else would say so). Any thread."""
        with self._cond:
            self._cond.notify_all()
        self._emit_queue()

    def retry(self, recording_id: int) -> None:
        """Operator retry of a failed (or waiting) upload: it is eligible at once. Engine thread."""
        if lifecycle.requeue(self._db, recording_id):
            log.info("recording %d queued again by the operator", recording_id)
        self.wake()
        self._emit_queue()

    def resume(self) -> None:
        """Operator un-pause after fixing a fatal error (signed in again, freed space...). Engine thread."""
        with self._cond:
            was = self._pause.resume()
            was = self._holds.clear() or was
            self._accounts.reload()  # a new sign-in may have been saved
            self._cond.notify_all()
        if was:
            log.info("uploads resumed by the operator")
        self._emit_queue()

    def is_paused(self) -> tuple[bool, str]:
        """(paused, why): the whole queue, or every account it uploads with, waits."""
        with self._cond:
            if self._pause.reason:
                return True, self._pause.reason
            names = self._settings.drive.account_names() if self._destination == "drive" else ()
            waiting = self._holds.waiting()
            if names and all(n in waiting for n in names):
                return True, "; ".join(waiting[n] for n in names)
            return False, ""

    def held_accounts(self) -> dict[str, str]:
        """Accounts whose uploads wait now (or are trying again after waiting), with why (any thread)."""
        return self._holds.waiting()

    def is_idle(self) -> bool:
        """No upload running right now (any thread)."""
        return not self._active

    # ------------------------------------------------------------------ worker threads

    def _idle_wait(self) -> float:
        wait = self._poll_s
        try:
            due = queue.next_due(self._db, self._node)
        except (SQLAlchemyError, DatabaseUnavailable):
            return wait
        if due is not None:
            wait = min(wait, max((due - utcnow()).total_seconds(), 0.05))
        hold = self._holds.wait()
        return wait if hold is None else min(wait, hold)

    def _worker_main(self) -> None:
        """Worker thread: claim, upload, verify, record; forever until stop()."""
        dests: dict[str, DriveDestination | LocalDestination] = {}  # per account: each has its own sign-in
        gen = -1
        while True:
            with self._cond:
                if self._stopping:
                    return
                wait = self._pause.wait()
                if wait is not None:
                    self._cond.wait(wait)
                    continue
            if gen != self._accounts.generation:
                gen, dests = self._accounts.generation, {}
            try:
                held = self._holds.held_now() if self._destination == "drive" else frozenset()
                job = queue.claim_next(self._db, self._rr, self._lease_s, self._node, skip_accounts=held)
            except (SQLAlchemyError, DatabaseUnavailable) as exc:
                log.warning("upload queue: database error: %s", exc)
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping, timeout=self._poll_s)
                continue
            if job is None:
                wait = self._idle_wait()
                with self._cond:
                    if not self._stopping:
                        self._cond.wait(wait)
                continue
            try:
                dest = dests.get(job.account) or dests.setdefault(job.account,
                                                                   self._accounts.make(self._settings, job.account))
            except DriveAuthError as exc:
                self._release_quietly(job.id, None, None, count=False)
                if len(self._settings.drive.account_names()) == 1:
                    self._pause.pause(str(exc), probe=False)  # one account: the whole queue waits for a sign-in
                    self._emit_queue()
                else:
                    self._holds.hold(job.account, f"Google account {job.account}: {exc}", probe=False)
                    self._emit_queue()
                continue
            try:
                self._run(job, dest)
            except (SQLAlchemyError, DatabaseUnavailable) as exc:
                # The claim's lease runs out and the row is taken again later: nothing is lost.
                log.warning("upload of recording %d: database error: %s", job.id, exc)
            except Exception:
                log.exception("upload of recording %d: unexpected error", job.id)
                self._release_quietly(job.id, "unexpected error (see the log)", self._retry_at(job.attempts + 1),
                                      count=True)

    def _retry_at(self, attempts: int) -> datetime:
        return utcnow() + timedelta(seconds=backoff(attempts, self._retry_base, RETRY_CAP_S))

    def _release_quietly(self, rid: int, error: str | None, at: datetime | None, count: bool,
                         keep_session: bool = True) -> None:
        try:
            lifecycle.release_upload(self._db, rid, error=error, retry_at=at, count_attempt=count,
                                     keep_session=keep_session)
        except (SQLAlchemyError, DatabaseUnavailable) as exc:
            log.warning("could not hand recording %d back to the queue: %s", rid, exc)

    def _run(self, job: Job, dest: DriveDestination | LocalDestination) -> None:
        """Worker thread: one claimed recording to the end (uploaded, retry later, failed, lost or paused)."""
        if job.session_uri and job.destination not in (None, dest.name):
            job = replace(job, session_uri=None, bytes_confirmed=0)  # destination changed
        if job.remote_name is None:
            # Chosen once, unique across every node, before the first byte goes out (naming module notes).
            job = replace(job, remote_name=naming.assign_remote_name(self._db, job.id, self._settings.recording.zone()))
        total = job.size or 0
        active = _Active(job, time.monotonic(), job.bytes_confirmed, job.bytes_confirmed, total,
                         counted=job.bytes_confirmed if job.session_uri else 0, count_usage=dest.name == "drive")
        self._active[job.id] = active
        self._emit_progress(active, UploadState.UPLOADING)
        self._emit_queue()
        try:
            outcome = dest.upload(job, _WorkerHooks(self, active))
        except FileNotFoundError:
            msg = f"the local file {job.local_path} is missing; it was deleted or moved before it was uploaded"
            lifecycle.mark_lost(self._db, job.id, msg)
            log.error("recording %d: %s", job.id, msg)
            self._emit_progress(active, UploadState.FAILED, msg)
        except Stopped:
            self._release_quietly(job.id, None, None, count=False)
            self._emit_progress(active, UploadState.QUEUED)
        except Exception as exc:
            self._failed(job, active, classify(exc))
        else:
            self._uploaded(job, active, outcome)
        finally:
            self._active.pop(job.id, None)
            self._emit_queue()

    def _failed(self, job: Job, active: _Active, err: UploadError) -> None:
        text = str(err)
        if isinstance(err, DailyCapReached):
            # Only this account waits; its session stays valid for a week, so nothing is sent twice.
            self._release_quietly(job.id, text, None, count=False)
            self._holds.hold(job.account, f"Google account {job.account}: {text}", probe=True)
            self._emit_queue()
            self._emit_progress(active, UploadState.PAUSED, text)
            return
        if isinstance(err, Fatal):
            # Hand the row back untouched (its session stays valid for a week) and pause everything.
            self._release_quietly(job.id, text, None, count=False)
            self._pause.pause(text)
            self._emit_queue()
            self._emit_progress(active, UploadState.PAUSED, text)
            return
        if isinstance(err, FolderMissing):
            self._accounts.forget_folder(job.account, err.folder_id)
            self._release_quietly(job.id, text, None, count=True, keep_session=False)
            self._emit_progress(active, UploadState.RETRYING, text)
            return
        if isinstance(err, FileFailed) and job.attempts + 1 >= FILE_FAILURE_LIMIT:
            lifecycle.mark_upload_failed(self._db, job.id, text)
            log.error("recording %d failed for good: %s", job.id, text)
            self._emit_progress(active, UploadState.FAILED, text)
            return
        # Retryable (network, 5xx, rate limits, verify mismatch) or a file error below the limit.
        at = self._retry_at(1 if isinstance(err, VerifyMismatch) else job.attempts + 1)
        keep = not isinstance(err, VerifyMismatch)
        self._release_quietly(job.id, text, at, count=True, keep_session=keep)
        log.warning("recording %d: %s; next try at %s", job.id, text, at.astimezone().strftime("%H:%M:%S"))
        self._emit_progress(active, UploadState.RETRYING, text)
        self.wake()  # idle workers recompute their sleep from the new next_attempt_at

    def _uploaded(self, job: Job, active: _Active, out: Outcome) -> None:
        folder_link = out.folder_link
        if not folder_link and out.destination == "drive" and out.folder_id:
            # A folder cached or listed without its webViewLink: the console's link column still needs one.
            folder_link = drive_folder_link(out.folder_id)
        ok = lifecycle.mark_uploaded(
            self._db, job.id, destination=out.destination, file_id=out.file_id, folder_id=out.folder_id,
            web_link=out.web_link, folder_link=folder_link, md5=out.md5, size=out.size,
        )
        if not ok:
            log.warning("recording %d uploaded but its claim was lost; the next owner will find it complete", job.id)
            return
        self._pause.worked()
        if self._holds.worked(job.account):
            self._emit_queue()
        active.sent = active.total = out.size
        self._emit_progress(active, UploadState.UPLOADED, web_link=out.web_link or "",
                            folder_link=folder_link or "")
        log.info("recording %d uploaded and verified (%s, %d bytes)", job.id, out.destination, out.size)
        if self._settings.retention.delete_after == 0:
            retention.delete_local_copy(self._db, job.id, self._node)

    # ------------------------------------------------------------------ housekeeping thread

    def _housekeeping(self) -> None:
        """Housekeeping thread: renew claim leases, sweep retention, publish queue status."""
        renew_every = max(self._lease_s / 4, 0.2)
        next_retention = time.monotonic()
        next_status = time.monotonic()
        while True:
            with self._cond:
                if self._stopping:
                    return
                self._cond.wait(min(renew_every, 2.0))
                if self._stopping:
                    return
            try:
                if self._reclaim_pending:
                    self._reclaim_claims()
                queue.renew_leases(self._db, [a.job.id for a in list(self._active.values())], self._lease_s)
                now = time.monotonic()
                if now >= next_retention:
                    next_retention = now + self._retention_every
                    released = queue.release_claims_of_dead_nodes(self._db)
                    if released:
                        log.info("%d upload claim(s) of nodes that stopped reporting were handed back to them",
                                 released)
                    report = retention.sweep(self._settings, self._db, space=self._retention_space)
                    for w in report.warnings:
                        self.warning.emit(w)
                if self._active and now >= next_status:
                    next_status = now + 2.0
                    self._emit_queue()
            except (SQLAlchemyError, DatabaseUnavailable) as exc:
                log.warning("upload housekeeping: database error: %s", exc)
            except Exception:
                log.exception("upload housekeeping failed")

    # ------------------------------------------------------------------ signals (any thread)

    def _emit_progress(self, a: _Active, state: UploadState, error: str = "", web_link: str = "",
                       folder_link: str = "") -> None:
        eta = (a.total - a.sent) / a.rate if a.rate > 0 and a.total > a.sent else 0.0
        self.upload_progress.emit(UploadProgress(
            recording_id=a.job.id, camera_id=a.job.camera_id, state=state, bytes_sent=a.sent, total=a.total,
            rate_bps=a.rate, eta_s=eta, web_link=web_link, folder_link=folder_link, error=error,
        ))

    def _emit_queue(self) -> None:
        try:
            files, remaining = queue.totals(self._db, self._node)
        except (SQLAlchemyError, DatabaseUnavailable):
            return
        paused, reason = self.is_paused()
        if not paused and self._destination == "none":
            reason = "uploads are off (upload.destination = none)"
        rate = sum(a.rate for a in list(self._active.values()))
        held = "" if paused else "; ".join(self.held_accounts().values())
        self.queue_status.emit(QueueStatus(files=files, bytes=remaining, rate_bps=rate, paused=paused, reason=reason,
                                           accounts_waiting=held))

