import pytest

from nvr_console.core.stream_url import InvalidInput, parse_drive_folder, validate_stream_url


@pytest.mark.parametrize("url", ["rtsp://10.0.0.5/stream", "rtsps://u:p@cam.example:322/x", "srt://h:9000",
                                 "udp://@239.0.0.1:1234", "lavfi:testsrc2=size=640x360", "https://h/live.m3u8"])
def test_accepts(url: str) -> None:
    assert validate_stream_url(url) == url


@pytest.mark.parametrize(("url", "needle"), [
    ("", "empty"), ("ftp://h/x", "scheme 'ftp'"), ("rtsp:///x", "names no host"),
    ("rtsp://h:99999/x", "cannot be read"),
    ("10.0.0.5/stream", "scheme '(none)'"), ("lavfi:", "names no test source"), ("rtsp://h/a b", "spaces"),
])
def test_rejects_with_reason(url: str, needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle.replace("(", r"\(").replace(")", r"\)")):
        validate_stream_url(url)


def test_rejection_masks_password() -> None:
    with pytest.raises(InvalidInput) as err:
        validate_stream_url("ftp://admin:hunter2hunter@h/x")
    assert "hunter2hunter" not in str(err.value)


@pytest.mark.parametrize("value", ["1AbCdEfGhIjKlMnOpQ", "https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQ",
                                   "https://drive.google.com/drive/u/0/folders/1AbCdEfGhIjKlMnOpQ?usp=sharing",
                                   "https://drive.google.com/open?id=1AbCdEfGhIjKlMnOpQ"])
def test_drive_folder_forms(value: str) -> None:
    assert parse_drive_folder(value) == "1AbCdEfGhIjKlMnOpQ"


def test_drive_folder_rejects_other_links() -> None:
    with pytest.raises(InvalidInput, match="folder link"):
        parse_drive_folder("https://evil.example/folders/1AbCdEfGhIjKlMnOpQ")
