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


# A path segment that is a random token rather than a name: 20+ URL-safe characters with a digit in them
# (Outlook's published-calendar id, iCloud's /published/2/<token>, Nextcloud share tokens are of this kind;
# names such as `public-calendars` or `A-101.ics` are not).
_TOKEN_SEGMENT = re.compile(r"(?=[A-Za-z0-9_\-]*[0-9])[A-Za-z0-9_\-]{20,}")
_GOOGLE_PRIVATE = re.compile(r"^private-.+$")
_CALENDAR_URL = re.compile(r"^(?P<base>[A-Za-z][A-Za-z0-9+.\-]*://[^/?#\s]*)(?P<path>[^?#]*)"
                           r"(?:\?(?P<query>[^#]*))?(?P<frag>#.*)?$")


def mask_calendar_url(url: str) -> str:
    """A calendar address as shown to people: its password, and the secrets a subscription address carries
    in its path or query, replaced by ***.

    Calendar services put the secret in the address itself: Google's secret iCal address ends in
    `/private-<key>/basic.ics`, Outlook's and iCloud's published calendars have a random token as a path
    segment, university timetable exports a `?token=`-like parameter. So the Google key, every token-like
    path segment and every query value are masked (the query's names, the host and the readable path stay,
    so people can still tell the calendars apart). A local file path is shown as it is.
    """
    m = _CALENDAR_URL.match(url or "")
    if not m:
        return mask_secrets(url)
    base = mask_secrets(m["base"] + "/")[:-1]
    segments = []
    for seg in m["path"].split("/"):
        if _GOOGLE_PRIVATE.match(seg):
            seg = "private-" + MASK
        elif _TOKEN_SEGMENT.fullmatch(seg):
            seg = MASK
        segments.append(seg)
    out = base + "/".join(segments)
    if m["query"] is not None:
        out += "?" + "&".join(_masked_parameter(p) for p in m["query"].split("&"))
    return out + (m["frag"] or "")


def _masked_parameter(part: str) -> str:
    """`token=abc` -> `token=***`; a bare flag (`?export`) stays unless it is itself a token."""
    if "=" in part:
        return part.split("=", 1)[0] + "=" + MASK
    return MASK if _TOKEN_SEGMENT.fullmatch(part) else part
