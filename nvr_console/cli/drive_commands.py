"""`nvr-console drive login | import-token FILE | status | logout`: Google Drive sign-in and upload state.

Registered by `add_drive_parser()` from cli/parser.py and run by `run_drive()` from cli/main.py (main thread).
"""

from __future__ import annotations

import argparse
import stat
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from nvr_console.cli.output import human_size, print_json
from nvr_console.core.config import DEFAULT_DRIVE_ACCOUNT, Settings
from nvr_console.core.db import migrate
from nvr_console.core.db.models import DriveFolder, Recording
from nvr_console.core.db.session import Database
from nvr_console.core.db.types import utcnow
from nvr_console.core.live_state.store import PauseReport, current_pause
from nvr_console.core.text.masking import mask_secrets
from nvr_console.core.upload import auth, drive_usage
from nvr_console.core.upload.where_files_go import where_files_go

LOGIN_HELP = """\
sign in to Google Drive (OAuth, scope drive.file) and save the token (mode 0600).

Needs drive.credentials = an OAuth client JSON of type "Desktop app". On a server over SSH:
  ssh -L 8765:localhost:8765 SERVER        (on your machine)
  nvr-console drive login --no-browser --port 8765   (on the server)
then open the printed URL in your own browser. Or sign in on any machine with a browser and copy
the token file over with `nvr-console drive import-token FILE`."""


def add_drive_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the `drive` command group to the top-level subparsers (parents=[common] like the others)."""
    gp = sub.add_parser("drive", help="Google Drive sign-in and upload status",
                        description="Google Drive sign-in and upload status", parents=[common])
    actions = gp.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = actions.add_parser("login", help="sign in to Google Drive (works over SSH)", description=LOGIN_HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter, parents=[common])
    c.add_argument("--port", type=int, default=0, metavar="PORT",
                   help="local port for Google's redirect (fix it to tunnel it over ssh; default: any free port)")
    c.add_argument("--no-browser", action="store_true", help="only print the URL (servers, SSH sessions)")
    _account_option(c)
    c = actions.add_parser("import-token", help="install a token file made by `drive login` on another machine",
                           description="install a token file made by `drive login` on another machine",
                           parents=[common])
    c.add_argument("file", type=Path, metavar="FILE")
    _account_option(c)
    c = actions.add_parser("status", help="sign-in, destination and upload queue state",
                           description="sign-in, destination and upload queue state", parents=[common])
    c.add_argument("--check", action="store_true", help="also refresh the sign-in with Google (network)")
    c.add_argument("--json", action="store_true", help="print JSON for scripts")
    c = actions.add_parser("logout", help="forget the saved token", description="forget the saved token",
                           parents=[common])
    _account_option(c)


def _account_option(c: argparse.ArgumentParser) -> None:
    c.add_argument("--account", metavar="NAME", default=None,
                   help="the Google account of drive.accounts to act for (default: [drive] credentials and token)")


def run_drive(args: argparse.Namespace, settings: Settings) -> int:
    """Run one `drive` action; returns the exit code (2 = fix the input/settings, 1 = anything else)."""
    try:
        if getattr(args, "account", None):
            try:
                settings = settings.for_drive_account(args.account)
            except KeyError as exc:
                print(f"nvr-console: error: {exc.args[0]}", file=sys.stderr)
                return 2
        if args.action == "login":
            auth.login(settings, port=args.port, open_browser=not args.no_browser,
                       announce=lambda text: print(text, flush=True))
            return 0
        if args.action == "import-token":
            path = auth.import_token(settings, args.file)
            print(f"token installed at {path} (mode 0600); uploads use it from the next start")
            return 0
        if args.action == "logout":
            if auth.logout(settings):
                print(f"removed {settings.drive.token}; revoke the app's access in your Google account too "
                      "if the token may have leaked")
            else:
                print(f"not signed in (no token at {settings.drive.token})")
            return 0
        return _status(args, settings)
    except auth.DriveAuthError as exc:
        print(f"nvr-console: error: {mask_secrets(str(exc))}", file=sys.stderr)
        return 2


def _sign_in(settings: Settings, check: bool) -> dict[str, Any]:
    info: dict[str, Any] = {"credentials": settings.drive.credentials or None, "token": str(settings.drive.token)}
    try:
        kind = auth.credentials_kind(settings)
    except auth.DriveAuthError as exc:
        return {**info, "kind": "invalid", "ok": False, "problem": str(exc)}
    info["kind"] = kind
    tok = settings.drive.token
    if tok.exists():
        mode = stat.S_IMODE(tok.stat().st_mode)
        info["token_mode"] = oct(mode)
        if mode & 0o077:
            info["problem"] = f"token file {tok} is readable by others ({oct(mode)}); run chmod 600 {tok}"
    try:
        creds = auth.load_credentials(settings)
        info["ok"] = True
        if creds is not None and check:
            auth.refresh_now(creds)
            info["checked"] = True
    except auth.DriveAuthError as exc:
        info.update(ok=False, problem=str(exc))
    return info


def _where_files_go(settings: Settings) -> str:
    """Where finished files go and why (core.upload.where_files_go), and the command that sends them to Drive."""
    goes = where_files_go(settings)
    return goes.sentence + ("; `nvr-console drive login` sends them to Drive" if goes.sign_in_sends_to_drive else "")


def _status(args: argparse.Namespace, settings: Settings) -> int:
    now = utcnow()
    counts, last, root_info, pause, budget = _read_queue(settings, now)
    sign_in = _sign_in(settings, args.check)
    accounts = _account_entries(settings, budget, sign_in, args.check, now)
    data = {
        "destination": settings.effective_destination(),
        "files_go_to": _where_files_go(settings),
        "destination_setting": settings.upload.destination,
        "api_root": settings.drive.api_root,
        "sign_in": sign_in,
        "root_folder": {"name": settings.drive.root_folder, **(root_info or {})},
        "share": settings.drive.share,
        "queue": {k: {"files": n, "bytes": b} for k, (n, b) in sorted(counts.items())},
        "last_error": {"recording_id": last[0], "error": last[1]} if last else None,
        "paused": asdict(pause) if pause else None,
        # Drive's daily budget per Google account: its day is Pacific time.
        "drive_day": drive_usage.drive_day(now).isoformat(),
        "accounts": accounts,
    }
    if args.json:
        print_json(data)
        return 0 if sign_in.get("ok") or data["destination"] != "drive" else 1
    print(f"files go to:  {data['files_go_to']}")
    print(f"api root:     {settings.drive.api_root}")
    kinds = {"oauth_client": "OAuth client", "service_account": "service account", "token_only": "saved token",
             "anonymous": "anonymous (test/proxy server)", "none": "not signed in", "invalid": "invalid"}
    if sign_in.get("ok"):
        state = "ok"
    elif data["destination"] == "drive":
        state = "NOT READY"
    else:  # nothing waits for it: the files go elsewhere, as the line above says
        state = "not needed now (only Google Drive needs it)"
    if sign_in.get("checked"):
        state += ", refreshed with Google just now"
    print(f"sign-in:      {kinds.get(sign_in['kind'], sign_in['kind'])}: {state}")
    if sign_in.get("problem"):
        print(f"              {sign_in['problem']}")
    print(f"root folder:  {settings.drive.root_folder!r} "
          + (f"({root_info['link'] or root_info['id']})" if root_info else "(not created yet)")
          + f", sharing: {settings.drive.share}")
    if counts:
        print("queue:        " + ", ".join(f"{n} {k} ({human_size(b)})" for k, (n, b) in sorted(counts.items())))
    else:
        print("queue:        empty")
    if pause:
        print(f"uploads:      PAUSED on {pause.node} since {(pause.since or '')[:19]}: {pause.reason}")
    print(f"today:        Drive's day {data['drive_day']} (Pacific time), daily limit "
          f"{human_size(settings.drive.daily_limit)} per account")
    _print_accounts(budget, accounts, now)
    if last:
        print(f"last error:   recording {last[0]}: {last[1]}")
    return 0 if sign_in.get("ok") or data["destination"] != "drive" else 1


def _account_entries(settings: Settings, budget: list[drive_usage.AccountBudget], sign_in: dict[str, Any],
                     check: bool, now: datetime) -> list[dict[str, Any]]:
    """Each Google account's budget with its own sign-in ([drive]'s is `sign_in`)."""
    accounts: list[dict[str, Any]] = []
    for b in budget:
        try:
            account_sign_in = sign_in if b.account == DEFAULT_DRIVE_ACCOUNT else _sign_in(
                settings.for_drive_account(b.account), check)
        except KeyError as exc:  # a room names an account config.toml lacks
            account_sign_in = {"ok": False, "kind": "invalid", "problem": str(exc.args[0])}
        # The exit code and the sign-in line stay those of [drive]'s account (scripts read them).
        accounts.append({**b.as_dict(now), "sign_in": account_sign_in})
    return accounts


def _print_accounts(budget: list[drive_usage.AccountBudget], accounts: list[dict[str, Any]], now: datetime) -> None:
    """One line per account: sent today, waiting, the recording rate, when the limit comes, a sign-in problem."""
    for b, acc in zip(budget, accounts, strict=True):
        reached = b.reached_at(now)
        when = ("" if reached is None else "; the limit is reached NOW" if reached <= now
                else f"; the limit is reached at about {reached.astimezone():%H:%M} at this rate")
        problem = "" if acc["sign_in"].get("ok") else f"; sign-in: {acc['sign_in'].get('problem', 'not ready')}"
        print(f"  {b.account}: {human_size(b.uploaded)} uploaded, {human_size(b.waiting)} waiting, recording "
              f"{human_size(round(b.rate_per_hour))}/h{when}{problem}")


QueueState = tuple[dict[str, tuple[int, int]], Any, dict[str, Any] | None, PauseReport | None,
                   list[drive_usage.AccountBudget]]


def _read_queue(settings: Settings, now: datetime) -> QueueState:
    """The files by upload status (count, bytes), the latest error of one not uploaded (id, error, when), the
    Drive root folder's id and link once created, the pause of uploads if any, and each Google account's budget
    of Drive's day (drive_usage.budgets)."""
    db = Database(settings.database.url)
    try:
        migrate.prepare_database(db)
        with db.session() as s:
            counts = {st: (int(n), int(b or 0)) for st, n, b in s.execute(
                select(Recording.status, func.count(Recording.id), func.sum(Recording.size))
                .group_by(Recording.status))}
            last = s.execute(
                select(Recording.id, Recording.last_error, Recording.updated_at)
                .where(Recording.last_error.is_not(None), Recording.status.in_(["ready", "uploading", "failed"]))
                .order_by(Recording.updated_at.desc()).limit(1)
            ).first()
            root = s.scalar(select(DriveFolder).where(
                DriveFolder.path == f"{settings.drive.shared_drive or 'root'}/{settings.drive.root_folder}"))
            root_info = {"id": root.folder_id, "link": root.web_link} if root else None
        pause = current_pause(db)
        budget = drive_usage.budgets(settings, db, now)
    finally:
        db.dispose()
    return counts, last, root_info, pause, budget
