"""Run in separate OS processes by the race tests: several nodes doing the same lease step at once."""

from __future__ import annotations

import time

from nvr_console.core.db.session import Database
from nvr_console.core.fleet import leases


def grab_all(url: str, node: str, units: list[str], start_at: float, ttl: float) -> dict[str, int]:
    """Wait for the common start instant, then try to acquire every unit from token 0; {unit: token} won."""
    db = Database(url)
    try:
        db.check_connection()  # connect before the start line, so every process races on equal terms
        time.sleep(max(0.0, start_at - time.time()))
        won = {}
        for unit in units:
            token = leases.acquire(db, unit, node, ttl, 0)
            if token is not None:
                won[unit] = token
        return won
    finally:
        db.dispose()


def take_expired(url: str, node: str, unit: str, seen_token: int, start_at: float, ttl: float) -> int | None:
    db = Database(url)
    try:
        db.check_connection()
        time.sleep(max(0.0, start_at - time.time()))
        return leases.acquire(db, unit, node, ttl, seen_token)
    finally:
        db.dispose()
