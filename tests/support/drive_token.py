"""A saved Google sign-in for tests against the Drive test server: its access token is still fresh, so the
real google-auth client sends it as is and never asks Google's token endpoint for a new one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

ACCESS_TOKEN = "ya29.test-access-token"
SECRETS = (ACCESS_TOKEN, "1//test-refresh-secret", "test-client-secret")  # none may appear in any message


def write_fresh_token(path: Path, access_token: str = ACCESS_TOKEN) -> None:
    """Write an authorized-user token file (as `nvr-console drive login` leaves it), valid for an hour. Another
    `access_token` stands for another Google account (the Drive test server tells accounts by it)."""
    expiry = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "type": "authorized_user", "client_id": "cid.apps.googleusercontent.com", "client_secret": SECRETS[2],
        "refresh_token": SECRETS[1], "token": access_token, "expiry": expiry,
        "token_uri": "http://127.0.0.1:9/token",  # never used while the token is fresh; refused if it were
    }))
