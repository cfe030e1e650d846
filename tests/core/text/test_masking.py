from urllib.parse import quote

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from nvr_console.core.text.masking import mask_calendar_url, mask_secrets, mask_url, url_password

SCHEMES = st.sampled_from(["rtsp", "rtsps", "http", "https", "srt", "mysql+pymysql", "rtmp"])
USER = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=12)
# Any password, percent-encoded as it must be inside a URL; long enough not to occur by chance elsewhere.
PASSWORD = st.text(min_size=6, max_size=30).map(lambda p: quote(p, safe=""))
HOST = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z]{2,5}){0,2}", fullmatch=True)


def test_masks_rtsp_password_keeps_user_and_host() -> None:
    assert mask_url("rtsp://admin:s3cret@10.0.0.5:554/stream") == "rtsp://admin:***@10.0.0.5:554/stream"


def test_leaves_urls_without_password_alone() -> None:
    assert mask_url("rtsp://10.0.0.5/stream") == "rtsp://10.0.0.5/stream"
    assert mask_url("lavfi:testsrc2") == "lavfi:testsrc2"


def test_masks_inside_free_text_and_query_secrets() -> None:
    text = "Error opening input rtsp://u:pw1234@cam/x: 401 and http://h/p?token=abc123&x=1"
    out = mask_secrets(text)
    assert "pw1234" not in out and "abc123" not in out
    assert "rtsp://u:***@cam/x" in out and "token=***&x=1" in out


@given(SCHEMES, USER, PASSWORD, HOST, st.integers(1, 65535), st.text(alphabet="abc/_-", max_size=15))
def test_password_never_survives_masking(scheme: str, user: str, pw: str, host: str, port: int, path: str) -> None:
    url = f"{scheme}://{user}:{pw}@{host}:{port}/{path}"
    assert url_password(url) == pw
    masked = mask_url(url)
    assert f":{pw}@" not in masked
    assert masked == f"{scheme}://{user}:***@{host}:{port}/{path}"
    # also when embedded in a log line
    line = mask_secrets(f"[rtsp @ 0x55] method DESCRIBE failed for {url}: 401 Unauthorized")
    assert f":{pw}@" not in line


@given(st.text(max_size=80))
def test_masking_is_idempotent(text: str) -> None:
    once = mask_secrets(text)
    assert mask_secrets(once) == once


# The addresses calendar services hand out, secrets in the user part, the path or the query.
GOOGLE_KEY = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
OUTLOOK_KEY = "a1b2c3d4e5f607182930a4b5c6d7e8f9012345678901234567"
ICLOUD_KEY = "MTIzNDU2Nzg5MDEyMzQ1Nj7Yx_AbCdEfGhIjKlMnOpQrStUvWxYz"


@pytest.mark.parametrize(("url", "shown", "secret"), [
    (f"https://calendar.google.com/calendar/ical/lect%40uni.edu/private-{GOOGLE_KEY}/basic.ics",
     "https://calendar.google.com/calendar/ical/lect%40uni.edu/private-***/basic.ics", GOOGLE_KEY),
    (f"https://outlook.office365.com/owa/calendar/ab12@uni.edu/{OUTLOOK_KEY}/calendar.ics",
     "https://outlook.office365.com/owa/calendar/ab12@uni.edu/***/calendar.ics", OUTLOOK_KEY),
    (f"webcal://p42-caldav.icloud.com/published/2/{ICLOUD_KEY}", "webcal://p42-caldav.icloud.com/published/2/***",
     ICLOUD_KEY),
    ("https://timetable.uni.example/export/A-101.ics?k=Zq9x7secret&week=12",
     "https://timetable.uni.example/export/A-101.ics?k=***&week=***", "Zq9x7secret"),
    ("caldav+https://nvr:Zq9-very-secret@dav.uni.example/cal/a-101/",
     "caldav+https://nvr:***@dav.uni.example/cal/a-101/", "Zq9-very-secret"),
    ("https://cloud.uni.example/remote.php/dav/public-calendars/x.ics?export",
     "https://cloud.uni.example/remote.php/dav/public-calendars/x.ics?export", None),
    ("/srv/timetables/A-101.ics", "/srv/timetables/A-101.ics", None),
])
def test_calendar_addresses_keep_what_tells_them_apart_and_lose_their_secret(url: str, shown: str,
                                                                           secret: str | None) -> None:
    assert mask_calendar_url(url) == shown
    assert mask_calendar_url(shown) == shown
    if secret:
        assert secret not in mask_calendar_url(url)


@given(HOST, st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=19,
                     max_size=60), st.sampled_from(["", "basic.ics", "calendar.ics"]))
def test_no_token_in_a_calendar_path_survives(host: str, token: str, tail: str) -> None:
    assume(not token.startswith("private-"))  # Google's, masked as private-***
    token = token + "7"  # a random token has a digit somewhere
    masked = mask_calendar_url(f"https://{host}/published/{token}/{tail}")
    assert token not in masked and masked == f"https://{host}/published/***/{tail}"
