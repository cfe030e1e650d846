"""`nvr-console alerts list|ack|test` and `nvr-console status --check` (Nagios/Icinga plugin, container health)."""

from __future__ import annotations

import argparse
import sys

from nvr_console.cli.output import print_json, print_table
from nvr_console.core.config import Settings
from nvr_console.core.db import migrate
from nvr_console.core.db.session import Database
from nvr_console.core.monitoring import alert_store
from nvr_console.core.monitoring.channels import ChannelError, build_channels, test_message
from nvr_console.core.monitoring.health import CRITICAL, OK, assess, read_health
from nvr_console.core.monitoring.monitor import monitor_node
from nvr_console.core.monitoring.rules import RULES
from nvr_console.core.system.node_identity import operator_name
from nvr_console.core.text.masking import mask_secrets


def add_alerts_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    gp = sub.add_parser("alerts", help="built-in alerts: list, acknowledge, test the channels",
                        description="built-in alerts: list them, acknowledge one, test the channels", parents=[common])
    actions = gp.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = actions.add_parser("list", help="active alerts and those resolved in the last 24 hours",
                           description="active alerts and those resolved in the last 24 hours", parents=[common])
    c.add_argument("--json", action="store_true", help="print JSON for scripts")
    c = actions.add_parser("ack", help="acknowledge a firing alert: every console shows it taken, repeats stop",
                           description="acknowledge a firing alert (its id is in `alerts list`): every console "
                           "sharing the database shows who took it; e-mail and webhook repeats stop until it "
                           "resolves (the resolved message still goes out); exit 1 if it was already acknowledged "
                           "or has resolved", parents=[common])
    c.add_argument("id", type=int, metavar="ID", help="the alert's id (first column of `alerts list`)")
    c.add_argument("--note", default="", metavar="TEXT", help="a note for the other operators (\"on my way\")")
    actions.add_parser("test", help="send a test message through every configured channel and say which worked",
                       description="send a test message through every configured channel (webhook, e-mail) and "
                       "say which worked; exit 1 if any failed", parents=[common])


def run_alerts(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "test":
        return _test(settings)
    if args.action == "ack":
        return _ack(settings, args.id, args.note)
    db = Database(settings.database.url)
    try:
        migrate.prepare_database(db)
        alerts = alert_store.list_alerts(db)
    finally:
        db.dispose()
    if args.json:
        print_json([a.public() for a in alerts])
        return 0
    print_table(("id", "state", "severity", "subject", "alert", "since", "resolved", "acknowledged", "details"),
                [(a.id, a.state, a.severity, a.subject, RULES[a.rule].title if a.rule in RULES else a.rule,
                  a.started_at.isoformat(timespec="seconds"),
                  a.resolved_at.isoformat(timespec="seconds") if a.resolved_at else "",
                  f"{a.acked_by} {a.acked_at.isoformat(timespec='seconds')}" if a.acked_at else "",
                  a.summary + (f" [not delivered: {a.delivery_error}]" if a.delivery_error else "")
                  + (f" [note: {a.ack_note}]" if a.ack_note else ""))
                 for a in alerts],
                empty="no alerts in the last 24 hours")
    return 0


def _ack(settings: Settings, alert_id: int, note: str) -> int:
    db = Database(settings.database.url)
    try:
        migrate.prepare_database(db)
        result = alert_store.acknowledge(db, alert_id, operator_name(settings.node.name), note)
    finally:
        db.dispose()
    if result.outcome is alert_store.AckOutcome.MISSING:
        print(f"nvr-console: error: {result.sentence(alert_id)}", file=sys.stderr)
        return 2
    print(result.sentence(alert_id))
    return 0 if result.outcome is alert_store.AckOutcome.ACKNOWLEDGED else 1


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
