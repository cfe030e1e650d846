"""`nvr-console recordings coverage` (and, in export_commands, `nvr-console export`): what was recorded of a day,
and why every gap is there."""

from __future__ import annotations

import argparse
from datetime import datetime
from zoneinfo import ZoneInfo

from nvr_console.cli.output import print_json
from nvr_console.core.config import Settings
from nvr_console.core.coverage import CameraCoverage, load_day, parse_day
from nvr_console.core.db.session import Database
from nvr_console.core.text.durations import format_duration


def add_coverage_parser(actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    help_ = "per camera, the seconds recorded of a day's recording window and every gap with its reason"
    c = actions.add_parser("coverage", help=help_, description=help_, parents=[common])
    c.add_argument("--day", required=True, metavar="YYYY-MM-DD", help="the day (in recording.timezone), or yesterday")
    c.add_argument("--room", metavar="ROOM", help="only this room's cameras")
    c.add_argument("--camera", metavar="NAME", help="only this camera")
    c.add_argument("--json", action="store_true", help="print JSON for scripts")


def run_coverage(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    zone = settings.recording.zone()
    day = parse_day(args.day, zone)
    cameras = load_day(db, settings, day, room=args.room, camera=args.camera)
    if args.json:
        print_json({"day": day.isoformat(), "timezone": settings.recording.timezone,
                    "window": settings.recording.window.text, "cameras": [c.public(zone) for c in cameras]})
        return 0
    print(f"coverage of {day.isoformat()} ({settings.recording.timezone} time), recording window "
          f"{settings.recording.window.text}")
    if not cameras:
        print("no cameras: add one with `nvr-console cameras add`")
    for c in cameras:
        _print_camera(c, zone)
    return 0


def _clock(moment: datetime, zone: ZoneInfo | None) -> str:
    local = moment.astimezone(zone) if zone else moment.astimezone()
    return local.strftime("%H:%M:%S")


def _print_camera(c: CameraCoverage, zone: ZoneInfo | None) -> None:
    ratio = f" ({100 * c.ratio:.1f} %)" if c.ratio is not None else ""
    damaged = f", {c.damaged_files} damaged" if c.damaged_files else ""
    print(f"\n{c.room} / {c.camera}: recorded {format_duration(round(c.recorded_seconds))} of "
          f"{format_duration(round(c.window_seconds))} in the window{ratio}; {len(c.files)} file(s){damaged}")
    for o in c.outside:  # said once: no gap, not counted
        print(f"  {o.reason}")
    for g in c.gaps:
        print(f"  gap  {_clock(g.start, zone)}-{_clock(g.end, zone)}  {format_duration(round(g.seconds)):>8}  "
              f"{g.reason}")
    for f in c.files:
        if f.damaged:
            print(f"  damaged file {_clock(f.start, zone)}-{_clock(f.end, zone)} ({f.status}): {f.damaged}")
    if not c.gaps:
        print("  no gaps")
