"""`nvr-console alerts list|test` and `nvr-console status --check` (Nagios/Icinga plugin, container health)."""

from __future__ import annotations

import argparse
import sys

from nvr_console.cli.output import print_json, print_table
from nvr_console.core.config import Settings
from nvr_console.core.db import migrate
from nvr_console.core.db.session import Database
from nvr_console.core.masking import mask_secrets
from nvr_console.core.monitoring import alert_store
from nvr_console.core.monitoring.channels import ChannelError, build_channels, test_message
from nvr_console.core.monitoring.health import CRITICAL, OK, assess, read_health
from nvr_console.core.monitoring.monitor import monitor_node
from nvr_console.core.monitoring.rules import RULES


def add_alerts_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    gp = sub.add_parser("alerts", help="built-in alerts: list them, test the channels",
                        description="built-in alerts: list them, test the channels", parents=[common])
    actions = gp.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = actions.add_parser("list", help="active alerts and those resolved in the last 24 hours",
                           description="active alerts and those resolved in the last 24 hours", parents=[common])
    c.add_argument("--json", action="store_true", help="print JSON for scripts")
    actions.add_parser("test", help="send a test message through every configured channel and say which worked",
                       description="send a test message through every configured channel (webhook, e-mail) and "
                       "say which worked; exit 1 if any failed", parents=[common])


def run_alerts(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "test":
        return _test(settings)
    db = Database(settings.database.url)
    try:
        migrate.prepare_database(db)
        alerts = alert_store.list_alerts(db)
    finally:
        db.dispose()
    if args.json:
        print_json([a.public() for a in alerts])
        return 0
    print_table(("state", "severity", "subject", "alert", "since", "resolved", "details"),
                [(a.state, a.severity, a.subject, RULES[a.rule].title if a.rule in RULES else a.rule,
                  a.started_at.isoformat(timespec="seconds"),
                  a.resolved_at.isoformat(timespec="seconds") if a.resolved_at else "",
                  a.summary + (f" [not delivered: {a.delivery_error}]" if a.delivery_error else ""))
                 for a in alerts],
                empty="no alerts in the last 24 hours")
    return 0


def _test(settings: Settings) -> int:
    channels = build_channels(settings)
    if not channels:
        print("nvr-console: error: no alert channel is configured: set webhook.url or email.host "
              "(desktop notifications are shown by the console)", file=sys.stderr)
        return 2
    failed = 0
    msg = test_message(monitor_node(settings))
    for ch in channels:
        try:
            ch.send(msg)
            print(f"{ch.name}: sent")
        except ChannelError as exc:
            failed += 1
            print(f"{ch.name}: FAILED: {exc}")
    return 1 if failed else 0


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    """One line and a plugin exit code; any failure to find out is CRITICAL (never a traceback)."""
    db = Database(settings.database.url)
    try:
        migrate.prepare_database(db)
        verdict = assess(read_health(db), liveness_only=args.liveness)
    except Exception as exc:
        print(f"NVR CRITICAL - cannot read the database: {mask_secrets(str(exc))[:300]}")
        return 1 if args.liveness else CRITICAL
    finally:
        db.dispose()
    print(verdict.line)
    if args.liveness:  # Docker's HEALTHCHECK contract: 0 healthy, 1 unhealthy
        return 0 if verdict.code == OK else 1
    return verdict.code
