"""The console's settings writer: validated by the config parsers, merged, and loadable again."""

from __future__ import annotations

from pathlib import Path

import pytest

from nvr_console.core.config import ConfigError, load_settings
from nvr_console.core.config_writer import dumps, user_config_path, validate_setting, write_settings


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


def test_dumps_quotes_odd_keys_and_new_file_is_private(tmp_path: Path) -> None:
    assert 'a = "x\\ny"' in dumps({"s": {"a": "x\ny"}})
    path = tmp_path / "sub" / "config.toml"
    write_settings(path, {"database.url": "sqlite:///x.db"})
    assert path.stat().st_mode & 0o777 == 0o600


def test_user_config_path_prefers_the_users_own_file(tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    assert user_config_path((Path("/etc/nvr-console/config.toml"), mine)) == mine
    assert user_config_path((Path("/etc/nvr-console/config.toml"),)).name == "config.toml"
