"""The argument parser. Options that every command understands may come before or after it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from nvr_console import __version__
from nvr_console.core.db.models import RecordingStatus

DESCRIPTION = """\
Record IP cameras gaplessly with FFmpeg, cut on wall-clock boundaries, and upload every
finished file to Google Drive (or a local archive).

With no command, opens the desktop console. On a server, run `nvr-console --no-gui`."""

EPILOG = """\
examples:
  nvr-console --demo                          console with demo cameras (no hardware needed)
  nvr-console --no-gui                        headless recorder (systemd, containers)
  nvr-console --no-record                     console as a control station (records nothing here)
  nvr-console rooms add A-101 --drive-folder https://drive.google.com/drive/folders/ID
  nvr-console cameras add --room A-101 --name front --url rtsp://user:pass@10.0.0.5/stream
  nvr-console cameras list --json
  nvr-console recordings list --status ready --json
  nvr-console recordings coverage --day yesterday --room A-101
  nvr-console export --room A-101 --camera front --from "2026-11-27 10:15" --to 11:45 -o lecture.mp4
  nvr-console status --json                   what every camera is doing, for monitoring
  nvr-console status --check                  Nagios/Icinga check (exit 0 OK, 1 warning, 2 critical)
  nvr-console alerts list                     active and recent alerts, with their ids
  nvr-console alerts ack 12 --note "on my way"  take alert 12 on: every console shows it, repeats stop
  nvr-console nodes list                      the machines sharing the database
  nvr-console nodes drain recorder-1          move its cameras to the others (no frame lost)
  nvr-console rooms edit A-101 --calendar https://uni.example/timetable/A-101.ics
  nvr-console calendar check A-101            the room's next lectures, fetched now
  nvr-console lectures list --days 7          this week's lectures: state, coverage, link
  nvr-console config show

settings come from (later wins): defaults, /etc/nvr-console/config.toml or the user's
config.toml (or --config), .env, NVR_SECTION_KEY variables (and SQLALCHEMY_DATABASE_URI),
then these flags. `nvr-console config show` lists every setting and where it came from.
exit codes: 0 ok, 2 bad usage or invalid input, 1 anything else."""


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    d = argparse.SUPPRESS if suppress else None
    g = parser.add_argument_group("common options")
    g.add_argument("--config", type=Path, metavar="PATH", default=d,
                   help="settings file (TOML) to use instead of the user and system ones")
    g.add_argument("--database-url", metavar="URL", default=d,
                   help="database (sqlite:///PATH or mysql+pymysql://USER:PASS@HOST:PORT/DB)")
    g.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS if suppress else False,
                   help="log debug detail")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nvr-console", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"nvr-console {__version__}")
    p.add_argument("--no-gui", action="store_true", help="run the headless recorder (no window)")
    p.add_argument("--no-record", action="store_true",
                   help="console as a control station: record nothing here, show and command the recorder nodes "
                   "sharing the database (as node.record = false; the headless recorder always records)")
    p.add_argument("--demo", action="store_true",
                   help="with no cameras configured, add demo cameras from FFmpeg test sources")
    _common(p, suppress=False)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    _common(common, suppress=True)
    _add_rooms_parser(sub, common)
    _add_cameras_parser(sub, common)
    _add_recordings_parser(sub, common)
    _add_status_parser(sub, common)
    _add_admin_parsers(sub, common)
    from nvr_console.cli.export_commands import add_export_parser

    add_export_parser(sub, common)

    from nvr_console.cli.drive_commands import add_drive_parser
    from nvr_console.cli.monitoring_commands import add_alerts_parser
    from nvr_console.cli.node_commands import add_nodes_parser

    add_drive_parser(sub, common)
    add_alerts_parser(sub, common)
    add_nodes_parser(sub, common)
    from nvr_console.cli.lecture_commands import add_lecture_parsers

    add_lecture_parsers(sub, common)
    return p


Group = Callable[[str, str], argparse._SubParsersAction]
Command = Callable[[argparse._SubParsersAction, str, str], argparse.ArgumentParser]


def _makers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> tuple[Group, Command]:
    """`group(name, help)`: a command with actions; `cmd(actions, name, help)`: one action of it."""

    def group(name: str, help_: str) -> argparse._SubParsersAction:
        gp = sub.add_parser(name, help=help_, description=help_, parents=[common])
        return gp.add_subparsers(dest="action", metavar="ACTION", required=True)

    def cmd(actions: argparse._SubParsersAction, name: str, help_: str) -> argparse.ArgumentParser:
        return actions.add_parser(name, help=help_, description=help_, parents=[common])

    return group, cmd


def _add_rooms_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """`rooms list/add/edit/remove`."""
    group, cmd = _makers(sub, common)
    rooms = group("rooms", "list, add, edit and remove rooms")
    c = cmd(rooms, "list", "list rooms")
    c.add_argument("--json", action="store_true", help="print JSON for scripts")
    c = cmd(rooms, "add", "add a room")
    c.add_argument("name", metavar="NAME")
    c.add_argument("--drive-folder", metavar="ID_OR_URL", help="the room's own Drive folder (id or link)")
    c.add_argument("--sound-source", metavar="URL", help="audio-only stream muxed into every camera file")
    c.add_argument("--notes", default="", help="free text")
    c = cmd(rooms, "edit", "change a room (give '' to clear a value)")
    c.add_argument("name", metavar="NAME")
    c.add_argument("--rename", metavar="NEW_NAME", help="new name")
    c.add_argument("--drive-folder", metavar="ID_OR_URL")
    c.add_argument("--sound-source", metavar="URL")
    c.add_argument("--notes")
    c.add_argument("--node", metavar="NODE", help="pin the room's cameras to this node ('' to unpin)")
    c.add_argument("--drive-account", metavar="NAME",
                   help="the Google account (drive.accounts) its files upload with; every node uploading them uses "
                   "that account's token ('' or default: [drive]'s)")
    c.add_argument("--calendar", metavar="URL_OR_FILE",
                   help="the room's timetable: an ICS address (http/https/webcal), caldav+https://HOST/PATH/ for a "
                   "CalDAV collection, or an .ics file ('' to remove)")
    c.add_argument("--calendar-location", metavar="TEXT",
                   help="the room's events are those whose LOCATION contains TEXT (default: the room's name)")
    c.add_argument("--record", choices=["continuous", "timetable"],
                   help="record all the time (default) or only around the timetable's lectures")
    c.add_argument("--lecture-folder", metavar="ID_OR_URL",
                   help="the Drive folder this room's lectures go to (default: lectures.folder inside the room's "
                   "folder; '' for the default)")
    c = cmd(rooms, "remove", "remove a room (its recordings stay)")
    c.add_argument("name", metavar="NAME")
    c.add_argument("--with-cameras", action="store_true", help="also remove the room's cameras")


def _add_cameras_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """`cameras list/add/edit/probe/remove/enable/disable`."""
    group, cmd = _makers(sub, common)
    cams = group("cameras", "list, add, edit, remove, enable, disable and probe cameras")
    c = cmd(cams, "list", "list cameras")
    c.add_argument("--room", metavar="ROOM", help="only this room's cameras")
    c.add_argument("--json", action="store_true", help="print JSON for scripts (passwords masked)")
    c = cmd(cams, "add", "add a camera")
    c.add_argument("--room", required=True, metavar="ROOM")
    c.add_argument("--name", required=True, metavar="NAME")
    c.add_argument("--url", required=True, metavar="URL", help="rtsp://[user:pass@]host[:port]/path or lavfi:...")
    c.add_argument("--transport", default="tcp", choices=["tcp", "udp"], help="RTSP transport (default tcp)")
    c.add_argument("--disabled", action="store_true", help="add it without recording yet")
    c = cmd(cams, "edit", "change a camera")
    c.add_argument("--room", required=True, metavar="ROOM")
    c.add_argument("--name", required=True, metavar="NAME")
    c.add_argument("--rename", metavar="NEW_NAME")
    c.add_argument("--url", metavar="URL")
    c.add_argument("--transport", choices=["tcp", "udp"])
    c.add_argument("--move-to", metavar="ROOM", help="move it to another room")
    c.add_argument("--node", metavar="NODE", help="pin it to this node ('' to unpin)")
    c.add_argument("--live-url", metavar="URL",
                   help="a sub-stream the console's live wall plays instead of the recorded one ('' to clear)")
    c = cmd(cams, "probe", "say what a camera sends (codecs, profile, B-frames, resolution, frame rate, keyframe "
            "interval, audio) and whether it can be recorded as is; exit 0 yes, 3 no, 1 unreachable")
    c.add_argument("--room", required=True, metavar="ROOM")
    c.add_argument("--name", required=True, metavar="NAME")
    c.add_argument("--seconds", type=float, default=12.0, metavar="S",
                   help="how long to read the stream (default 12; the keyframe interval needs two keyframes)")
    c.add_argument("--json", action="store_true", help="print JSON for scripts")
    for action, help_ in (("remove", "remove a camera (its recordings and uploads stay)"),
                          ("enable", "enable a camera (it starts recording)"),
                          ("disable", "disable a camera (it stops cleanly)")):
        c = cmd(cams, action, help_)
        c.add_argument("--room", required=True, metavar="ROOM")
        c.add_argument("--name", required=True, metavar="NAME")


def _add_recordings_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """`recordings list/coverage`."""
    group, cmd = _makers(sub, common)
    recs = group("recordings", "list recordings and their upload state; a day's coverage with the reason for every gap")
    c = cmd(recs, "list", "list recordings, newest first")
    c.add_argument("--camera", metavar="NAME")
    c.add_argument("--room", metavar="ROOM")
    c.add_argument("--status", choices=[s.value for s in RecordingStatus])
    c.add_argument("--limit", type=int, default=None, metavar="N")
    c.add_argument("--json", action="store_true", help="print JSON for scripts")
    from nvr_console.cli.recordings_commands import add_coverage_parser

    add_coverage_parser(recs, common)


def _add_status_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """`status` (and `status --check` for monitoring)."""
    st = sub.add_parser("status", help="every camera's state, the upload queue and the last error (from the database)",
                        description="every camera's state as its engine last reported it, the upload queue and the "
                        "last error, read from the database: for monitoring scripts", parents=[common])
    st.add_argument("--json", action="store_true", help="print JSON for scripts")
    st.add_argument("--check", action="store_true",
                    help="Nagios/Icinga check: one line; exit 0 OK, 1 warning, 2 critical (no engine reporting, "
                    "or a critical alert firing); an acknowledged alert (`alerts ack`) is named in the line with "
                    "who took it but raises no code, until it resolves")
    st.add_argument("--liveness", action="store_true",
                    help="with --check: only whether an engine reports (exit 0 alive, 1 not: container health check)")


def _add_admin_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """`db upgrade/current` and `config show`."""
    group, cmd = _makers(sub, common)
    db = group("db", "database schema")
    cmd(db, "upgrade", "migrate the database to this version's schema")
    cmd(db, "current", "show the database's schema revision")

    cfg = group("config", "settings")
    c = cmd(cfg, "show", "print every setting, its value (secrets masked) and where it came from")
    c.add_argument("--json", action="store_true")
