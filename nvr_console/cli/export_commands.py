"""`nvr-console export`: a time range of one camera (or every camera of a room) as one MP4 each."""

from __future__ import annotations

import argparse
import re
import sys
import threading
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from nvr_console.cli.output import human_size, print_json
from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.export.run import ExportFailed, ExportResult, export_range
from nvr_console.core.schedule.boundaries import localize
from nvr_console.core.stream_url import InvalidInput
from nvr_console.core.text.durations import format_duration

_WHEN = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2}(?::\d{2})?)$")
_CLOCK = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$")


def add_export_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    help_ = "export a time range of a camera (or of every camera of a room) into one MP4 each, without re-encoding"
    p = sub.add_parser("export", help=help_, parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
                       description=help_ + ".\n\nPieces come from the local recording, the local archive or Drive "
                       "(downloaded and verified);\na piece missing everywhere is a gap listed in the log beside "
                       "the file.", epilog='example: nvr-console export --room A-101 --camera front --from '
                       '"2026-11-27 10:15" --to 11:45 -o lecture.mp4')
    p.add_argument("--room", required=True, metavar="ROOM")
    p.add_argument("--camera", metavar="NAME", help="one camera; without it, every camera of the room into a folder")
    p.add_argument("--from", dest="start", required=True, metavar='"YYYY-MM-DD HH:MM"',
                   help="start, in recording.timezone")
    p.add_argument("--to", dest="end", required=True, metavar='"YYYY-MM-DD HH:MM" or HH:MM',
                   help="end (a time alone means the start's day)")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="FILE|FOLDER",
                   help="the MP4 to write (or a folder to name it in); a folder for a whole room")
    p.add_argument("--exact", action="store_true",
                   help="start on the asked frame: re-encode only the first partial GOP (default: start at the "
                   "keyframe at or before it)")
    p.add_argument("--clean", action="store_true",
                   help="first remove every temporary folder (.nvr-export-*) failed exports left beside the output "
                   "(they are kept so that a re-run resumes its Drive downloads; without --clean, those older than "
                   "a day are removed)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def parse_when(text: str, zone: ZoneInfo | None, day_of: datetime | None = None) -> datetime:
    """`YYYY-MM-DD HH:MM[:SS]` (or `HH:MM` on `day_of`'s day) in the configured zone -> aware datetime."""
    t = text.strip()
    m = _WHEN.match(t)
    try:
        if m:
            naive = datetime.fromisoformat(f"{m[1]} {m[2] if m[2].count(':') == 2 else m[2] + ':00'}")
        elif _CLOCK.match(t) and day_of is not None:
            hour, minute, *second = (int(x) for x in t.split(":"))
            naive = datetime.combine(day_of.astimezone(zone).date(), time(hour, minute, second[0] if second else 0))
        else:
            raise ValueError
    except ValueError:
        raise InvalidInput(f"time {text!r} cannot be read; give it as \"YYYY-MM-DD HH:MM\" such as "
                           "\"2026-11-27 10:15\" (--to may be just HH:MM)") from None
    return localize(naive, zone)


def run_export(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    zone = settings.recording.zone()
    start = parse_when(args.start, zone)
    end = parse_when(args.end, zone, start)
    cancel = threading.Event()
    tty = sys.stderr.isatty()
    last: list[str] = [""]

    def progress(fraction: float, text: str) -> None:
        line = f"{100 * fraction:5.1f} %  {text}"
        if tty:
            sys.stderr.write("\r" + line[:110].ljust(110))
        elif text != last[0]:
            sys.stderr.write(line + "\n")
        last[0] = text
        sys.stderr.flush()

    try:
        results = export_range(settings, db, args.room, args.camera, start, end, args.output, exact=args.exact,
                               progress=None if args.json else progress, cancel=cancel, clean=args.clean)
    except KeyboardInterrupt:
        cancel.set()
        raise
    except ExportFailed as exc:
        print(f"nvr-console: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if tty and not args.json:
            sys.stderr.write("\n")
    if args.json:
        print_json([_public(r, zone) for r in results])
    else:
        for r in results:
            _print(r, zone)
    if not any(r.path for r in results):
        print(f"nvr-console: error: nothing of {args.room}{'/' + args.camera if args.camera else ''} was recorded "
              "in that range that could be read (see the gaps above)", file=sys.stderr)
        return 1
    return 0


def _clock(moment: datetime | None, zone: ZoneInfo | None) -> str:
    if moment is None:
        return "?"
    return moment.astimezone(zone).strftime("%H:%M:%S.%f")[:-4]


def _print(r: ExportResult, zone: ZoneInfo | None) -> None:
    if r.path is None:
        print(f"{r.room}/{r.camera}: nothing to export")
    else:
        size = human_size(r.path.stat().st_size)
        how = "the asked frame (exact cut)" if r.exact else "the keyframe at or before the asked start"
        print(f"{r.room}/{r.camera}: {r.path} ({format_duration(round(r.seconds))}, {size}); first frame at "
              f"{_clock(r.media_start, zone)}, {how}")
    for g in r.gaps:
        print(f"  gap {_clock(g.start, zone)}-{_clock(g.end, zone)} ({format_duration(round(g.seconds))}): {g.reason}")
    for n in r.notes:
        print(f"  note: {n}")
    if r.log_path is not None:
        print(f"  log: {r.log_path}")


def _public(r: ExportResult, zone: ZoneInfo | None) -> dict[str, object]:
    def t(d: datetime | None) -> str | None:
        return d.astimezone(zone).isoformat(timespec="milliseconds") if d else None

    return {"room": r.room, "camera": r.camera, "path": str(r.path) if r.path else None,
            "log": str(r.log_path) if r.log_path else None, "start": t(r.start), "end": t(r.end),
            "first_frame": t(r.media_start), "seconds": round(r.seconds, 3), "exact": r.exact,
            "pieces": [{"start": t(p.start), "end": t(p.end), "source": p.source.kind.value if p.source else None,
                        "where": p.source.describe() if p.source else None} for p in r.pieces],
            "gaps": [{"start": t(g.start), "end": t(g.end), "seconds": round(g.seconds, 3), "cause": g.cause.value,
                      "reason": g.reason} for g in r.gaps],
            "notes": list(r.notes)}
