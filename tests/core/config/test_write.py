"""The console's settings writer: validated by the config parsers, merged into the operator's own file (comments,
order and other keys kept), and loadable again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nvr_console.core.config import ConfigError, ConfigFileError, load_settings
from nvr_console.core.config.write import validate_setting, write_settings


def test_written_values_load_back_and_other_keys_stay(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[log]\nlevel = "debug"\n[upload]\nworkers = 3\n', encoding="utf-8")
    write_settings(path, {"recording.segment_length": "10m", "upload.workers": "4",
                          "recording.window": 'Mon-Sat 09:00-21:00', "recording.dir": str(tmp_path / 'r "x"')})
    s = load_settings(path)
    assert s.recording.segment_length == 600 and s.upload.workers == 4 and s.log.level == "debug"
    assert s.recording.window.text == "Mon-Sat 09:00-21:00"
    assert s.recording.dir == tmp_path / 'r "x"'
    assert "workers = 4" in path.read_text()


def test_bad_value_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError, match=r"recording.segment_length.*expected a duration"):
        write_settings(path, {"upload.workers": "2", "recording.segment_length": "forever"})
    assert not path.exists()


def test_validate_names_unknown_keys() -> None:
    with pytest.raises(ConfigError, match="known setting"):
        validate_setting("recording.nope", "1")
    assert validate_setting("recording.timezone", "Europe/Moscow") == "Europe/Moscow"


def test_odd_values_round_trip_and_a_new_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    odd = tmp_path / 'rec \\ "main"\tx'
    write_settings(path, {"database.url": "sqlite:///x.db", "recording.dir": str(odd)})
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_settings(path).recording.dir == odd


OPERATORS_FILE = """\
# nvr-console on lecture-hall-3: managed by the AV team, ask before editing
# (the NAS is mounted by systemd, see /etc/fstab)

[recording]   # what and how we record
dir = "/srv/nas/recordings"   # NAS mount
segment_length = "30m"        # half hours, like the old service
window = "Mon-Sat 09:00-21:00"

# Two uploads at a time: the uplink is shared with the lecture streams.
[upload]
workers = 2
destination = "drive"

[log]
level = "info"  # debug when the AV team asks
"""


def test_comments_layout_and_other_keys_survive_a_save(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(OPERATORS_FILE, encoding="utf-8")
    path.chmod(0o640)
    write_settings(path, {"recording.segment_length": "10m", "upload.workers": "3",
                          "recording.timezone": "Europe/Moscow", "retention.delete_after": "1h"})
    expected = OPERATORS_FILE.replace('segment_length = "30m"  ', 'segment_length = "10m"  ')  # comment kept
    expected = expected.replace('window = "Mon-Sat 09:00-21:00"\n',
                                'window = "Mon-Sat 09:00-21:00"\ntimezone = "Europe/Moscow"\n')  # in its section
    expected = expected.replace("workers = 2\n", "workers = 3\n")
    expected += '\n[retention]\ndelete_after = "1h"\n'
    assert path.read_text(encoding="utf-8") == expected  # every other byte as the operator wrote it
    assert path.stat().st_mode & 0o777 == 0o640  # the file's own mode kept
    s = load_settings(path)
    assert (s.recording.segment_length, s.upload.workers, s.recording.timezone) == (600, 3, "Europe/Moscow")
    assert s.upload.destination == "drive" and s.recording.window.text == "Mon-Sat 09:00-21:00"


def test_dotted_and_inline_sections_are_updated_where_they_are(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('recording.dir = "/r"\nupload = { workers = 2 }\n', encoding="utf-8")
    write_settings(path, {"recording.timezone": "UTC", "upload.workers": "4"})
    s = load_settings(path)
    assert (s.recording.dir, s.recording.timezone, s.upload.workers) == (Path("/r"), "UTC", 4)


def test_a_file_that_is_no_toml_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[recording\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match=f"cannot update config file {path}: .*fix or remove it first"):
        write_settings(path, {"upload.workers": "3"})
    assert path.read_text(encoding="utf-8") == "[recording\n"
    path.write_text("recording = 5\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match="'recording' is not a \\[recording\\] table"):
        write_settings(path, {"recording.timezone": "UTC"})


def test_a_linked_file_is_edited_through_the_link(tmp_path: Path) -> None:
    real = tmp_path / "shared" / "config.toml"
    real.parent.mkdir()
    real.write_text("[upload]\nworkers = 2\n", encoding="utf-8")
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    write_settings(link, {"upload.workers": "5"})
    assert link.is_symlink() and load_settings(link).upload.workers == 5


def test_a_new_key_goes_under_its_commented_out_default(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[3] / "packaging" / "config.example.toml"
    path = tmp_path / "config.toml"
    shutil.copy(example, path)
    write_settings(path, {"upload.workers": "3", "recording.segment_length": "10m"})
    expected = example.read_text().splitlines()
    expected.insert(expected.index("# workers = 2") + 1, "workers = 3")
    expected.insert(expected.index('# segment_length = "30m"') + 1, 'segment_length = "10m"')
    assert path.read_text().splitlines() == expected  # each right under its commented-out default
    assert load_settings(path).upload.workers == 3
