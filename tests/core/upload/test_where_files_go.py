"""Where finished files go, in words, for every upload.destination: the uploader's rule, said once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from nvr_console.core.config import Settings
from nvr_console.core.upload.where_files_go import FilesGo, where_files_go


def test_auto_without_a_sign_in_goes_to_the_local_archive_and_says_why(
        settings_factory: Callable[..., Settings], tmp_path: Path) -> None:
    goes = where_files_go(settings_factory())
    assert goes == FilesGo("local", "Uploads: local archive (not signed in to Google)",
                           f"the local archive {tmp_path / 'archive'} (nobody signed in to Google Drive)",
                           needs_attention=True, sign_in_sends_to_drive=True)


def test_auto_with_a_token_goes_to_drive(settings_factory: Callable[..., Settings], tmp_path: Path) -> None:
    token = tmp_path / "config" / "drive-token.json"
    token.parent.mkdir(parents=True)
    token.write_text("{}")
    goes = where_files_go(settings_factory(**{"drive.root_folder": "Lectures"}))
    assert (goes.destination, goes.label, goes.needs_attention) == ("drive", "Uploads: Google Drive", False)
    assert goes.sentence == "Google Drive, under 'Lectures' unless a room names its folder (upload.destination = auto)"


def test_the_chosen_local_archive_and_uploads_off(settings_factory: Callable[..., Settings], tmp_path: Path) -> None:
    local = where_files_go(settings_factory(**{"upload.destination": "local"}))
    assert local == FilesGo("local", "Uploads: local archive",
                            f"the local archive {tmp_path / 'archive'} (upload.destination = local)", False, False)
    off = where_files_go(settings_factory(**{"upload.destination": "none"}))
    assert off == FilesGo("none", "Uploads: off", "nowhere: uploads are off (upload.destination = none); files stay "
                          f"in {tmp_path / 'recordings'}", True, False)


def test_drive_chosen_with_nobody_signed_in_says_files_wait(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(**{"upload.destination": "drive"})
    waiting = where_files_go(settings, signed_in=False)
    assert (waiting.label, waiting.needs_attention) == ("Uploads: Google Drive (sign in needed)", True)
    assert waiting.sentence.endswith("(upload.destination = drive), but nobody is signed in: files wait in the queue")
    # Not known (the command line shows the sign-in on a line of its own): nothing said about it.
    assert where_files_go(settings).sentence.endswith("(upload.destination = drive)")
