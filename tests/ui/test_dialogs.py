"""Dialogs validate with the core's own messages and save through the catalog / config writer."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QMessageBox

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.recording.demo import DEMO_CAMERAS, DEMO_ROOM
from nvr_console.core.stream_url import InvalidInput, validate_stream_url
from nvr_console.ui.app import build_console, welcome
from nvr_console.ui.dialogs.camera_dialog import CameraDialog, join_password, split_password
from nvr_console.ui.dialogs.rooms_dialog import RoomsDialog
from nvr_console.ui.dialogs.welcome_dialog import WelcomeDialog
from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
from tests.support.rtsp_peer import RtspServer
from tests.ui.engine_double import EngineDouble

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"


def core_message(fn, *args) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as err:
        fn(*args)
    return str(err.value)


def test_password_lives_in_its_own_field() -> None:
    assert split_password("rtsp://admin:s3cr@t@10.0.0.5/live") == ("rtsp://admin@10.0.0.5/live", "s3cr@t")
    assert join_password("rtsp://admin@10.0.0.5/live", "pw") == "rtsp://admin:pw@10.0.0.5/live"
    assert join_password("rtsp://10.0.0.5/live", "pw") == "rtsp://:pw@10.0.0.5/live"
    assert join_password("rtsp://10.0.0.5/live", "") == "rtsp://10.0.0.5/live"


def test_camera_dialog_shows_core_messages_inline_and_refuses_to_save(qtbot, db: Database) -> None:
    catalog.add_room(db, "A-101")
    catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s")
    d = CameraDialog(db, FFMPEG)
    qtbot.addWidget(d)
    d.name.setText("a/b")
    assert d.name_error.text() == core_message(catalog.validate_name, "a/b", "camera")
    d.url.setText("ftp://10.0.0.5/x")
    assert d.url_error.text() == core_message(validate_stream_url, "ftp://10.0.0.5/x", "camera URL")
    d.room.setCurrentText("A-101")
    d.name.setText("front")
    d.url.setText("rtsp://admin@10.0.0.6/s")
    d.password.setText("pw")
    d.save()  # a duplicate: the catalog's sentence, and the dialog stays open
    assert d.saving and not d.buttons.isEnabled()  # returned at once: the catalog is asked on the database pool
    qtbot.waitUntil(lambda: not d.saving, timeout=5_000)
    assert "already has a camera named 'front'" in d.error.text()
    assert d.result() != QDialog.DialogCode.Accepted
    d.name.setText("back")
    d.save()
    qtbot.waitUntil(lambda: not d.saving, timeout=5_000)
    assert d.result() == QDialog.DialogCode.Accepted
    saved = catalog.get_camera(db, "A-101", "back")
    assert saved.stream_url == "rtsp://admin:pw@10.0.0.6/s"
    assert d.saved == saved
    edit = CameraDialog(db, FFMPEG, saved)
    qtbot.addWidget(edit)
    assert edit.url.text() == "rtsp://admin@10.0.0.6/s" and edit.password.text() == "pw"  # never shown in the URL
    qtbot.waitUntil(lambda: edit.rooms_loaded, timeout=5_000)
    assert edit.room.currentText() == "A-101" and edit.room.count() == 1  # the room list keeps the camera's room


def test_camera_dialog_offers_the_rooms_and_keeps_what_was_typed(qtbot, db: Database) -> None:
    for room in ("A-101", "B-202"):
        catalog.add_room(db, room)
    d = CameraDialog(db, FFMPEG, room="B-202")
    qtbot.addWidget(d)
    qtbot.waitUntil(lambda: d.rooms_loaded, timeout=5_000)
    assert [d.room.itemText(i) for i in range(d.room.count())] == ["A-101", "B-202"]
    assert d.room.currentText() == "B-202"
    d.room.setCurrentText("C-303")  # a new room is created with the camera
    d.name.setText("door")
    d.url.setText("rtsp://10.0.0.9/s")
    d.save()
    qtbot.waitUntil(lambda: not d.saving, timeout=5_000)
    assert d.result() == QDialog.DialogCode.Accepted
    assert catalog.get_camera(db, "C-303", "door").room == "C-303"


@pytest.mark.skipif(not shutil.which("ffmpeg"), reason="needs ffmpeg")
def test_camera_test_button_probes_off_the_ui_thread(qtbot, db: Database) -> None:
    d = CameraDialog(db, FFMPEG)
    qtbot.addWidget(d)
    d.url.setText("lavfi:testsrc2=size=320x180:rate=25")
    d.tester.button.click()
    assert not d.tester.button.isEnabled()  # returned at once: the probe runs in the background
    qtbot.waitUntil(lambda: d.tester.button.isEnabled(), timeout=20_000)
    assert d.tester.result.text().startswith("OK: video rawvideo 320x180")
    assert d.tester.snapshot.pixmap() is not None and not d.tester.snapshot.pixmap().isNull()
    d.url.setText("rtsp://admin@127.0.0.1:1/live")
    d.password.setText("hunter2")
    d.tester.button.click()
    qtbot.waitUntil(lambda: d.tester.button.isEnabled(), timeout=20_000)
    assert "Connection refused" in d.tester.result.text() and "hunter2" not in d.tester.result.text()


def test_rooms_dialog_validates_drive_folder_and_saves(qtbot, db: Database) -> None:
    d = RoomsDialog(db, FFMPEG)
    qtbot.addWidget(d)
    qtbot.waitUntil(lambda: d.loaded, timeout=5_000)  # the room list comes from the database pool
    d.name.setText("B-202")
    d.folder.setText("not a folder")
    assert "neither a folder id nor a folder link" in d.folder_info.text()
    d.save()
    assert d.busy  # returned at once: the catalog is asked on the database pool
    qtbot.waitUntil(lambda: not d.busy, timeout=5_000)
    assert "neither a folder id nor a folder link" in d.error.text()
    assert catalog.list_rooms(db) == []
    d.folder.setText("https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOp?usp=sharing")
    assert "1AbCdEfGhIjKlMnOp" in d.folder_info.text()
    d.save()
    qtbot.waitUntil(lambda: not d.busy, timeout=5_000)
    room = catalog.get_room(db, "B-202")
    assert room.drive_folder == "1AbCdEfGhIjKlMnOp" and d.changed
    assert d.list.currentItem().text() == "B-202" and d.error.text() == "Saved room B-202."


def test_rooms_dialog_edits_and_removes_with_its_cameras(qtbot, db: Database) -> None:
    catalog.add_room(db, "A-101")
    catalog.add_room(db, "B-202")
    catalog.add_camera(db, "B-202", "front", "rtsp://10.0.0.5/s")
    d = RoomsDialog(db, FFMPEG)
    qtbot.addWidget(d)
    qtbot.waitUntil(lambda: d.loaded, timeout=5_000)
    d.list.setCurrentRow(1)
    assert d.name.text() == "B-202"
    d.sound.setText("rtsp://10.0.0.7/audio")
    d.save()
    qtbot.waitUntil(lambda: not d.busy, timeout=5_000)
    assert catalog.get_room(db, "B-202").sound_source_url == "rtsp://10.0.0.7/audio"

    def answer_yes() -> None:  # the question about its camera is modal: answer it from a timer inside its loop
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            box.button(QMessageBox.StandardButton.Yes).click()
        else:
            QTimer.singleShot(50, answer_yes)

    QTimer.singleShot(0, answer_yes)
    d.remove()
    qtbot.waitUntil(lambda: not d.busy and d.list.count() == 1, timeout=5_000)
    assert [r.name for r in catalog.list_rooms(db)] == ["A-101"] and catalog.list_cameras(db) == []


def test_rooms_sound_source_test_reads_audio_off_the_ui_thread(qtbot, db: Database,
                                                              rtsp_server: RtspServer) -> None:  # noqa: F811
    d = RoomsDialog(db, FFMPEG)
    qtbot.addWidget(d)
    d.sound.setText(rtsp_server.url("/audio"))
    d.tester.button.click()
    assert not d.tester.button.isEnabled()  # the probe runs in the background
    qtbot.waitUntil(lambda: d.tester.button.isEnabled(), timeout=20_000)
    assert d.tester.result.text().startswith(f"OK: no video · audio {rtsp_server.audio_codec} ")
    assert d.tester.snapshot.isHidden()  # nothing to show for sound
    d.sound.setText(rtsp_server.url("/cam"))  # a camera without a microphone is no sound source
    d.tester.button.click()
    qtbot.waitUntil(lambda: d.tester.button.isEnabled(), timeout=20_000)
    assert "carries no audio" in d.tester.result.text()


def test_welcome_demo_choice_adds_the_core_demo_cameras(qtbot, settings: Settings, db: Database) -> None:
    engine = EngineDouble()
    console = build_console(settings, db, engine)
    console.window.close_question = lambda _active: "keep"
    qtbot.addWidget(console.window)

    def choose_demo() -> None:  # the modal dialog runs its own loop: click from a timer inside it
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, WelcomeDialog):
            dialog.demo_button.click()
        else:
            QTimer.singleShot(50, choose_demo)

    QTimer.singleShot(0, choose_demo)
    welcome(console, db)
    qtbot.waitUntil(lambda: console.window.model.rowCount() == len(DEMO_CAMERAS), timeout=5_000)
    cams = catalog.list_cameras(db)
    # The engine's own demo cameras (core.recording.demo), not a second list kept by the console.
    assert sorted((c.room, c.name, c.stream_url) for c in cams) == sorted((DEMO_ROOM, n, u) for n, u in DEMO_CAMERAS)
    assert console.window.model.rowCount() == len(DEMO_CAMERAS)
    qtbot.waitUntil(lambda: ("reload", None) in engine.commands, timeout=3000)


def _nodes(db: Database) -> None:
    from nvr_console.core.db.models import NodeRole
    from nvr_console.core.fleet import registry

    registry.register(db, "srv2", NodeRole.RECORDER, lease_ttl=30, process="srv2:1")
    registry.register(db, "srv1", NodeRole.RECORDER, lease_ttl=30, process="srv1:1")
    registry.register(db, "desk", NodeRole.CONTROL, lease_ttl=30, process="desk:1")  # records nothing: no choice


def test_camera_dialog_pins_the_camera_to_a_node_and_back_to_any(qtbot, db: Database) -> None:
    catalog.add_room(db, "A-101")
    _nodes(db)
    d = CameraDialog(db, FFMPEG, room="A-101")
    qtbot.addWidget(d)
    qtbot.waitUntil(lambda: d.node.loaded, timeout=5_000)
    assert [d.node.itemText(i) for i in range(d.node.count())] == ["Any node", "srv1", "srv2"]
    assert d.node.value() == ""
    d.name.setText("front")
    d.url.setText("rtsp://10.0.0.5/s")
    d.node.setCurrentText("srv2")
    d.save()
    qtbot.waitUntil(lambda: not d.saving, timeout=5_000)
    saved = catalog.get_camera(db, "A-101", "front")
    assert saved.pinned_node == "srv2"  # as `cameras edit --node srv2`
    edit = CameraDialog(db, FFMPEG, saved)
    qtbot.addWidget(edit)
    qtbot.waitUntil(lambda: edit.node.loaded, timeout=5_000)
    assert edit.node.currentText() == "srv2"
    edit.node.setCurrentText("Any node")
    edit.save()
    qtbot.waitUntil(lambda: not edit.saving, timeout=5_000)
    assert catalog.get_camera(db, "A-101", "front").pinned_node is None


def test_rooms_dialog_pins_the_room_to_a_node(qtbot, db: Database) -> None:
    catalog.add_room(db, "A-101")
    _nodes(db)
    d = RoomsDialog(db, FFMPEG)
    qtbot.addWidget(d)
    qtbot.waitUntil(lambda: d.loaded and d.node.loaded, timeout=5_000)
    assert d.node.currentText() == "Any node"
    d.node.setCurrentText("srv1")
    d.save()
    qtbot.waitUntil(lambda: not d.busy and d.error.text() == "Saved room A-101.", timeout=5_000)
    assert catalog.get_room(db, "A-101").pinned_node == "srv1"
    d._new()
    assert d.node.value() == ""
    d.name.setText("B-202")
    d.node.setCurrentText("srv-to-come")  # a node not started yet may be named, as on the command line
    d.save()
    qtbot.waitUntil(lambda: not d.busy and d.error.text() == "Saved room B-202.", timeout=5_000)
    assert catalog.get_room(db, "B-202").pinned_node == "srv-to-come"
    d.list.setCurrentRow(0)
    assert d.name.text() == "A-101" and d.node.currentText() == "srv1"


def test_rooms_dialog_sets_the_timetable_and_the_recording_mode(qtbot, db: Database, tmp_path) -> None:
    from nvr_console.core.lectures import timetable_store

    catalog.add_room(db, "A-101")
    d = RoomsDialog(db, FFMPEG)
    qtbot.addWidget(d)
    qtbot.waitUntil(lambda: d.loaded, timeout=5_000)
    assert d.calendar.text() == "" and d.record_mode.currentData() == "continuous"
    d.calendar.setText("ftp://example.org/timetable.ics")
    d.save()
    qtbot.waitUntil(lambda: not d.busy, timeout=5_000)
    assert "not an http(s) ICS URL" in d.error.text()
    ics = tmp_path / "a101.ics"
    d.calendar.setText(str(ics))
    d.calendar_location.setText("Hörsaal 1")
    d.record_mode.setCurrentIndex(d.record_mode.findData("timetable"))
    d.save()
    qtbot.waitUntil(lambda: not d.busy and d.error.text() == "Saved room A-101.", timeout=5_000)
    tt = timetable_store.get(db, "A-101")
    assert tt is not None and (tt.source, tt.location, tt.record_mode) == (str(ics), "Hörsaal 1", "timetable")
    again = RoomsDialog(db, FFMPEG)
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.loaded, timeout=5_000)
    assert again.calendar.text() == str(ics) and again.calendar_location.text() == "Hörsaal 1"
    assert again.record_mode.currentData() == "timetable"


def test_camera_dialog_sets_the_live_url_with_its_password_masked_and_clears_it(qtbot, db: Database) -> None:
    catalog.add_room(db, "A-101")
    d = CameraDialog(db, FFMPEG, room="A-101")
    qtbot.addWidget(d)
    d.name.setText("front")
    d.url.setText("rtsp://10.0.0.5/main")
    d.live_url.setText("ftp://10.0.0.5/sub")
    assert "live URL" in d.live_error.text()  # checked by core as typed, as the camera URL is
    d.live_url.setText("rtsp://admin@10.0.0.5/sub")
    d.live_password.setText("sub-secret")
    assert not d.live_error.isVisibleTo(d)
    d.save()
    qtbot.waitUntil(lambda: d.saved is not None, timeout=5_000)
    saved = catalog.get_camera(db, "A-101", "front")
    assert saved.live_url == "rtsp://admin:sub-secret@10.0.0.5/sub" and saved.wall_url == saved.live_url
    edit = CameraDialog(db, FFMPEG, saved)
    qtbot.addWidget(edit)
    # The password is only in the masked field, never in the URL field.
    assert edit.live_url.text() == "rtsp://admin@10.0.0.5/sub" and edit.live_password.text() == "sub-secret"
    assert edit.live_password.echoMode() is QLineEdit.EchoMode.Password
    edit.live_url.setText("")
    edit.save()
    qtbot.waitUntil(lambda: edit.saved is not None, timeout=5_000)
    cleared = catalog.get_camera(db, "A-101", "front")
    assert cleared.live_url is None and cleared.wall_url == "rtsp://10.0.0.5/main"


def test_rooms_dialog_assigns_the_google_account(qtbot, db: Database, settings_factory, tmp_path) -> None:
    """With several accounts (drive.accounts) the dialog offers them; a room's account config.toml lacks is shown
    and kept."""
    settings = settings_factory(**{"drive.accounts": '{"campus2": {"token": "%s"}}' % (tmp_path / "c2.json")})
    catalog.add_room(db, "A-101")
    d = RoomsDialog(db, FFMPEG, settings=settings)
    qtbot.addWidget(d)
    qtbot.waitUntil(lambda: d.loaded, timeout=5_000)
    assert [d.account.itemText(i) for i in range(d.account.count())] == ["default", "campus2"]
    assert d.account.currentText() == "default"
    d.account.setCurrentText("campus2")
    d.save()
    qtbot.waitUntil(lambda: not d.busy and d.error.text() == "Saved room A-101.", timeout=5_000)
    assert catalog.get_room(db, "A-101").drive_account == "campus2"
    d._new()
    d.name.setText("B-202")
    assert d.account.currentText() == "default"
    d.save()
    qtbot.waitUntil(lambda: not d.busy and d.error.text() == "Saved room B-202.", timeout=5_000)
    assert catalog.get_room(db, "B-202").drive_account == "default"
    # A single-account config: nothing to choose, nothing shown.
    one = RoomsDialog(db, FFMPEG, settings=settings_factory())
    qtbot.addWidget(one)
    qtbot.waitUntil(lambda: one.loaded, timeout=5_000)
    one.show()
    assert not one.account.isVisible()
    one.save()
    qtbot.waitUntil(lambda: not one.busy and one.error.text() == "Saved room A-101.", timeout=5_000)
    assert catalog.get_room(db, "A-101").drive_account == "campus2"  # kept: it is in the database, not offered


def _shown_whole(label) -> bool:  # type: ignore[no-untyped-def]
    """The label is as tall as its wrapped text needs at its width (no line cut off)."""
    return label.isVisible() and label.height() >= label.heightForWidth(label.width()) > label.fontMetrics().height()


@pytest.mark.skipif(not shutil.which("ffmpeg"), reason="needs ffmpeg")
def test_the_url_error_and_the_test_result_are_shown_whole(qtbot, db: Database) -> None:
    d = CameraDialog(db, FFMPEG)
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    d.url.setText("ftp://10.0.0.5/x")  # the long "(also rtsps, http, https, udp, srt...)" message
    qtbot.waitUntil(lambda: _shown_whole(d.url_error), timeout=3000)
    assert "srt" in d.url_error.text()
    d.url.setText("rtsp://admin@127.0.0.1:1/live")
    d.tester.button.click()
    qtbot.waitUntil(lambda: d.tester.button.isEnabled(), timeout=20_000)
    assert "(FFmpeg: " in d.tester.result.text()
    qtbot.waitUntil(lambda: _shown_whole(d.tester.result), timeout=3000)
    # The dialog grew to hold them: every label lies inside it.
    for label in (d.url_error, d.tester.result):
        bottom = label.mapTo(d, label.rect().bottomLeft()).y()
        assert bottom <= d.height(), (bottom, d.height())
