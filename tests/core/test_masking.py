from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from nvr_console.core.masking import mask_secrets, mask_url, url_password

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
