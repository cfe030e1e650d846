"""Drive folders by path, created once: `<room folder or root>/<YYYY-MM-DD>/<HH:MM>`.

Drive allows several folders with the same name in one parent, so a naive find-or-create from parallel
workers makes duplicates. Here: one process-wide lock around find-or-create, a database cache of
path -> folder id (shared by processes and restarts), every list page read, and after creating a folder we
list again and keep the oldest, deleting ours if another process won the race.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from googleapiclient.errors import HttpError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from nvr_console.core.config import DEFAULT_DRIVE_ACCOUNT, Settings
from nvr_console.core.db.models import DriveFolder
from nvr_console.core.db.session import Database
from nvr_console.core.upload.errors import Fatal, http_error_reason

if TYPE_CHECKING:
    from googleapiclient._apis.drive.v3 import DriveResource, File, Permission

log = logging.getLogger(__name__)

FOLDER_MIME = "application/vnd.google-apps.folder"
_LOCK = threading.Lock()  # process-wide: every Uploader and worker shares it
_RETRIES = 5  # the client library's own backoff for metadata calls (5xx, 429, rate-limit 403)


def escape_q(value: str) -> str:
    """Quote a value for a Drive `q` string literal: backslash and single quote are escaped."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


@dataclass(frozen=True)
class Folder:
    id: str
    web_link: str | None


class DriveFolders:
    """Find-or-create of folders; methods run on the calling upload worker with that worker's service."""

    def __init__(self, settings: Settings, db: Database, account: str = DEFAULT_DRIVE_ACCOUNT) -> None:
        """`settings` signed in as `account` (Settings.for_drive_account): each account has its own root folder,
        since an app with the drive.file scope sees only the folders it made as that account."""
        self._settings = settings
        self._db = db
        self._account = account
        self._checked_rooms: dict[str, Folder] = {}
        self._share_applied: tuple[str, str] | None = None  # (root folder id, drive.share) done this run

    # -- public
    def folder_for(self, service: DriveResource, room: str, room_folder: str | None, day: str, time: str) -> Folder:
        """The `<day>/<time>` folder under the room's own folder or the root folder."""
        day_folder = self.child(service, self.base(service, room, room_folder).id, day)
        return self.child(service, day_folder.id, time)

    def base(self, service: DriveResource, room: str, room_folder: str | None) -> Folder:
        """The room's own folder (checked once per run), or the root folder when it names none."""
        return self._room_folder(service, room, room_folder) if room_folder else self.root(service)

    def root(self, service: DriveResource) -> Folder:
        """The root folder (`drive.root_folder`), created once; its link-sharing made to match `drive.share`
        once per run, so changing the setting takes effect at the next start."""
        parent = self._settings.drive.shared_drive or "root"
        scope = "" if self._account == DEFAULT_DRIVE_ACCOUNT else f"@{self._account}"
        folder = self.child(service, parent, self._settings.drive.root_folder, cache_parent=parent + scope)
        wanted = (folder.id, self._settings.drive.share)
        if self._share_applied != wanted:
            with _LOCK:
                if self._share_applied != wanted:
                    self._apply_share(service, folder.id)
                    self._share_applied = wanted
        return folder

    def forget(self, folder_id: str) -> None:
        """Drop a folder (and everything cached below it) from the cache, e.g. after it was deleted on Drive."""
        with _LOCK, self._db.session() as s:
            doomed = {folder_id}
            frontier = [folder_id]
            while frontier:
                parent = frontier.pop()
                for row in s.scalars(select(DriveFolder).where(DriveFolder.path.like(f"{parent}/%"))):
                    if row.folder_id not in doomed:
                        doomed.add(row.folder_id)
                        frontier.append(row.folder_id)
            s.execute(delete(DriveFolder).where(DriveFolder.folder_id.in_(doomed)))
        self._checked_rooms = {k: v for k, v in self._checked_rooms.items() if v.id not in doomed}

    # -- internals
    def _room_folder(self, service: DriveResource, room: str, folder_id: str) -> Folder:
        known = self._checked_rooms.get(folder_id)
        if known is not None:
            return known
        try:
            meta = service.files().get(
                fileId=folder_id, fields="id,mimeType,webViewLink,trashed", supportsAllDrives=True
            ).execute(num_retries=_RETRIES)
        except HttpError as exc:
            status, reason, _ = http_error_reason(exc)
            if status in (403, 404):
                raise Fatal(
                    f"the Drive folder {folder_id} of room {room!r} cannot be used ({status} {reason}): it was "
                    "deleted, is not shared with the signed-in account as Editor, or is not visible to an app "
                    "signed in with the drive.file scope; fix it or clear the room's Drive folder, then resume"
                ) from None
            raise
        if meta.get("mimeType") != FOLDER_MIME or meta.get("trashed"):
            raise Fatal(f"the Drive item {folder_id} of room {room!r} is not a folder (or is in the trash); "
                        "set the room's Drive folder to a folder link, then resume")
        folder = Folder(meta["id"], meta.get("webViewLink"))
        self._checked_rooms[folder_id] = folder
        return folder

    def _cached(self, key: str) -> Folder | None:
        with self._db.session() as s:
            row = s.scalar(select(DriveFolder).where(DriveFolder.path == key))
            return Folder(row.folder_id, row.web_link) if row else None

    def _remember(self, key: str, folder: Folder) -> Folder:
        try:
            with self._db.session() as s:
                s.add(DriveFolder(path=key, folder_id=folder.id, web_link=folder.web_link))
        except IntegrityError:  # another process cached it first: use theirs (both chose the oldest)
            cached = self._cached(key)
            if cached is not None:
                return cached
        return folder

    def _list(self, service: DriveResource, parent: str, name: str) -> list[File]:
        q = (f"name = '{escape_q(name)}' and '{escape_q(parent)}' in parents and mimeType = '{FOLDER_MIME}' "
             "and trashed = false")
        kwargs: dict[str, Any] = {"q": q, "fields": "nextPageToken,files(id,name,createdTime,webViewLink)",
                                  "pageSize": 100, "orderBy": "createdTime", "supportsAllDrives": True,
                                  "includeItemsFromAllDrives": True}
        if self._settings.drive.shared_drive:
            kwargs.update(corpora="drive", driveId=self._settings.drive.shared_drive)
        found: list[File] = []
        token = None
        while True:  # every page: Drive may return short pages
            resp = service.files().list(pageToken=token, **kwargs).execute(num_retries=_RETRIES)
            found += resp.get("files", [])
            token = resp.get("nextPageToken")
            if not token:
                break
        return sorted(found, key=lambda f: (f.get("createdTime", ""), f["id"]))

    def child(self, service: DriveResource, parent: str, name: str, cache_parent: str | None = None) -> Folder:
        """The folder `name` inside `parent`, found or created; never a duplicate. `cache_parent`: the parent's
        name in the cache when `parent` means a different folder per account ("root")."""
        key = f"{cache_parent or parent}/{name}"[:512]
        with _LOCK:
            cached = self._cached(key)
            if cached is not None:
                return cached
            found = self._list(service, parent, name)
            if found:
                return self._remember(key, Folder(found[0]["id"], found[0].get("webViewLink")))
            created = service.files().create(
                body={"name": name, "mimeType": FOLDER_MIME, "parents": [parent]},
                fields="id,createdTime,webViewLink", supportsAllDrives=True,
            ).execute(num_retries=_RETRIES)
            # Another process (or a create whose answer was lost and retried) may have made one too:
            # everyone keeps the oldest, so the others disappear.
            again = self._list(service, parent, name) or [created]
            keep = again[0]
            for extra in again[1:]:
                if extra["id"] == created["id"]:
                    self._delete_quietly(service, extra["id"])
            log.info("Drive folder %r created in %s", name, parent)
            return self._remember(key, Folder(keep["id"], keep.get("webViewLink") or created.get("webViewLink")))

    def _delete_quietly(self, service: DriveResource, file_id: str) -> None:
        try:
            service.files().delete(fileId=file_id, supportsAllDrives=True).execute(num_retries=_RETRIES)
        except HttpError:
            log.warning("could not delete the duplicate Drive folder %s", file_id)

    def _apply_share(self, service: DriveResource, folder_id: str) -> None:
        """Make the root's link-sharing (type anyone / domain) exactly what `drive.share` says; people's own
        permissions are never touched. A refusal (not the folder's owner) is logged, uploads go on."""
        mode = self._settings.drive.share
        if mode == "private":
            wanted: Permission | None = None
        elif mode == "anyone":
            wanted = {"type": "anyone", "role": "reader"}
        else:
            wanted = {"type": "domain", "role": "reader", "domain": mode.split(":", 1)[1]}
        try:
            perms = service.permissions().list(
                fileId=folder_id, fields="permissions(id,type,role,domain)", supportsAllDrives=True
            ).execute(num_retries=_RETRIES).get("permissions", [])
            links = [p for p in perms if p.get("type") in ("anyone", "domain")]
            matching = [p for p in links if wanted and all(p.get(k) == v for k, v in wanted.items())]
            for p in links:
                if p in matching:
                    continue
                service.permissions().delete(fileId=folder_id, permissionId=p["id"],
                                             supportsAllDrives=True).execute(num_retries=_RETRIES)
                log.info("root folder link-sharing removed (%s %s; drive.share = %s)", p.get("type"),
                         p.get("domain", ""), mode)
            if wanted and not matching:
                service.permissions().create(
                    fileId=folder_id, body=wanted, supportsAllDrives=True, fields="id"
                ).execute(num_retries=_RETRIES)
                log.info("root folder shared (%s, reader)", mode)
        except HttpError as exc:
            status, _, message = http_error_reason(exc)
            log.warning("could not make the root folder's sharing match drive.share = %s (HTTP %s: %s); share it "
                        "by hand in Drive, or sign in as the folder's owner", mode, status, message)
