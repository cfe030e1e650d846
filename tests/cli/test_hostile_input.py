"""Hostile and unlucky names and URLs through `rooms add`, `cameras add` and `cameras edit` (in-process `main`).

Every input is either refused (exit 2, one line on stderr, nothing stored) or stored and then recordable: the
recorder's folder is `<recordings>/<room>/<camera>` (never outside, never one of the engine's own folders such
as `.nvr-run` or `<room>/.sound`), and the FFmpeg command built for it has exactly the options a plain camera of
the same kind gets, the URL (or each lavfi graph) as one argument after -i, the names only inside the output
path. Nothing is written anywhere else.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvr_console.cli.main import main
from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.recording.recorder import (
    RecorderConfig,
    RecorderSpec,
    build_camera_command,
    build_sound_command,
    check_folder_names,
    strftime_safe,
)
from nvr_console.core.recording.segment_names import RESERVED_PREFIX, camera_dir, run_dir, sound_dir
from nvr_console.core.stream_url import (
    LAVFI_AUDIO_SOURCES,
    LAVFI_FILTERS,
    LAVFI_VIDEO_SOURCES,
    is_lavfi,
    lavfi_graphs,
)

EXAMPLES = 100  # per command: three commands, a few hundred cases in all

NASTY_NAMES = [
    ".", "..", "...", ".nvr-run", ".sound", ".hidden", "../escape", "a/../../b", "..\\x", "/abs", "C:\\x", "a:b",
    "-i", "--url", "--", "-y", "-f", "%d%%%s", "%Y-%m-%d", "$(touch pwned)", "`id`", "a;b", "a|b", "a*b", "CON",
    "nul.mp4", "COM1", "x" * 101, "Ж" * 51, " lead", "trail ", "trail.", "rtl\u202eexe", "tab\tx", "new\nline",
    "nul\x00byte", "bad\udcffbyte", "zero\u200bwidth", "caf\u0065\u0301", "🎥 cam", "A-101", "front", "1.pid",
    "2026-11-24", "2026-11-24_09-30-00.mkv", "'quoted'", '"dq"', "a" * 100,
]
VIDEO = sorted(LAVFI_VIDEO_SOURCES)
AUDIO = sorted(LAVFI_AUDIO_SOURCES)
DANGEROUS = ["movie", "amovie", "flite", "life", "cellauto", "frei0r_src", "drawtext", "sendcmd", "zmq", "ladspa",
             "openclsrc", "aevalsrc"]
FILTER_NAMES = sorted({*VIDEO, *AUDIO, *LAVFI_FILTERS, *DANGEROUS})
NASTY_URLS = [
    "lavfi:movie=/etc/passwd", "lavfi:testsrc,movie=/etc/passwd", "lavfi:testsrc;amovie=/etc/passwd",
    "lavfi:testsrc=s='1x1,movie=/etc/passwd'", "lavfi:testsrc[out0];movie=/etc/passwd[out1]",
    "lavfi:testsrc2=size=640x360:rate=25;sine=frequency=440:sample_rate=16000", "lavfi:smptebars", "lavfi:",
    "file:///etc/passwd", "/etc/passwd", "-i", "-y", "--", "concat:/etc/passwd|/etc/hosts",
    "subfile,,start,0,end,10,,:/etc/passwd", "rtsp://h/x -y /tmp/pwn.mkv", "rtsp://h/x\n-y", "rtsp://h/x\x00y",
    "rtsp://u:p@h:554/a?b=c&d=e", "rtsp://admin:p@ss:w0rd@10.0.0.5/s", "http://h/live.m3u8", "udp://@239.0.0.1:1234",
    "srt://h:9000?passphrase=secret", "RTSP://H/X", "rtsp://h:0/x", "rtsp://h:99999/x", "rtsp:///x", "rtsp://h/\udcff",
    "rtsp://h/\u202egpj", "http://[::1]:8554/x", "rtmp://h/live/key", "data:text/plain,hi", "pipe:0", "tcp://h:1",
]


def lavfi_url(chains: list[list[tuple[str, str]]]) -> str:
    return "lavfi:" + ";".join(",".join(f + (f"={o}" if o else "") for f, o in chain) for chain in chains)


options = st.text(alphabet="abcsxyz0123456789=:,;'\\[]/. -_@#*()%$\"\n", max_size=16)
lavfi_urls = st.lists(
    st.lists(st.tuples(st.sampled_from(FILTER_NAMES), options), min_size=1, max_size=3), min_size=1, max_size=3
).map(lavfi_url)
# Mostly plain, sometimes allowed sources with plain options: refused and accepted ones both get exercised.
good_lavfi = st.tuples(st.sampled_from(VIDEO), st.sampled_from(["", "size=320x240", "rate=25:size=64x64", "c=red"]),
                       st.sampled_from(["", *AUDIO])).map(
    lambda t: f"lavfi:{t[0]}{'=' + t[1] if t[1] else ''}{';' + t[2] if t[2] else ''}")
host = st.one_of(st.sampled_from(["10.0.0.5", "cam.example", "[::1]", "", "h"]), st.text(max_size=12))
network_urls = st.builds(
    lambda scheme, user, pw, h, port, path: f"{scheme}://{user}{':' + pw if pw else ''}{'@' if user else ''}{h}"
                                            f"{port}/{path}",
    st.sampled_from(["rtsp", "rtsps", "http", "https", "udp", "srt", "rtmp", "RTSP", "file", "ftp", "concat",
                     "lavfi", "data", "pipe"]),
    st.one_of(st.just(""), st.text(max_size=8)), st.one_of(st.just(""), st.text(max_size=10)), host,
    st.sampled_from(["", ":554", ":0", ":99999", ":x"]), st.text(max_size=20),
)
# Plausible ones, with the characters a shell, FFmpeg or a path would care about: most are accepted.
url_chars = st.text(alphabet="abcXYZ019-_.~%!$&'()*+,;=:@/?#[]", min_size=1, max_size=24)
plausible_urls = st.builds(lambda scheme, user, h, rest: f"{scheme}://{user}{h}/{rest}",
                           st.sampled_from(["rtsp", "rtsps", "http", "https", "udp", "srt", "rtmp"]),
                           st.sampled_from(["", "admin:secret@", "u:p%40ss@", "-i:-y@"]),
                           st.sampled_from(["10.0.0.5", "cam.example:554", "[::1]:8554", "h"]), url_chars)
urls = st.one_of(st.sampled_from(NASTY_URLS), lavfi_urls, network_urls, st.text(max_size=40),
                 good_lavfi, good_lavfi, plausible_urls, plausible_urls, plausible_urls)
name_chars = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))
names = st.one_of(st.sampled_from(NASTY_NAMES), st.text(max_size=30), st.text(alphabet="./\\-%:", max_size=6),
                  st.text(alphabet=name_chars, min_size=1, max_size=24),
                  st.text(alphabet="abcXYZ019 -_.%$;'()[]{}!@#^&+=,~`", min_size=1, max_size=24))


@dataclass
class World:
    base: Path
    root: Path  # the recordings folder
    url: str  # the database
    db: Database
    cfg: RecorderConfig

    def snapshot(self) -> set[Path]:
        return {p for p in self.base.rglob("*")}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    base = tmp_path / "world"
    root = base / "recordings"
    url = f"sqlite:///{(base / 'data' / 'nvr.sqlite3').as_posix()}"
    db = Database(url)
    prepare_database(db)
    cfg = RecorderConfig("ffmpeg", 1800, "local", 20.0, 10.0, run_dir(root), base / "log")
    yield World(base, root, url, db, cfg)
    db.dispose()


def cli(capsys: pytest.CaptureFixture[str], world: World, command: str, action: str, *argv: str) -> int:
    capsys.readouterr()  # only this command's output
    code = main([command, action, f"--database-url={world.url}", *argv])
    out, err = capsys.readouterr()
    if code == 0:
        assert err == "", err
    else:
        assert code == 2, err  # never "1 anything else": no input may crash a command
        lines = err.splitlines()
        assert out == "" and len(lines) == 1 and lines[0].startswith("nvr-console: error: "), err
    return code


def reference_url(url: str) -> str:
    """A plain URL of the same kind: its FFmpeg command must have the same options."""
    if is_lavfi(url):
        return "lavfi:testsrc" + (";sine" if lavfi_graphs(url)[1] else "")
    return f"{urlsplit(url).scheme}://ref.invalid/x"


SEGMENTS = "%Y-%m-%d_%H-%M-%S.mkv"


def shape(argv: list[str]) -> list[str]:
    """The command with its inputs and its segments' output replaced by placeholders: the options that remain
    (a camera's command ends with a second output, the parameter-set watch's `-f null -`)."""
    return ["<input>" if i > 0 and argv[i - 1] == "-i" else "<output>" if a.endswith(SEGMENTS) else a
            for i, a in enumerate(argv)]


def assert_records_inside(world: World, spec: RecorderSpec) -> None:
    check_folder_names(spec)  # stored and accepted: the recorder must be able to use it
    out = spec.output_dir
    rel = out.relative_to(world.root)
    assert len(rel.parts) == 2 and os.path.normpath(out) == str(out), rel  # <room>/<camera> or <room>/.sound
    assert not rel.parts[0].startswith(RESERVED_PREFIX) and not out.is_relative_to(run_dir(world.root))
    if spec.sound_only:
        assert out == sound_dir(world.root, spec.room)
    else:
        assert not rel.parts[1].startswith(RESERVED_PREFIX) and out != sound_dir(world.root, spec.room)
    build = build_sound_command if spec.sound_only else build_camera_command
    argv = build(world.cfg, spec)
    ref = build(world.cfg, replace(spec, room="R", name="C", url=reference_url(spec.url),
                                   output_dir=world.root / "R" / "C"))
    assert shape(argv) == shape(ref)
    inputs = [argv[i + 1] for i, a in enumerate(argv) if a == "-i"]
    if is_lavfi(spec.url):
        assert inputs == [g for g in lavfi_graphs(spec.url) if g]
    else:
        assert inputs == [spec.url]
    assert [a for a in argv if a.endswith(SEGMENTS)] == [str(strftime_safe(out) / SEGMENTS)]
    out.mkdir(parents=True, exist_ok=True)  # what the recorder does first


def assert_wrote_only_inside(world: World, before: set[Path]) -> None:
    data = world.base / "data"
    for path in world.snapshot() - before:
        assert path.is_relative_to(world.root) or path.parent == data, path


def camera_spec(world: World, room: str, name: str, url: str) -> RecorderSpec:
    return RecorderSpec("camera:1", 1, 1, room, name, url, "tcp", camera_dir(world.root, room, name))


hypothesis_settings = settings(max_examples=EXAMPLES, deadline=None, database=None,
                               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@hypothesis_settings
@given(name=names, sound=st.one_of(st.none(), urls))
def test_rooms_add(capsys: pytest.CaptureFixture[str], world: World, name: str, sound: str | None) -> None:
    before = world.snapshot()
    code = cli(capsys, world, "rooms", "add", *([f"--sound-source={sound}"] if sound is not None else []), "--", name)
    rooms = catalog.list_rooms(world.db)
    if code == 2:
        assert rooms == []
    else:
        [room] = rooms
        assert room.name == name.strip()
        if room.sound_source_url:
            assert_records_inside(world, RecorderSpec("sound:1", None, 1, room.name, "sound source",
                                                      room.sound_source_url, "tcp", sound_dir(world.root, room.name),
                                                      sound_only=True))
        catalog.remove_room(world.db, room.name, with_cameras=True)
    assert_wrote_only_inside(world, before)


@hypothesis_settings
@given(name=names, url=urls)
def test_cameras_add(capsys: pytest.CaptureFixture[str], world: World, name: str, url: str) -> None:
    if not catalog.list_rooms(world.db):
        catalog.add_room(world.db, "A-101")
    before = world.snapshot()
    code = cli(capsys, world, "cameras", "add", "--room=A-101", f"--name={name}", f"--url={url}")
    cams = catalog.list_cameras(world.db)
    if code == 2:
        assert cams == []
    else:
        [cam] = cams
        assert (cam.name, cam.stream_url) == (name.strip(), url.strip())
        assert_records_inside(world, camera_spec(world, cam.room, cam.name, cam.stream_url))
        catalog.remove_camera(world.db, cam.room, cam.name)
    assert_wrote_only_inside(world, before)


@hypothesis_settings
@given(new_name=st.one_of(st.none(), names), url=st.one_of(st.none(), urls))
def test_cameras_edit(capsys: pytest.CaptureFixture[str], world: World, new_name: str | None,
                      url: str | None) -> None:
    if not catalog.list_cameras(world.db):
        catalog.add_room(world.db, "A-101")
        catalog.add_camera(world.db, "A-101", "front", "rtsp://10.0.0.5/s")
    before = world.snapshot()
    args = [*([f"--rename={new_name}"] if new_name is not None else []), *([f"--url={url}"] if url is not None else [])]
    code = cli(capsys, world, "cameras", "edit", "--room=A-101", "--name=front", *args)
    [cam] = catalog.list_cameras(world.db)
    if code == 2:
        assert (cam.name, cam.stream_url) == ("front", "rtsp://10.0.0.5/s")  # nothing half-changed
    else:
        assert cam.name == (new_name.strip() if new_name is not None else "front")
        assert cam.stream_url == (url.strip() if url is not None else "rtsp://10.0.0.5/s")
        assert_records_inside(world, camera_spec(world, cam.room, cam.name, cam.stream_url))
        catalog.edit_camera(world.db, "A-101", cam.name, new_name="front", url="rtsp://10.0.0.5/s")
    assert_wrote_only_inside(world, before)


ACCEPTED_NAMES = ["-i", "--url", "--", "-y", "-f", "%d%%%s", "%Y-%m-%d", "$(touch pwned)", "`id`", "a;b", " lead",
                  "trail ", "caf\u0065\u0301", "🎥 cam", "A-101", "front", "1.pid", "2026-11-24",
                  "2026-11-24_09-30-00.mkv", "'quoted'", "a" * 100]
ACCEPTED_URLS = ["lavfi:testsrc2=size=640x360:rate=25;sine=frequency=440:sample_rate=16000", "lavfi:smptebars",
                 "rtsp://u:p@h:554/a?b=c&d=e", "rtsp://admin:p@ss:w0rd@10.0.0.5/s", "http://h/live.m3u8",
                 "udp://@239.0.0.1:1234", "srt://h:9000?passphrase=secret", "RTSP://H/X", "http://[::1]:8554/x",
                 "rtmp://h/live/key"]


def test_the_hand_picked_inputs_are_all_tried(capsys: pytest.CaptureFixture[str], world: World) -> None:
    """Each hand-picked input once, whatever the random draw; those accepted are odd but harmless, and record."""
    catalog.add_room(world.db, "A-101")
    before = world.snapshot()
    accepted: dict[str, list[str]] = {"names": [], "urls": []}
    for kind, values in (("names", NASTY_NAMES), ("urls", NASTY_URLS)):
        for value in values:
            name, url = (value, "rtsp://h/x") if kind == "names" else ("c", value)
            if cli(capsys, world, "cameras", "add", "--room=A-101", f"--name={name}", f"--url={url}") == 0:
                accepted[kind].append(value)
            for cam in catalog.list_cameras(world.db):
                assert_records_inside(world, camera_spec(world, cam.room, cam.name, cam.stream_url))
                catalog.remove_camera(world.db, cam.room, cam.name)
    assert accepted == {"names": ACCEPTED_NAMES, "urls": ACCEPTED_URLS}
    assert_wrote_only_inside(world, before)
