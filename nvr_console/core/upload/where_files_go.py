"""Where finished files go, in words: what the console's status bar and `nvr-console drive status` both say.

The same rule as the uploader's (`Settings.effective_destination`), so the words match what it does. No
network, any thread. How to change it (a button, a command) is each front end's own addition.
"""

from __future__ import annotations

from dataclasses import dataclass

from nvr_console.core.config import Settings


@dataclass(frozen=True)
class FilesGo:
    destination: str  # drive | local | none (Settings.effective_destination)
    label: str  # a few words for a status bar: "Uploads: local archive (not signed in to Google)"
    sentence: str  # where and why: "the local archive /srv/archive (nobody signed in to Google Drive)"
    needs_attention: bool  # not where an operator would want them, or not going anywhere yet
    sign_in_sends_to_drive: bool  # upload.destination auto fell back to the local archive: signing in changes it


def where_files_go(settings: Settings, signed_in: bool | None = None) -> FilesGo:
    """Where finished files go and why. `signed_in` False says that Drive uploads wait for a sign-in
    (None: not known, not said)."""
    destination, setting = settings.effective_destination(), settings.upload.destination
    if destination == "none":
        return FilesGo(destination, "Uploads: off", "nowhere: uploads are off (upload.destination = none); files "
                       f"stay in {settings.recording.dir}", True, False)
    if destination == "local":
        archive = f"the local archive {settings.upload.local_dir}"
        if setting == "auto":
            return FilesGo(destination, "Uploads: local archive (not signed in to Google)",
                           f"{archive} (nobody signed in to Google Drive)", True, True)
        return FilesGo(destination, "Uploads: local archive", f"{archive} (upload.destination = local)", False, False)
    drive = (f"Google Drive, under {settings.drive.root_folder!r} unless a room names its folder "
             f"(upload.destination = {setting})")
    if signed_in is False:
        return FilesGo(destination, "Uploads: Google Drive (sign in needed)",
                       f"{drive}, but nobody is signed in: files wait in the queue", True, False)
    return FilesGo(destination, "Uploads: Google Drive", drive, False, False)
