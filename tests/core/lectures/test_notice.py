"""The delivery notice: a delivered lecture is e-mailed to its organizer (the event's ORGANIZER mailto) with its
title, link and completeness through a real SMTP server (aiosmtpd on loopback), once per lecture even with two
nodes delivering at once, again after `lectures redo`, retried when the mail server was away; off by default."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import Lecture, LectureState
from nvr_console.core.db.session import Database
from nvr_console.core.lectures import lecture_store, notice
from nvr_console.core.lectures.delivery import Deliverer
from nvr_console.core.lectures.timetable_parse import Occurrence
from tests.core.lectures.test_delivery import LECTURE, SAFE, T0, TITLE, Rig, _rig, _whole_segments, clips
from tests.support.cli_run import run
from tests.support.drive_server import DriveServer
from tests.support.http_receiver import HttpReceiver
from tests.support.ports import free_port
from tests.support.smtp_peer import SmtpPeer

__all__ = ["clips"]  # the marker clips fixture, shared with test_delivery

WHEN = T0 + timedelta(seconds=LECTURE + 6)  # past the post-roll (5 s)


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    with SmtpPeer("none") as peer:
        yield peer


def _settings(settings_factory: Callable[..., Settings], drive: DriveServer | None, port: int,
              **more: str) -> Settings:
    where = {"drive.api_root": drive.root_url, "drive.credentials": "anonymous"} if drive else \
        {"upload.destination": "local"}
    return settings_factory(**{"recording.timezone": "Europe/Berlin", "recording.segment_length": "6",
                               "lectures.post_roll": "5s", "email.host": "127.0.0.1", "email.port": str(port),
                               "email.security": "none", "email.sender": "nvr@uni.example",
                               "email.recipients": "ops@uni.example", **where, **more})


def _deliver(rig: Rig, node: str = "node-1", db: Database | None = None) -> list:
    return Deliverer(rig.settings, db or rig.db, node, clock=lambda: WHEN).run_once()


def test_the_organizer_gets_the_title_link_and_completeness_once_and_again_after_redo(
        settings_factory: Callable[..., Settings], clips: dict[float, Path], tmp_path: Path, smtp: SmtpPeer,
        capsys: pytest.CaptureFixture[str]) -> None:
    with DriveServer() as drive:
        rig = _rig(_settings(settings_factory, drive, smtp.port, **{"lectures.notify_organizer": "true"}), clips,
                   drive, tmp_path)
        try:
            _whole_segments(rig)
            [done] = _deliver(rig)
            lec = done.lecture
            assert lec.state == LectureState.DELIVERED.value
            [mail] = smtp.wait_for(1)
            assert smtp.envelopes == [("noether@uni.example",)]  # the organizer only, not the alert recipients
            assert mail["To"] == "noether@uni.example" and mail["From"] == "nvr@uni.example"
            assert mail["Subject"] == f"[nvr-console] Lecture delivered: {TITLE}, 2026-03-05 10:15"
            assert mail["X-NVR-Lecture"] == f"{lec.id} v{lec.version}"
            body = mail.get_content()
            assert f'"{TITLE}" (A-101, 2026-03-05 10:15-10:15) is delivered, complete.' in body
            assert lec.web_link and f"Folder: {lec.web_link}" in body and "/drive/folders/" in lec.web_link
            for f in lecture_store.files_of(rig.db, lec.id):
                assert f"- {f.camera}: 2026-03-05_10-15_A-101_{f.camera}_{SAFE}.mp4 (100.0 %)" in body
                assert f.web_link and f.web_link in body
            assert "Coverage: 100.0 %" in body and "Gaps" not in body
            sent_at, error, attempts = lecture_store.notice_status(rig.db, lec.id)
            assert sent_at is not None and error == "" and attempts == 1
            code, out, _ = run(capsys, "lectures", "show", str(lec.id), "--database-url", rig.settings.database.url)
            assert code == 0 and f"delivery notice: sent {sent_at.astimezone():%Y-%m-%d}" in out
            # Passes after it (this node or another) send nothing more.
            assert _deliver(rig) == [] and _deliver(rig, "node-2") == []
            assert len(smtp.wait_for(2, timeout_s=1.0)) == 1
            # `lectures redo`: delivered again, announced again (the new version's notice).
            lecture_store.redo(rig.db, lec.id)
            [again] = _deliver(rig)
            assert len(smtp.wait_for(2)) == 2
            assert smtp.messages[1]["X-NVR-Lecture"] == f"{lec.id} v{again.lecture.version}"
            assert again.lecture.version == lec.version + 1
        finally:
            rig.db.dispose()


def test_off_by_default(settings_factory: Callable[..., Settings], clips: dict[float, Path], tmp_path: Path,
                        smtp: SmtpPeer) -> None:
    rig = _rig(_settings(settings_factory, None, smtp.port), clips, None, tmp_path)
    try:
        assert not rig.settings.lectures.notify_organizer and not rig.settings.lectures.notice_to
        _whole_segments(rig)
        [done] = _deliver(rig)
        assert done.lecture.state == LectureState.DELIVERED.value
        assert smtp.wait_for(1, timeout_s=1.0) == []
        assert lecture_store.notice_status(rig.db, done.lecture.id) == (None, "", 0)
    finally:
        rig.db.dispose()


def test_two_nodes_delivering_at_once_send_one_notice_saying_incomplete(
        settings_factory: Callable[..., Settings], clips: dict[float, Path], tmp_path: Path, smtp: SmtpPeer) -> None:
    settings = _settings(settings_factory, None, smtp.port,
                         **{"lectures.notify_organizer": "true", "lectures.notice_to": "av@uni.example"})
    rig = _rig(settings, clips, None, tmp_path)
    nodes = [Database(settings.database.url) for _ in range(2)]
    try:
        for at in (-6, 0, 6, 12, 18):
            rig.add("front", at, 6.0)  # side recorded nothing: incomplete
        go = threading.Barrier(2)
        done: list[object] = []

        def run(name: str, db: Database) -> None:
            go.wait()
            done.extend(_deliver(rig, name, db))

        threads = [threading.Thread(target=run, args=(f"node-{i}", d)) for i, d in enumerate(nodes)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(done) == 1
        for name, db in (("node-0", nodes[0]), ("node-1", nodes[1])):  # later passes of both: nothing more
            _deliver(rig, name, db)
        mails = smtp.wait_for(2, timeout_s=2.0)
        assert len(mails) == 1, [m["To"] for m in mails]
        [mail] = mails
        assert smtp.envelopes == [("noether@uni.example", "av@uni.example")]
        assert mail["Subject"] == f"[nvr-console] Lecture delivered (incomplete): {TITLE}, 2026-03-05 10:15"
        body = mail.get_content()
        assert "is delivered, INCOMPLETE: 0.0 % recorded." in body
        assert "- side: nothing of the lecture was recorded" in body and "Gaps (not in the files):" in body
        assert f"- front: 2026-03-05_10-15_A-101_front_{SAFE}.mp4 (100.0 %)" in body
    finally:
        for d in nodes:
            d.dispose()
        rig.db.dispose()


def test_a_mail_server_that_was_away_gets_the_notice_later(
        settings_factory: Callable[..., Settings], clips: dict[float, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(notice, "RETRY_S", 3.0)
    away = free_port()
    rig = _rig(_settings(settings_factory, None, away, **{"lectures.notify_organizer": "true"}), clips, None,
               tmp_path)
    try:
        _whole_segments(rig)
        [done] = _deliver(rig)
        sent_at, error, attempts = lecture_store.notice_status(rig.db, done.lecture.id)
        assert sent_at is None and attempts == 1 and f"e-mail via 127.0.0.1:{away}" in error
        code, out, _ = run(capsys, "lectures", "show", str(done.lecture.id), "--json", "--database-url",
                           rig.settings.database.url)
        assert code == 0 and json.loads(out)["notice"] == {"sent_at": None, "error": error, "attempts": 1}
        assert "delivery notice to noether@uni.example not sent" in caplog.text and "trying again in 3 s" in caplog.text
        with SmtpPeer("none") as peer:  # the mail server is back (here: the operator points email.port at it)
            settings = _settings(settings_factory, None, peer.port, **{"lectures.notify_organizer": "true"})
            later = Deliverer(settings, rig.db, "node-1", clock=lambda: WHEN)
            assert later.run_once() == [] and peer.wait_for(1, timeout_s=0.5) == []  # not before the retry time
            deadline = datetime.now(UTC) + timedelta(seconds=10)
            while not peer.messages and datetime.now(UTC) < deadline:
                later.run_once()
                peer.wait_for(1, timeout_s=0.2)
            [mail] = peer.wait_for(1)
        assert mail["To"] == "noether@uni.example"
        sent_at, error, attempts = lecture_store.notice_status(rig.db, done.lecture.id)
        assert sent_at is not None and error == "" and attempts == 2
    finally:
        rig.db.dispose()


def test_the_webhook_gets_the_notice_once_and_takes_it_when_the_mail_server_is_away(
        settings_factory: Callable[..., Settings], clips: dict[float, Path], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """lectures.notice_webhook: the notice is posted to the alert webhook (its JSON body, or one line for chat
    formats); with the mail server away it is settled by the webhook alone, not posted again."""
    away = free_port()
    with HttpReceiver() as rx:
        rig = _rig(_settings(settings_factory, None, away, **{
            "lectures.notify_organizer": "true", "lectures.notice_webhook": "true",
            "webhook.url": rx.url("/hooks/SECRETTOKEN")}), clips, None, tmp_path)
        try:
            _whole_segments(rig)
            [done] = _deliver(rig)
            lec = done.lecture
            [body] = rx.wait_for(1)
            assert body["kind"] == "lecture_delivered" and body["version"] == 1
            assert body["lecture"]["id"] == lec.id and body["lecture"]["title"] == TITLE
            assert body["lecture"]["room"] == "A-101" and body["lecture"]["complete"] is True
            assert body["lecture"]["coverage"] == pytest.approx(1.0)
            files = lecture_store.files_of(rig.db, lec.id)
            assert sorted(f["camera"] for f in body["files"]) == sorted(f.camera for f in files)
            assert all(f["name"].endswith(f"_{SAFE}.mp4") and f["coverage"] == pytest.approx(1.0)
                       for f in body["files"])
            assert body["text"].startswith(f"Lecture delivered: {TITLE} (A-101, ")
            sent_at, error, attempts = lecture_store.notice_status(rig.db, lec.id)
            assert sent_at is not None and error == "" and attempts == 1  # the webhook took it
            assert f"e-mail via 127.0.0.1:{away}" in caplog.text and "SECRETTOKEN" not in caplog.text
            assert _deliver(rig) == [] and len(rx.wait_for(2, timeout_s=1.0)) == 1  # not posted again
        finally:
            rig.db.dispose()


def test_a_chat_webhook_gets_the_notice_as_one_line(settings_factory: Callable[..., Settings],
                                                    clips: dict[float, Path], tmp_path: Path) -> None:
    with HttpReceiver() as rx:
        rig = _rig(_settings(settings_factory, None, free_port(), **{
            "lectures.notice_webhook": "true", "webhook.url": rx.url("/hooks/x"), "webhook.format": "slack"}),
            clips, None, tmp_path)
        try:
            for at in (-6, 0, 6, 12, 18):
                rig.add("front", at, 6.0)  # side recorded nothing: incomplete
            [done] = _deliver(rig)
            [body] = rx.wait_for(1)
            assert set(body) == {"text", "username"}
            assert body["text"].startswith(f"Lecture delivered (INCOMPLETE: 0.0 % recorded): {TITLE} (A-101, ")
            assert lecture_store.notice_status(rig.db, done.lecture.id)[0] is not None
        finally:
            rig.db.dispose()


@pytest.fixture
def finished(any_db_url: str) -> Iterator[tuple[Database, int]]:
    db = Database(any_db_url)
    prepare_database(db)
    room = catalog.add_room(db, "A-101")
    now = datetime.now(UTC)
    occ = Occurrence("a@uni", "", "Algebra", "Dr. Noether <noether@uni.example>", "", now - timedelta(hours=2),
                     now - timedelta(hours=1))
    lecture_store.sync(db, room.id, "A-101", [occ], now - timedelta(days=1), now + timedelta(days=1))
    [lec] = lecture_store.between(db, now - timedelta(days=1), now)
    assert lecture_store.begin_assembly(db, lec, [])
    with db.session() as s:  # a finished lecture without files: finish() needs files, so moved by hand here
        row = s.get(Lecture, lec.id)
        assert row is not None
        row.state, row.delivered_at = LectureState.DELIVERED.value, now
    yield db, lec.id
    db.dispose()


def test_racing_notice_claims_have_one_winner_and_a_failure_is_owed_again(finished: tuple[Database, int],
                                                                         any_db_url: str) -> None:
    db, lecture_id = finished
    since = datetime.now(UTC) - timedelta(days=1)
    [lec] = lecture_store.notices_owed(db, since, notice.ATTEMPTS)
    nodes = [Database(any_db_url) for _ in range(6)]
    won: list[str] = []
    go = threading.Barrier(len(nodes))

    def claim(d: Database, name: str) -> None:
        go.wait()
        if lecture_store.claim_notice(d, lec, notice.ATTEMPTS):
            won.append(name)

    threads = [threading.Thread(target=claim, args=(d, f"n{i}")) for i, d in enumerate(nodes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for d in nodes:
        d.dispose()
    assert len(won) == 1
    assert lecture_store.notices_owed(db, since, notice.ATTEMPTS) == []
    lecture_store.notice_failed(db, lec, "server away", 0.0)  # owed again (from now on)
    [again] = lecture_store.notices_owed(db, since, notice.ATTEMPTS)
    assert lecture_store.claim_notice(db, again, notice.ATTEMPTS)
    lecture_store.notice_failed(db, again, "refused for good", None)  # given up: not owed, the error kept
    assert lecture_store.notices_owed(db, since, notice.ATTEMPTS) == []
    assert lecture_store.notice_status(db, lecture_id) == (None, "refused for good", 2)
    # A lecture delivered before the window (the option just turned on) is not announced.
    assert lecture_store.notices_owed(db, datetime.now(UTC) + timedelta(minutes=1), notice.ATTEMPTS) == []


@pytest.mark.parametrize(("organizer", "address"), [
    ("Dr. Noether <noether@uni.example>", "noether@uni.example"), ("noether@uni.example", "noether@uni.example"),
    ("Dr. Noether", None), ("", None), ("urn:uuid:1234", None), ("a@b@c", None)])
def test_the_organizers_address(organizer: str, address: str | None) -> None:
    assert notice.organizer_address(organizer) == address
