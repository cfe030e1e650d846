"""Fetch a room's calendar: an ICS URL over http(s), a CalDAV collection, or a local .ics file.

`fetch` asks conditionally (If-None-Match / If-Modified-Since, or the file's modification time), so an
unchanged calendar costs one short request. Every failure is a `CalendarUnreadable` whose text names the
calendar (credentials masked) and what to check. Blocking: call from a worker thread.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from nvr_console.core.text.masking import mask_calendar_url, mask_secrets

CALDAV_PREFIX = "caldav+"
MAX_BYTES = 64 * 1024 * 1024  # a timetable is kilobytes; more is not a calendar


class CalendarUnreadable(RuntimeError):
    """The calendar could not be read or is not a calendar; `str()` says which and why (no secrets)."""


@dataclass(frozen=True)
class Fetched:
    """What a fetch returned: `body` None when the server said the copy we hold is current."""

    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None


def describe(source: str) -> str:
    """The calendar as shown to people: a URL without its password nor the secrets in its path or query
    (masking.mask_calendar_url), or the file path."""
    return mask_calendar_url(source)


def kind_of(source: str) -> str:
    """'http', 'caldav' or 'file'; raises ValueError for what is none of them."""
    low = source.strip().lower()
    if low.startswith(CALDAV_PREFIX + "http://") or low.startswith(CALDAV_PREFIX + "https://"):
        return "caldav"
    if low.startswith(("http://", "https://", "webcal://")):
        return "http"
    if low.startswith("file://") or (source.strip() and "://" not in source):
        return "file"
    raise ValueError(f"{describe(source)!r} is not an http(s) ICS URL, a caldav+https:// collection URL or a "
                     "path to an .ics file")


def fetch(source: str, etag: str | None, last_modified: str | None, timeout_s: float) -> Fetched:
    """The calendar's bytes, or `Fetched(None)` when unchanged since (etag, last_modified)."""
    kind = kind_of(source)
    if kind == "file":
        return _fetch_file(source, last_modified)
    if kind == "caldav":
        return _fetch_caldav(source[len(CALDAV_PREFIX):], etag, timeout_s)
    return _fetch_http(source, etag, last_modified, timeout_s)


def _fetch_file(source: str, last_modified: str | None) -> Fetched:
    path = Path(urllib.parse.unquote(urllib.parse.urlsplit(source).path)) if source.startswith("file://") \
        else Path(source).expanduser()
    try:
        stamp = str(path.stat().st_mtime_ns)
        if stamp == last_modified:
            return Fetched(None, None, stamp)
        data = path.read_bytes()
    except FileNotFoundError:
        raise CalendarUnreadable(f"calendar file {path} does not exist; check the path given with "
                                 "`rooms edit ROOM --calendar`") from None
    except OSError as exc:
        raise CalendarUnreadable(f"cannot read calendar file {path}: {exc.strerror or exc}") from None
    return Fetched(data, None, stamp)


def _fetch_http(source: str, etag: str | None, last_modified: str | None, timeout_s: float) -> Fetched:
    url = "https://" + source[len("webcal://"):] if source.lower().startswith("webcal://") else source
    parts = urllib.parse.urlsplit(url)
    headers = {"User-Agent": "nvr-console (timetable)", "Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    opener = urllib.request.build_opener()
    if parts.username:  # user:password@ in the URL: HTTP basic authentication, never sent in the URL itself
        mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        clean = parts._replace(netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else "")).geturl()
        mgr.add_password(None, clean, urllib.parse.unquote(parts.username),
                         urllib.parse.unquote(parts.password or ""))
        opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(mgr))
        url = clean
    request = urllib.request.Request(url, headers=headers)
    where = describe(source)
    try:
        with opener.open(request, timeout=timeout_s) as resp:
            data = resp.read(MAX_BYTES + 1)
            if len(data) > MAX_BYTES:
                raise CalendarUnreadable(f"calendar {where} is larger than {MAX_BYTES // 2**20} MiB: not a timetable")
            return Fetched(data, resp.headers.get("ETag"), resp.headers.get("Last-Modified"))
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(None, etag, last_modified)
        hint = {401: "the calendar needs a login: put user:password@ in the URL or use its secret address",
                403: "the server refuses this account or address; check the calendar's sharing",
                404: "no calendar at this address; copy the calendar's ICS address again"}.get(
            exc.code, "the calendar server failed; it is asked again at the next refresh")
        raise CalendarUnreadable(f"calendar {where} answered HTTP {exc.code} {exc.reason}: {hint}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CalendarUnreadable(f"cannot reach calendar {where}: {mask_secrets(str(reason))}; check the address "
                                 "and the network (asked again at the next refresh)") from None


def _fetch_caldav(url: str, etag: str | None, timeout_s: float) -> Fetched:
    """Every event of one CalDAV collection as one VCALENDAR. The collection's CTag (or the hash of what it
    holds) stands in for the ETag."""
    from caldav.davclient import DAVClient
    from caldav.lib.error import DAVError
    from icalendar import Calendar

    parts = urllib.parse.urlsplit(url)
    clean = parts._replace(netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else "")).geturl()
    where = describe(CALDAV_PREFIX + url)
    try:
        with DAVClient(url=clean, username=urllib.parse.unquote(parts.username or "") or None,
                              password=urllib.parse.unquote(parts.password or "") or None,
                              timeout=int(max(1, timeout_s)), enable_rfc6764=False) as client:
            collection = client.calendar(url=clean)  # type: ignore[no-untyped-call]  # caldav leaves it unannotated
            merged = Calendar()
            merged.add("prodid", "-//nvr-console//CalDAV collection//EN")
            merged.add("version", "2.0")
            seen_tz: set[str] = set()
            for obj in collection.events():
                cal = Calendar.from_ical(obj.data)
                for comp in cal.subcomponents:
                    if comp.name == "VTIMEZONE":
                        tzid = str(comp.get("TZID"))
                        if tzid in seen_tz:
                            continue
                        seen_tz.add(tzid)
                    merged.add_component(comp)
            data = merged.to_ical()
    except DAVError as exc:
        raise CalendarUnreadable(f"CalDAV collection {where} cannot be read: {mask_secrets(str(exc))}; check the "
                                 "collection URL and the login") from None
    except (OSError, ValueError) as exc:
        raise CalendarUnreadable(f"cannot read CalDAV collection {where}: {mask_secrets(str(exc))}; check the "
                                 "address and the network") from None
    tag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    if tag == etag:
        return Fetched(None, etag)
    return Fetched(data, tag)
