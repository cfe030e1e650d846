"""`nvr-console calendar check ROOM` and `nvr-console lectures list|show|redo`."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from nvr_console.cli.output import print_json, print_table
from nvr_console.core.config import Settings
from nvr_console.core.coverage import day_bounds, parse_day
from nvr_console.core.db.session import Database
from nvr_console.core.lectures import lecture_store, refresh, timetable_store
from nvr_console.core.lectures.timetable_fetch import CalendarUnreadable, describe
from nvr_console.core.stream_url import InvalidInput


def add_lecture_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    help_ = "check a room's timetable (set it with `rooms edit ROOM --calendar URL`)"
    gp = sub.add_parser("calendar", help=help_, description=help_, parents=[common])
    actions = gp.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = actions.add_parser("check", help="fetch the room's calendar now and print its next lectures",
                           description="fetch the room's calendar now (nothing is stored) and print its next "
                           "lectures, so you can see the address works before relying on it", parents=[common])
    c.add_argument("room", metavar="ROOM")
    c.add_argument("--days", type=float, default=14, metavar="N", help="how far ahead (default 14 days)")
    c.add_argument("--json", action="store_true", help="print JSON for scripts")

    help_ = "lectures from the rooms' timetables: list, show, deliver again"
    gp = sub.add_parser("lectures", help=help_, description=help_, parents=[common])
    actions = gp.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = actions.add_parser("list", help="lectures of a day (default today) with their state and coverage",
                           description="lectures of a day (default today) with their state and coverage",
                           parents=[common])
    c.add_argument("--day", default="today", metavar="DAY", help="YYYY-MM-DD, today or yesterday (default today)")
    c.add_argument("--days", type=int, default=1, metavar="N", help="this many days from --day (default 1; 7: a week)")
    c.add_argument("--room", metavar="ROOM", help="only this room's lectures")
    c.add_argument("--json", action="store_true", help="print JSON for scripts")
    c = actions.add_parser("show", help="one lecture: its files, coverage, gaps and links",
                           description="one lecture: its files, coverage, gaps and links", parents=[common])
    c.add_argument("id", type=int, metavar="ID")
    c.add_argument("--json", action="store_true", help="print JSON for scripts")
    c = actions.add_parser("redo", help="assemble and deliver a lecture again (e.g. after a late piece arrived)",
                           description="assemble and deliver a lecture again (e.g. after a late piece arrived); a "
                           "running recorder node does it within a minute", parents=[common])
    c.add_argument("id", type=int, metavar="ID")


def run_lectures(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    zone = settings.recording.zone()
    if args.command == "calendar":
        return _check(args, settings, db)
    if args.action == "list":
        if args.days < 1:
            raise InvalidInput("--days must be 1 or more")
        start, _end = day_bounds(parse_day(args.day, zone), zone)
        end = start + timedelta(days=args.days)
        lectures = lecture_store.between(db, start, end, args.room)
        if args.json:
            print_json([lec.public() for lec in lectures])
            return 0
        print_table(("id", "room", "start", "end", "title", "state", "coverage", "link"),
                    [(lec.id, lec.room, _local(lec.start, zone), _local(lec.end, zone, "%H:%M"), lec.title, lec.state,
                      _pct(lec.coverage), lec.web_link or "") for lec in lectures],
                    empty="no lectures on these days (rooms get a timetable with `rooms edit ROOM --calendar URL`)")
        return 0
    lecture = lecture_store.get(db, args.id)
    if lecture is None:
        raise InvalidInput(f"no lecture with id {args.id}; `nvr-console lectures list` shows them")
    if args.action == "redo":
        try:
            lecture = lecture_store.redo(db, args.id)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        print(f"lecture {lecture.id} ({lecture.title}, {_local(lecture.start, zone)}) will be assembled and delivered "
              "again by a running recorder node")
        return 0
    files = lecture_store.files_of(db, lecture.id)
    sent_at, notice_error, notice_tries = lecture_store.notice_status(db, lecture.id)
    if args.json:
        print_json({**lecture.public(), "files": [f.public() for f in files],
                    "notice": {"sent_at": sent_at.isoformat() if sent_at else None, "error": notice_error,
                               "attempts": notice_tries}})
        return 0
    print(f"{lecture.title}  ({lecture.room}, {_local(lecture.start, zone)}-{_local(lecture.end, zone, '%H:%M')})")
    print(f"state: {lecture.state}" + (f" ({lecture.private_reason})" if lecture.private_reason else ""))
    print(f"organizer: {lecture.organizer or '-'}")
    print(f"event: {lecture.uid}" + (f" (occurrence {lecture.recurrence_id})" if lecture.recurrence_id else ""))
    print(f"coverage: {_pct(lecture.coverage) or '-'}")
    if lecture.web_link:
        print(f"folder: {lecture.web_link}")
    if notice_tries:  # lectures.notify_organizer / notice_to
        print("delivery notice: " + (f"sent {_local(sent_at, zone)}" if sent_at else f"not sent ({notice_error})"))
    if lecture.notes:
        print("notes:\n" + "\n".join(f"  {line}" for line in lecture.notes.splitlines()))
    if files:
        print_table(("camera", "state", "coverage", "file", "link", "error"),
                    [(f.camera, f.state, _pct(f.coverage), f.name, f.web_link or "", f.last_error) for f in files])
    return 0


def _check(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    tt = timetable_store.get(db, args.room)
    if tt is None or not tt.source:
        raise InvalidInput(f"room {args.room!r} has no calendar; give it one with "
                           f"`nvr-console rooms edit {args.room} --calendar URL_OR_FILE`")
    now = datetime.now(UTC)
    try:
        found = refresh.check(settings, tt, now, args.days)
    except CalendarUnreadable as exc:
        print(f"nvr-console: error: {exc}", file=sys.stderr)
        return 1
    zone = settings.recording.zone()
    if args.json:
        print_json([{"uid": o.uid, "recurrence_id": o.recurrence_id, "title": o.title, "organizer": o.organizer,
                     "location": o.location, "start": o.start.isoformat(), "end": o.end.isoformat(),
                     "skipped": o.private_reason or None} for o in found])
        return 0
    print(f"calendar {describe(tt.source)} of room {tt.room}: {len(found)} lecture(s) in the next {args.days:g} days")
    print_table(("start", "end", "title", "organizer", "location", "note"),
                [(_local(o.start, zone), _local(o.end, zone, "%H:%M"), o.title, o.organizer, o.location,
                  f"not recorded: {o.private_reason}" if o.private_reason else "") for o in found],
                empty="(no lectures: check the room's --calendar-location against the events' LOCATION)")
    return 0


def _local(t: datetime, zone: object, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return (t.astimezone(zone) if zone is not None else t.astimezone()).strftime(fmt)  # type: ignore[arg-type]


def _pct(v: float | None) -> str:
    return "" if v is None else f"{v * 100:.1f} %"
