"""Admin subcommands that work on the database without a GUI (rooms, cameras, recordings, db, config)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING

from nvr_console.cli.node_commands import run_nodes
from nvr_console.cli.output import human_size, print_json, print_table
from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db import migrate
from nvr_console.core.db.session import Database
from nvr_console.core.events.actor import actor_name
from nvr_console.core.fleet.leases import Holder, camera_holders
from nvr_console.core.live_state.store import read_report
from nvr_console.core.text.masking import mask_url

if TYPE_CHECKING:
    from nvr_console.core.lectures.timetable_store import Timetable


def _opt(value: str | None) -> str | catalog.Keep | None:
    """'' on the command line clears a value; None leaves it alone."""
    return catalog.UNSET if value is None else (value or None)


def run_admin(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "config":
        return _config_show(args, settings)
    db = Database(settings.database.url)
    try:
        if args.command == "db":
            return _db(args, db)
        migrate.prepare_database(db)
        if args.command == "export":
            from nvr_console.cli.export_commands import run_export

            return run_export(args, settings, db)
        if args.command in ("calendar", "lectures"):
            from nvr_console.cli.lecture_commands import run_lectures

            return run_lectures(args, settings, db)
        if args.command == "recordings" and args.action == "coverage":
            from nvr_console.cli.recordings_commands import run_coverage

            return run_coverage(args, settings, db)
        if args.command == "cameras" and args.action == "probe":
            return _camera_probe(args, settings, db)
        if args.command == "rooms":
            return _rooms(args, db, settings)
        handlers = {"cameras": _cameras, "recordings": _recordings, "status": _status,
                    "nodes": run_nodes}
        return handlers[args.command](args, db)
    finally:
        db.dispose()


def _config_show(args: argparse.Namespace, settings: Settings) -> int:
    rows = settings.display()
    if args.json:
        print_json({name: {"value": value, "source": source} for name, value, source in rows})
    else:
        files = ", ".join(str(f) for f in settings.files) or "none (defaults)"
        print(f"config files: {files}")
        print_table(("setting", "value", "from"), rows)
    return 0


def _db(args: argparse.Namespace, db: Database) -> int:
    if args.action == "upgrade":
        before, after = migrate.upgrade(db)
        if before == after:
            print(f"database {db.display_url} is up to date (revision {after})")
        else:
            print(f"database {db.display_url} migrated from {before or 'empty'} to {after}")
        return 0
    current = migrate.current_revision(db)
    head = migrate.head_revision()
    state = "up to date" if current == head else ("empty" if current is None else f"behind (code: {head})")
    print(f"{current or '(none)'}  {state}  {db.display_url}")
    return 0


def _rooms(args: argparse.Namespace, db: Database, settings: Settings) -> int:
    a = args.action
    if a == "list":
        from nvr_console.core.lectures import timetable_store

        rooms = catalog.list_rooms(db)
        timetables = {t.room_id: t for t in timetable_store.all_rooms(db)}
        if args.json:
            print_json([r.public() | _timetable_fields(timetables.get(r.id)) for r in rooms])
        else:
            rows = []
            for r in rooms:
                t = _timetable_fields(timetables.get(r.id))
                rows.append((r.name, r.camera_count, r.drive_folder or "(root)", r.drive_account,
                             mask_url(r.sound_source_url) if r.sound_source_url else "", t["calendar"] or "",
                             t["calendar_location"] or (r.name if t["calendar"] else ""), t["record"]))
            print_table(("name", "cameras", "drive folder", "drive account", "sound source", "calendar",
                         "calendar location", "record"),
                        rows, empty="no rooms yet: add one with `nvr-console rooms add NAME`")
        return 0
    if a == "add":
        r = catalog.add_room(db, args.name, args.drive_folder, args.sound_source, args.notes)
        print(f"added room {r.name!r}")
    elif a == "edit":
        r = catalog.edit_room(db, args.name, new_name=args.rename, drive_folder=_opt(args.drive_folder),
                              sound_source=_opt(args.sound_source), notes=args.notes, pinned_node=_opt(args.node),
                              drive_account=_opt(args.drive_account), accounts=settings.drive.account_names())
        if any(v is not None for v in (args.calendar, args.calendar_location, args.record, args.lecture_folder)):
            from nvr_console.core.lectures import timetable_store

            timetable_store.configure(db, r.name, source=args.calendar, location=args.calendar_location,
                                      record_mode=args.record, lecture_folder=args.lecture_folder)
        print(f"updated room {r.name!r}")
    elif a == "remove":
        r = catalog.remove_room(db, args.name, with_cameras=args.with_cameras)
        print(f"removed room {r.name!r}; its recordings stay in `nvr-console recordings list`")
    return 0


def _timetable_fields(t: Timetable | None) -> dict[str, str | None]:
    """A room's calendar (secrets masked), the LOCATION text its events match (None: the room's name) and its
    record mode, for `rooms list`."""
    from nvr_console.core.db.models import RecordMode
    from nvr_console.core.lectures.timetable_fetch import describe

    if t is None:
        return {"calendar": None, "calendar_location": None, "record": RecordMode.CONTINUOUS.value}
    return {"calendar": describe(t.source) if t.source else None, "calendar_location": t.location or None,
            "record": t.record_mode}


def _cameras(args: argparse.Namespace, db: Database) -> int:
    a = args.action
    if a == "list":
        cams = catalog.list_cameras(db, args.room)
        holders = camera_holders(db)
        if args.json:
            print_json([c.public() | _holder_fields(holders.get(c.id)) for c in cams])
        else:
            print_table(("room", "name", "enabled", "desired", "node", "transport", "url"),
                        [(c.room, c.name, "yes" if c.enabled else "no", c.desired_state,
                          _node_cell(holders.get(c.id), c.pinned_node), c.rtsp_transport,
                          mask_url(c.stream_url)) for c in cams],
                        empty="no cameras yet: add one with `nvr-console cameras add --room ROOM --name NAME "
                              "--url URL`, or run `nvr-console --demo`")
        return 0
    if a == "add":
        c = catalog.add_camera(db, args.room, args.name, args.url, args.transport, enabled=not args.disabled)
        print(f"added camera {c.name!r} in room {c.room!r} ({mask_url(c.stream_url)})")
    elif a == "edit":
        c = catalog.edit_camera(db, args.room, args.name, new_name=args.rename, url=args.url,
                                transport=args.transport, new_room=args.move_to, pinned_node=_opt(args.node),
                                live_url=_opt(args.live_url))
        live = f"; live wall plays {mask_url(c.live_url)}" if c.live_url else ""
        print(f"updated camera {c.name!r} in room {c.room!r}{live}")
    elif a == "remove":
        c = catalog.remove_camera(db, args.room, args.name, actor=actor_name("CLI"))
        print(f"removed camera {c.name!r} from room {c.room!r}; its recordings and uploads stay")
    elif a in ("enable", "disable"):
        c = catalog.set_camera_enabled(db, args.room, args.name, a == "enable", actor=actor_name("CLI"))
        print(f"camera {c.name!r} in room {c.room!r} {a}d")
    return 0


def _camera_probe(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    """`cameras probe`: what the camera sends and whether it can be recorded as is (exit 0 yes, 3 no, 1 unread)."""
    from nvr_console.core.recording.ffmpeg_locate import FFmpegNotFound, locate_tools
    from nvr_console.core.recording.stream_probe import StreamProbeError, probe_stream
    from nvr_console.core.stream_url import is_lavfi

    if args.seconds <= 0:
        print("nvr-console: error: --seconds must be more than 0", file=sys.stderr)
        return 2
    cam = catalog.get_camera(db, args.room, args.name)
    if is_lavfi(cam.stream_url):
        print(f"camera {cam.name!r} in room {cam.room!r} is a test source ({cam.stream_url}): the recorder encodes "
              "it as H.264 itself; nothing to probe")
        return 0
    try:
        tools = locate_tools(settings.recording.ffmpeg)
        report = probe_stream(str(tools.ffmpeg), cam.stream_url, cam.rtsp_transport, seconds=args.seconds)
    except (FFmpegNotFound, StreamProbeError) as exc:
        print(f"nvr-console: camera {cam.name!r} in room {cam.room!r}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print_json(asdict(report) | {"recordable": report.recordable})
    else:
        print(f"camera {cam.name!r} in room {cam.room!r} ({mask_url(cam.stream_url)}, {cam.rtsp_transport}):")
        for line in report.lines():
            print(f"  {line}")
    return 0 if report.recordable else 3


def _holder_fields(h: Holder | None) -> dict[str, object]:
    """`node` (who holds the camera's lease, even if it expired) and `lease_expires` for --json."""
    if h is None or h.node is None:
        return {"node": None, "lease_expires": None, "node_alive": False}
    return {"node": h.node, "lease_expires": h.lease_expires.isoformat() if h.lease_expires else None,
            "node_alive": h.node_alive and h.live}


def _node_cell(h: Holder | None, pinned: str | None) -> str:
    pin = f" (pinned {pinned})" if pinned and (h is None or h.node != pinned) else ""
    if h is None or h.node is None:
        return "-" + pin
    return (h.node if h.live and h.node_alive else f"{h.node} (offline)") + pin


def _recordings(args: argparse.Namespace, db: Database) -> int:
    if args.limit is not None and args.limit < 1:
        print("nvr-console: error: --limit must be 1 or more", file=sys.stderr)
        return 2
    recs = catalog.list_recordings(db, camera=args.camera, room=args.room, status=args.status, limit=args.limit)
    if args.json:
        print_json([r.public() for r in recs])
    else:
        print_table(("id", "room", "camera", "slot start", "status", "size", "duration", "link / error"),
                    [(r.id, r.room, r.camera, r.slot_start.isoformat(timespec="seconds"), r.status,
                      human_size(r.size), f"{r.duration:.1f}s" if r.duration is not None else "",
                      r.web_link or r.last_error or "") for r in recs],
                    empty="no recordings yet")
    return 0


def _status(args: argparse.Namespace, db: Database) -> int:
    cameras, queue = read_report(db)
    if args.json:
        print_json({"cameras": [asdict(c) for c in cameras], "queue": asdict(queue)})
        return 0
    print_table(("room", "camera", "state", "node", "since", "stream", "file", "size", "last error"),
                [(c.room, c.camera, c.state if c.enabled else "disabled", c.node or "", (c.since or "")[:19],
                  c.stream, c.current_file, human_size(c.file_size) if c.file_size else "", c.last_error)
                 for c in cameras],
                empty="no cameras configured")
    print(f"upload queue: {queue.waiting_files} file(s), {human_size(queue.waiting_bytes)} waiting; "
          f"{queue.uploading} uploading, {queue.failed} failed, {queue.uploaded} uploaded")
    if queue.offline_files:
        print(f"{queue.offline_files} waiting file(s) are on offline node(s) {', '.join(queue.offline_nodes)}: "
              "not lost, they upload when their node runs again")
    if queue.paused_reason:
        print(f"uploads PAUSED on {queue.paused_node} since {(queue.paused_since or '')[:19]}: {queue.paused_reason}")
    if queue.last_error:
        print(f"last upload error: {queue.last_error}")
    return 0
