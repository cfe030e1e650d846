"""Hide credentials in anything shown or logged: they never appear in logs, the UI, error messages or
exception text.

`rtsp://admin:secret@10.0.0.5/stream` becomes `rtsp://admin:***@10.0.0.5/stream`; secrets in
query strings (`?password=...`, `token=...`) become `***` too.
"""

from __future__ import annotations

import re

MASK = "***"

# user:password@ inside any scheme://...; the password may hold anything but '@' and '/'
# up to the LAST '@' before the host, because cameras accept passwords with '@' percent-encoded
# or not.
_USERINFO = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^\s/]*)@(?=[^\s@/]*(?:[/\s?#]|$))"
)
_QUERY_SECRET = re.compile(
    r"(?P<key>\b(?:password|passwd|pwd|pass|token|access_token|refresh_token|client_secret|secret|key)=)"
    r"(?P<value>[^&\s#]+)",
    re.IGNORECASE,
)


def mask_secrets(text: str) -> str:
    """Return `text` with every URL password and secret query value replaced by ***."""
    if not text:
        return text
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m['key']}{MASK}", text)


def mask_url(url: str) -> str:
    """Mask one URL (the same rules as `mask_secrets`, named for readability at call sites)."""
    return mask_secrets(url)


def url_password(url: str) -> str | None:
    """The password inside `scheme://user:password@host`, or None (used by tests and log filters)."""
    m = _USERINFO.search(url)
    return m["pw"] if m and m["pw"] else None


def redact_url_path(url: str) -> str:
    """`https://hooks.slack.com/services/T0/B0/XyZ` -> `https://hooks.slack.com/***`.

    For URLs whose path or query is the secret itself (Slack/Mattermost webhooks, Telegram bot tokens).
    """
    m = re.match(r"^(?P<base>[A-Za-z][A-Za-z0-9+.\-]*://[^/?#\s]+)(?P<rest>.*)$", url or "")
    if not m:
        return mask_secrets(url)
    base = mask_secrets(m["base"] + "/")[:-1]
    return base + ("/" + MASK if m["rest"].strip("/") else "")
