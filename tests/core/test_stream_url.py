import re

import pytest

from nvr_console.core.stream_url import InvalidInput, parse_drive_folder, validate_sound_source, validate_stream_url


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


@pytest.mark.parametrize("url", [
    "lavfi:testsrc2=size=640x360:rate=25;sine=frequency=440:sample_rate=16000",  # the demo cameras
    "lavfi:testsrc=size=640x360:rate=25;sine=frequency=660:sample_rate=16000",
    "lavfi:smptehdbars=s=1280x720:r=30000/1001", "lavfi:color=c=red@0.5:s=320x240;anullsrc=r=8000",
    "lavfi:mandelbrot,scale=320:240,format=yuv420p", "lavfi:rgbtestsrc;sine,volume=0.5",
])
def test_lavfi_test_sources_are_accepted(url: str) -> None:
    assert validate_stream_url(url) == url


@pytest.mark.parametrize(("url", "needle"), [
    ("lavfi:movie=/etc/passwd", "'movie' is not an allowed video test source"),
    ("lavfi:testsrc,movie=/home/x/video.mp4", "'movie' is not an allowed filter after a test source"),
    ("lavfi:testsrc;amovie=/home/x/a.wav", "'amovie' is not an allowed audio test source"),
    ("lavfi:life=filename=/etc/shadow", "'life' is not an allowed"),
    ("lavfi:flite=textfile=/etc/shadow", "'flite' is not an allowed"),
    ("lavfi:frei0r_src=filter_name=x", "'frei0r_src' is not an allowed"),
    ("lavfi:testsrc,drawtext=textfile=/etc/passwd", "'drawtext' is not an allowed"),
    ("lavfi:testsrc=s='640x360,movie=/x'", "not a plain filter"),
    ("lavfi:testsrc=s=640x360\\,movie=/x", "not a plain filter"),
    ("lavfi:testsrc[a];[a]movie=/x", "not a plain filter"),
    ("lavfi:testsrc;sine;movie=/x", "has 3 graphs"),
    ("lavfi:testsrc;", "not a plain filter"),
    ("lavfi:sine", "'sine' is not an allowed video test source"),
    ("lavfi:MOVIE=/x", "not a plain filter"),
    ("LAVFI:movie=/x", "scheme 'lavfi'"),
    ("file:///etc/passwd", "scheme 'file'"),
    ("concat:/etc/passwd", "scheme 'concat'"),
])
def test_lavfi_that_reads_files_is_refused_in_one_line(url: str, needle: str) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_stream_url(url)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_the_command_builder_refuses_a_stored_lavfi_url_too() -> None:
    # A URL saved before the allow-list existed never reaches FFmpeg either.
    from nvr_console.core.recording.ffmpeg_command import build_record_command

    with pytest.raises(InvalidInput, match="'movie' is not an allowed"):
        build_record_command("ffmpeg", "lavfi:movie=/etc/passwd", "/tmp/out")


@pytest.mark.parametrize(("url", "needle"), [
    ("rtsp://h/\udcffx", "U+DCFF"), ("rtsp://h/x\x00y", "U+0000"), ("rtsp://h/x\x1b[2J", "U+001B"),
    ("rtsp://h/\u202egpj.4pm", "U+202E"), ("rtsp://h/a\u2028b", "U+2028"),
])
def test_urls_with_invisible_or_undecodable_characters_are_refused(url: str, needle: str) -> None:
    # Stored as given, they either broke the database write (exit 1) or hid what FFmpeg is told to open.
    with pytest.raises(InvalidInput, match=re.escape(needle)):
        validate_stream_url(url)


def test_a_sound_source_is_a_network_stream() -> None:
    # The recorder keeps only the audio of a sound source's first input; a test source has none there.
    assert validate_sound_source(" rtsp://mic/a ") == "rtsp://mic/a"
    with pytest.raises(InvalidInput, match="is a test source; a room's sound source must be a network stream"):
        validate_sound_source("lavfi:testsrc;sine")
