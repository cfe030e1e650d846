"""Pairing camera segments with the room's sound segments they overlap."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from nvr_console.core.recording.finalizer import SoundPiece
from nvr_console.core.recording.segment_names import FinishedSegment
from nvr_console.core.recording.sound_pairing import OPEN_HEAD_S, SOUND_WAIT_S, SoundPairing
from nvr_console.core.status import CameraState

T = 1_795_500_000.0


def _seg(tmp_path: Path, start: float, end: float, camera_id: int = 1) -> FinishedSegment:
    return FinishedSegment("camera:1", camera_id, "R", "cam", tmp_path / f"{start:.0f}.mkv", start, end, None)


def _recording(room: str) -> tuple[CameraState, str] | None:
    return (CameraState.RECORDING, "")


def test_a_segment_goes_with_the_sound_pieces_it_overlaps(tmp_path: Path) -> None:
    p = SoundPairing(30.0)
    seg = _seg(tmp_path, T, T + 30)
    p.wait(seg, 7, now=T + 30)
    assert p.waiting and p.waiting_for(1) and not p.waiting_for(2)
    assert p.resolve(_recording, now=T + 31) == []  # the sound segment has not closed yet: wait
    early = SoundPiece(tmp_path / "early.mkv", T - 30, T + 0.2)
    covering = SoundPiece(tmp_path / "covering.mkv", T + 0.1, T + 30.1)
    p.add_sound("R", early)
    p.add_sound("R", covering)
    p.add_sound("Other", SoundPiece(tmp_path / "other.mkv", T, T + 30))
    (paired,) = p.resolve(_recording, now=T + 32)
    assert (paired.recording_id, paired.sounds, paired.note) == (7, (early, covering), "")
    assert not p.waiting


def test_without_sound_the_segment_goes_with_the_reason(tmp_path: Path) -> None:
    p = SoundPairing(30.0)
    p.wait(_seg(tmp_path, T, T + 30), 1, now=T)
    failed = (CameraState.FAILED, "No such stream path on the server")
    (paired,) = p.resolve(lambda room: failed, now=T + 1)  # a broken source: no waiting at all
    assert paired.sounds == ()
    assert paired.note == "room audio missing: the sound source is failed: No such stream path on the server"

    p.wait(_seg(tmp_path, T, T + 30), 2, now=T)
    (paired,) = p.resolve(lambda room: None, now=T + 1)
    assert paired.note == "room audio missing: the sound source is not recording"

    p.wait(_seg(tmp_path, T, T + 30), 3, now=T)
    assert p.resolve(_recording, now=T + SOUND_WAIT_S - 1) == []
    (paired,) = p.resolve(_recording, now=T + SOUND_WAIT_S)  # waited long enough
    assert paired.note == "room audio missing: no sound source file for this time"


def test_a_partly_covering_piece_is_used_once_the_wait_is_over(tmp_path: Path) -> None:
    p = SoundPairing(30.0)
    half = SoundPiece(tmp_path / "half.mkv", T + 15, None)  # still open: assumed one segment long
    p.add_sound("R", half)
    assert p.overlapping(_seg(tmp_path, T, T + 30)) == [half]
    p.wait(_seg(tmp_path, T, T + 30), 1, now=T)
    assert p.resolve(_recording, now=T + 1) == []
    (paired,) = p.resolve(_recording, now=T + SOUND_WAIT_S + 1)
    assert paired.sounds == (half,) and paired.note == ""


def test_old_sound_pieces_are_deleted_unless_needed(tmp_path: Path) -> None:
    p = SoundPairing(30.0)
    old, used, fresh = (tmp_path / n for n in ("old.mkv", "used.mkv", "fresh.mkv"))
    for f in (old, used, fresh):
        f.write_bytes(b"x")
    p.add_sound("R", SoundPiece(old, T, T + 30))
    p.add_sound("R", SoundPiece(used, T, T + 30))
    p.add_sound("R", SoundPiece(fresh, T + 200, T + 230))
    p.wait(_seg(tmp_path, T + 200, T + 230), 1, now=T + 230)
    p.drop_old({used}, now=T + 240)
    assert old.exists()  # a camera segment still waits: nothing goes
    p.resolve(_recording, now=T + 240)
    p.drop_old({used}, now=T + 240)
    assert not old.exists() and used.exists() and fresh.exists()
    p.drop_old(set(), everything=True)
    assert not used.exists() and not fresh.exists()


def test_leftover_sound_of_a_crash_is_adopted_by_its_name(tmp_path: Path) -> None:
    folder = tmp_path / "R" / ".sound"
    folder.mkdir(parents=True)
    raw = folder / "2026-11-24_09-00-00.mkv"
    raw.write_bytes(b"x")
    (tmp_path / ".nvr-run").mkdir()  # the engine's own folder is no room
    p = SoundPairing(30.0)
    p.adopt_leftovers(tmp_path, None)
    start = datetime(2026, 11, 24, 9, 0, 5).timestamp()
    pieces = p.overlapping(FinishedSegment("camera:1", 1, "R", "cam", tmp_path / "x.mkv", start, start + 10))
    assert pieces == [SoundPiece(raw, datetime(2026, 11, 24, 9, 0).timestamp(), None)]


def test_a_segment_past_the_boundary_takes_the_next_piece_too(tmp_path: Path) -> None:
    # The camera cut at the keyframe 1.5 s after the boundary; the sound recorder at the boundary.
    folder = tmp_path / "R" / ".sound"
    folder.mkdir(parents=True)
    b0 = datetime(2026, 11, 24, 9, 0).timestamp()
    before = SoundPiece(folder / "2026-11-24_09-00-00.mkv", b0, b0 + 30)
    open_name = folder / "2026-11-24_09-00-30.mkv"
    p = SoundPairing(30.0)
    p.add_sound("R", before)
    seg = _seg(tmp_path, b0 + 1.5, b0 + 31.5)
    p.wait(seg, 1, now=b0 + 31.6)
    assert p.resolve(_recording, now=b0 + 31.6) == []  # not complete, and no open file yet
    open_name.write_bytes(b"x")  # the sound recorder's file after the boundary, still being written
    assert p.resolve(_recording, now=b0 + 31.5 + OPEN_HEAD_S - 0.1) == []  # its head is not on disk yet
    (paired,) = p.resolve(_recording, now=b0 + 31.5 + OPEN_HEAD_S)
    assert paired.sounds == (before, SoundPiece(open_name, b0 + 30, None)) and paired.note == ""

    # Once the next piece has closed, it is taken as it is, at once.
    after = SoundPiece(open_name, b0 + 30, b0 + 60)
    p.add_sound("R", after)
    p.wait(seg, 2, now=b0 + 31.6)
    (paired,) = p.resolve(_recording, now=b0 + 31.6)
    assert paired.sounds == (before, after)

    # A source that stopped at the boundary: what there is, without waiting.
    q = SoundPairing(30.0)
    q.add_sound("R", before)
    q.wait(seg, 3, now=b0 + 31.6)
    (paired,) = q.resolve(lambda room: (CameraState.STOPPED, ""), now=b0 + 31.6)
    assert paired.sounds == (before,)
