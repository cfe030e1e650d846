import pytest

from nvr_console.core import catalog
from nvr_console.core.db.models import DesiredState
from nvr_console.core.db.session import Database
from nvr_console.core.stream_url import InvalidInput


def test_room_crud(db: Database) -> None:
    r = catalog.add_room(db, "A-101", sound_source="rtsp://u:pw@mic/a", notes="lecture hall")
    assert r.camera_count == 0 and r.public()["sound_source_url"] == "rtsp://u:***@mic/a"
    r = catalog.edit_room(db, "A-101", new_name="A-102", sound_source=None)
    assert r.name == "A-102" and r.sound_source_url is None
    with pytest.raises(catalog.NotFound, match="^no room named 'A-101'; did you mean 'A-102'\\?$"):
        catalog.get_room(db, "A-101")
    catalog.remove_room(db, "A-102")
    assert catalog.list_rooms(db) == []


def test_a_missing_name_suggests_only_a_close_one_never_adding_it(db: Database) -> None:
    with pytest.raises(catalog.NotFound) as err:
        catalog.remove_room(db, "A-101")
    assert str(err.value) == "no room named 'A-101'; there are no rooms yet"
    for name in ("Lecture hall 1", "Lecture hall 2", "Lab"):
        catalog.add_room(db, name)
    catalog.add_camera(db, "Lab", "front", "rtsp://h/1")
    with pytest.raises(catalog.NotFound) as err:
        catalog.remove_room(db, "Office")
    assert str(err.value) == "no room named 'Office'; rooms: Lab, Lecture hall 1, Lecture hall 2"
    with pytest.raises(catalog.NotFound) as err:
        catalog.remove_camera(db, "Lab", "ghost")
    assert str(err.value) == "room 'Lab' has no camera named 'ghost'; cameras: front"
    with pytest.raises(catalog.NotFound) as err:
        catalog.remove_camera(db, "Lab", "frnt")
    assert str(err.value) == "room 'Lab' has no camera named 'frnt'; did you mean 'front'?"
    with pytest.raises(catalog.NotFound) as err:
        catalog.remove_camera(db, "Lecture hall 1", "front")
    assert str(err.value) == "room 'Lecture hall 1' has no camera named 'front'; it has no cameras yet"
    for i in range(catalog.MAX_NAMES_SHOWN + 2):
        catalog.add_camera(db, "Lecture hall 1", f"cam{i:02d}", f"rtsp://h/{i}")
    with pytest.raises(catalog.NotFound) as err:
        catalog.remove_camera(db, "Lecture hall 1", "door")
    assert str(err.value).endswith(
        "cam19 and 2 more (`nvr-console cameras list --room 'Lecture hall 1'` shows them all)")


def test_room_with_cameras_is_not_removed_by_surprise(db: Database) -> None:
    catalog.add_room(db, "A")
    catalog.add_camera(db, "A", "c1", "rtsp://h/1")
    with pytest.raises(InvalidInput, match=r"still has 1 camera\(s\) \(c1\); remove them first or pass --with"):
        catalog.remove_room(db, "A")
    catalog.remove_room(db, "A", with_cameras=True)
    assert catalog.list_cameras(db) == []


@pytest.mark.parametrize("name", ["", "a/b", "a:b", "..", "x" * 129, "tab\there",
                                  # these reached the engine's own folders (.nvr-run, <room>/.sound)
                                  ".nvr-run", ".sound", ".hidden", "CON", "cam."])
def test_bad_names(db: Database, name: str) -> None:
    with pytest.raises(InvalidInput):
        catalog.add_room(db, name)
    catalog.add_room(db, "R")
    with pytest.raises(InvalidInput):
        catalog.add_camera(db, "R", name, "rtsp://h/1")
    catalog.add_camera(db, "R", "ok", "rtsp://h/1")
    with pytest.raises(InvalidInput):
        catalog.edit_camera(db, "R", "ok", new_name=name)
    with pytest.raises(InvalidInput):
        catalog.edit_room(db, "R", new_name=name)
    assert [c.name for c in catalog.list_cameras(db)] == ["ok"] and [r.name for r in catalog.list_rooms(db)] == ["R"]


def test_names_sharing_a_folder_on_windows_or_macos_are_refused(db: Database) -> None:
    catalog.add_room(db, "A-101")
    with pytest.raises(InvalidInput, match="there is already a room named 'A-101', and 'a-101' would share its folder"):
        catalog.add_room(db, "a-101")
    catalog.add_camera(db, "A-101", "caf\u00e9", "rtsp://h/1")
    with pytest.raises(InvalidInput, match="already has a camera named 'caf\u00e9', and 'cafe\u0301' would share"):
        catalog.add_camera(db, "A-101", "cafe\u0301", "rtsp://h/2")
    catalog.add_camera(db, "A-101", "side", "rtsp://h/3")
    with pytest.raises(InvalidInput, match="would share its folder"):
        catalog.edit_camera(db, "A-101", "side", new_name="CAF\u00c9")
    # Renaming to another spelling of its own name is fine; so is editing the URL alone.
    assert catalog.edit_camera(db, "A-101", "side", new_name="Side").name == "Side"
    assert catalog.edit_room(db, "A-101", new_name="a-101").name == "a-101"


def test_camera_edit_move_and_desired_state(db: Database) -> None:
    catalog.add_room(db, "A")
    catalog.add_room(db, "B")
    cam = catalog.add_camera(db, "A", "front", "rtsp://h/1")
    catalog.add_camera(db, "B", "front", "rtsp://h/2")
    with pytest.raises(InvalidInput, match="room 'B' already has a camera named 'front'"):
        catalog.edit_camera(db, "A", "front", new_room="B")
    moved = catalog.edit_camera(db, "A", "front", new_room="B", new_name="side", transport="udp")
    assert (moved.room, moved.name, moved.rtsp_transport) == ("B", "side", "udp")
    catalog.set_desired_state(db, cam.id, DesiredState.STOPPED)
    assert catalog.get_camera_by_id(db, cam.id).desired_state == "stopped"
    assert catalog.set_all_desired_state(db, DesiredState.RECORDING) == 2
    with pytest.raises(catalog.NotFound, match="removed by another console"):
        catalog.set_desired_state(db, 999, DesiredState.STOPPED)


def test_unknown_status_filter(db: Database) -> None:
    with pytest.raises(InvalidInput, match="status 'done' is unknown"):
        catalog.list_recordings(db, status="done")


def test_latest_uploads_give_each_cameras_newest_queued_file_and_newest_folder(db: Database) -> None:
    from datetime import UTC, datetime

    from nvr_console.core.db.models import RecordingStatus as S
    from nvr_console.core.status import UploadState
    from tests.support.recording_rows import add_recording

    catalog.add_room(db, "A-101")
    front = catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s")
    back = catalog.add_camera(db, "A-101", "back", "rtsp://10.0.0.6/s")
    idle = catalog.add_camera(db, "A-101", "idle", "rtsp://10.0.0.7/s")
    folder = "https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOp"

    def at(h: int, m: int) -> datetime:
        return datetime(2026, 3, 2, h, m, tzinfo=UTC)

    add_recording(db, front, S.UPLOADED, at(6, 0), size=100, folder_link=folder, web_link="https://x/f1")
    newest_front = add_recording(db, front, S.UPLOADING, at(6, 30), size=200, bytes_confirmed=50)
    add_recording(db, front, S.RECORDING, at(7, 0))  # still being written: no upload yet
    verified_back = add_recording(db, back, S.UPLOADED, at(6, 0), size=300, folder_link=folder,
                                  web_link="https://x/b1")
    add_recording(db, back, S.FINALIZING, at(6, 30))
    add_recording(db, idle, S.RECORDING, at(6, 30))

    got = {u.camera_id: u for u in catalog.latest_uploads(db)}
    assert set(got) == {front.id, back.id}  # a camera with nothing queued yet has no latest upload
    f, b = got[front.id], got[back.id]
    assert (f.recording_id, f.state, f.bytes_sent, f.total) == (newest_front, UploadState.UPLOADING, 50, 200)
    assert f.folder_link == folder  # from the earlier verified file
    assert (b.recording_id, b.state, b.bytes_sent, b.total, b.web_link) == (
        verified_back, UploadState.UPLOADED, 300, 300, "https://x/b1")
