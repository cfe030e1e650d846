from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nvr_console.core.config import (
    OPTIONS,
    ConfigError,
    ConfigFileError,
    Kind,
    SettingsInputs,
    ensure_runtime_dirs,
    load_settings,
)
from nvr_console.core.config.write import write_settings


def test_defaults_are_embedded_sqlite_and_user_dirs(isolated_env: Path) -> None:
    s = load_settings(env={})
    assert s.database.url.startswith("sqlite:///") and str(isolated_env) in s.database.url
    assert s.recording.segment_length == 1800
    assert s.upload.workers == 2 and s.upload.destination == "auto"
    assert s.effective_destination() == "local"  # not signed in to Drive
    assert s.recording.window.always and s.recording.timezone == "local"
    assert all(src == "default" for _, _, src in s.display())


def test_layers_later_wins(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[recording]\nsegment_length = "10m"\ntimezone = "Europe/Moscow"\n[upload]\nworkers = 3\n')
    (tmp_path / ".env").write_text("NVR_UPLOAD_WORKERS=4\nSQLALCHEMY_DATABASE_URI=sqlite:////tmp/legacy.db\n")
    s = load_settings(cfg, env={"NVR_RECORDING_SEGMENT_LENGTH": "20s"}, cwd=tmp_path,
                      overrides={"upload.workers": "5"})
    assert s.recording.segment_length == 20  # env beats file
    assert s.recording.timezone == "Europe/Moscow"  # file
    assert s.upload.workers == 5  # flag beats .env
    assert s.database.url == "sqlite:////tmp/legacy.db"  # the original service's variable, from .env
    assert s.sources["recording.segment_length"] == "NVR_RECORDING_SEGMENT_LENGTH"
    assert s.sources["database.url"] == ".env"


def test_nvr_database_url_beats_legacy_variable() -> None:
    s = load_settings(env={"SQLALCHEMY_DATABASE_URI": "sqlite:////a.db", "NVR_DATABASE_URL": "sqlite:////b.db"})
    assert s.database.url == "sqlite:////b.db"


def test_legacy_mysql_url_gets_pymysql_driver() -> None:
    s = load_settings(env={"SQLALCHEMY_DATABASE_URI": "mysql://nvr:pw@db.example:3306/nvr"})
    assert s.database.url == "mysql+pymysql://nvr:pw@db.example:3306/nvr"
    assert "pw" not in dict((n, v) for n, v, _ in s.display())["database.url"]


def test_system_and_user_files(isolated_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    system = tmp_path / "etc.toml"
    system.write_text("[upload]\nworkers = 7\n[recording]\nsegment_length = 60\n")
    monkeypatch.setattr("nvr_console.core.config.load.SYSTEM_CONFIG", system)
    user = isolated_env / ".config" / "nvr-console" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[upload]\nworkers = 6\n")
    s = load_settings(env={})
    assert s.upload.workers == 6 and s.recording.segment_length == 60
    assert s.files == (system, user)


@pytest.mark.parametrize(
    ("env", "key", "needle"),
    [
        ({"NVR_RECORDING_SEGMENT_LENGTH": "-5"}, "recording.segment_length", "expected a duration"),
        ({"NVR_RECORDING_SEGMENT_LENGTH": "0"}, "recording.segment_length", "out of range"),
        ({"NVR_RECORDING_TIMEZONE": "Mars/Olympus"}, "recording.timezone", "IANA time zone"),
        ({"NVR_DATABASE_URL": "not a url"}, "database.url", "sqlite:///PATH"),
        ({"NVR_DATABASE_URL": "postgresql://u:pw@h/db"}, "database.url", "unsupported database"),
        ({"NVR_UPLOAD_WORKERS": "0"}, "upload.workers", "1 to 16"),
        ({"NVR_UPLOAD_CHUNK_SIZE": "1000"}, "upload.chunk_size", "256 KiB"),
        ({"NVR_UPLOAD_DESTINATION": "ftp"}, "upload.destination", "auto, drive, local, none"),
        ({"NVR_RECORDING_WINDOW": "Mon-Sat"}, "recording.window", "Mon-Sat 09:00-21:00"),
        ({"NVR_DRIVE_API_ROOT": "ftp://x"}, "drive.api_root", "http(s) URL"),
        ({"NVR_DRIVE_CREDENTIALS": "anonymous"}, "drive.credentials", "non-Google"),
    ],
)
def test_invalid_values_name_key_value_and_expectation(env: dict[str, str], key: str, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env=env)
    message = str(err.value)
    assert err.value.key == key
    assert message.startswith(f"invalid setting {key} = ")
    assert needle in message and "\n" not in message


def test_password_in_bad_database_url_is_masked() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env={"NVR_DATABASE_URL": "oracle://u:topsecret99@h/db"})
    assert "topsecret99" not in str(err.value)


def test_unknown_keys_are_refused_with_a_hint(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[recording]\nsegmnet_length = 10\n")
    with pytest.raises(ConfigFileError, match="did you mean recording.segment_length"):
        load_settings(cfg, env={})
    with pytest.raises(ConfigFileError, match="did you mean NVR_UPLOAD_WORKERS"):
        load_settings(env={"NVR_UPLOAD_WORKER": "2"})


def test_missing_or_broken_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[recording\n")
    with pytest.raises(ConfigFileError, match="not valid TOML"):
        load_settings(bad, env={})


def test_config_file_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_bytes(b'[recording]\ndir = "/srv/v\xe9deo"\n')  # Latin-1, as an old editor saves it
    with pytest.raises(ConfigFileError) as err:
        load_settings(cfg, env={})
    assert str(err.value) == (f"config file {cfg} is not UTF-8 text: byte 0xe9 at offset 25 (line 2); "
                              "save it as UTF-8")


def test_config_path_that_is_a_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as err:
        load_settings(tmp_path, env={})
    assert str(err.value) == (f"config file {tmp_path} is a folder, not a file; give the path of a TOML file "
                              f"such as {tmp_path / 'config.toml'}")


def test_relative_paths_in_file_are_relative_to_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "conf" / "c.toml"
    cfg.parent.mkdir()
    cfg.write_text('[recording]\ndir = "rec"\n')
    assert load_settings(cfg, env={}).recording.dir == tmp_path / "conf" / "rec"


def test_recordings_dir_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    s = load_settings(env={"NVR_RECORDING_DIR": str(blocker / "sub")})
    with pytest.raises(ConfigError, match=r"invalid setting recording.dir = .*cannot use folder"):
        ensure_runtime_dirs(s)
    assert not (tmp_path / "file" / "sub").exists()


def test_every_option_has_env_name_and_help() -> None:
    for o in OPTIONS:
        assert o.env == f"NVR_{o.section.upper()}_{o.key.upper()}" and o.help and o.expected


@given(st.integers(1, 86400))
def test_any_whole_second_segment_length_round_trips(seconds: int) -> None:
    for text in (str(seconds), f"{seconds}s"):
        assert load_settings(env={"NVR_RECORDING_SEGMENT_LENGTH": text}).recording.segment_length == seconds


@given(st.integers(-(10**6), 0) | st.text(alphabet="xyz!@# ", min_size=1, max_size=6))
def test_bad_segment_lengths_always_refused(value: object) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env={"NVR_RECORDING_SEGMENT_LENGTH": str(value)})
    assert "recording.segment_length" in str(err.value)


@pytest.mark.parametrize("text", ["1.5", "1.5s", "2.5s", "90.25"])
def test_segment_lengths_ffmpeg_cannot_honour_are_refused(text: str) -> None:
    # FFmpeg is given whole seconds and files are named to the second: 1.5 s used to be cut every 2 s.
    with pytest.raises(ConfigError) as err:
        load_settings(env={"NVR_RECORDING_SEGMENT_LENGTH": text})
    assert str(err.value).startswith(f"invalid setting recording.segment_length = {text!r} "
                                     "(from NVR_RECORDING_SEGMENT_LENGTH): ")
    assert "not a whole number of seconds" in str(err.value)
    assert "expected a duration in whole seconds" in str(err.value)
    assert load_settings(env={"NVR_RECORDING_SEGMENT_LENGTH": "0.5m"}).recording.segment_length == 30


def test_unknown_variable_suggests_only_a_close_name() -> None:
    with pytest.raises(ConfigFileError) as err:
        load_settings(env={"NVR_FOO_BAR": "1"})
    assert str(err.value) == ("unknown environment variable NVR_FOO_BAR; unset it, or name a setting as "
                              "NVR_SECTION_KEY (section.key; `unset NVR_FOO_BAR`, then `nvr-console config show` "
                              "lists the settings)")
    with pytest.raises(ConfigFileError, match="did you mean NVR_LOG_LEVEL"):
        load_settings(env={"NVR_LOG_LVL": "debug"})


def test_sizes_are_shown_in_iec_units_that_read_back() -> None:
    s = load_settings(env={"NVR_UPLOAD_CHUNK_SIZE": "512KiB", "NVR_RETENTION_MIN_FREE_SPACE": "5GB"})
    shown = {name: value for name, value, _ in s.display()}
    assert shown["upload.chunk_size"] == "512 KiB"
    assert shown["retention.min_free_space"] == "5GB"  # decimal GB (no whole number of GiB) is shown as written
    again = load_settings(env={"NVR_UPLOAD_CHUNK_SIZE": shown["upload.chunk_size"],
                               "NVR_RETENTION_MIN_FREE_SPACE": shown["retention.min_free_space"]})
    assert (again.upload.chunk_size, again.retention.min_free_space) == (512 * 1024, 5 * 1000**3)


def test_every_option_declares_its_kind_and_the_dialog_options_their_label() -> None:
    labelled = {o.name for o in OPTIONS if o.label}
    assert {"recording.segment_length", "database.url", "drive.credentials"} <= labelled
    assert {o.name for o in OPTIONS if o.live} == {
        "recording.segment_length", "recording.window", "recording.stall_timeout", "upload.workers",
        "retention.delete_after", "retention.min_free_space"}
    assert all(isinstance(o.kind, Kind) for o in OPTIONS)
    assert {o.name for o in OPTIONS if o.kind is Kind.SIZE} == {"upload.chunk_size", "retention.min_free_space",
                                                              "drive.daily_limit"}


# ------------------------------------------------------------------------------ inputs and reload


def _layers(tmp_path: Path, isolated_env: Path) -> tuple[Path, Path, str]:
    etc = tmp_path / "etc" / "config.toml"
    etc.parent.mkdir()
    etc.write_text('[upload]\nworkers = 7\n[recording]\nsegment_length = "1m"\n[database]\n'
                   f'url = "sqlite:///{tmp_path / "from-etc.sqlite3"}"\n')
    user = isolated_env / ".config" / "nvr-console" / "config.toml"
    flag_db = f"sqlite:///{tmp_path / 'from-flag.sqlite3'}"
    return etc, user, flag_db


def test_a_reload_reads_the_same_layers_as_the_start(tmp_path: Path, isolated_env: Path) -> None:
    etc, user, flag_db = _layers(tmp_path, isolated_env)
    user.parent.mkdir(parents=True)
    user.write_text('[log]\nlevel = "debug"\n')
    first = load_settings(overrides={"database.url": flag_db}, env={"NVR_UPLOAD_CHUNK_SIZE": "1MiB"},
                          system_config=etc)
    assert first.files == (etc, user)
    assert first.inputs.writable_file() == user  # never /etc's
    write_settings(first.inputs.writable_file(), {"recording.segment_length": "10m"})

    again = first.inputs.load()
    assert again.recording.segment_length == 600  # the user's file, just written
    assert again.upload.workers == 7 and again.sources["upload.workers"] == str(etc)  # /etc still read
    assert again.log.level == "debug"  # the rest of the user's file
    assert again.database.url == flag_db and again.sources["database.url"] == "command line"  # the flag
    assert again.upload.chunk_size == 1024**2  # the environment captured at start
    assert again.files == (etc, user) and again.inputs == first.inputs


def test_with_only_etc_the_save_goes_to_the_users_file_and_the_reload_reads_both(
    tmp_path: Path, isolated_env: Path,
) -> None:
    etc, user, flag_db = _layers(tmp_path, isolated_env)
    first = SettingsInputs.capture(overrides={"database.url": flag_db}, env={}, system_config=etc).load()
    assert first.files == (etc,) and not user.exists()
    assert first.inputs.writable_file() == user
    write_settings(first.inputs.writable_file(), {"upload.workers": "3"})
    again = first.inputs.load()
    assert again.files == (etc, user)
    assert again.upload.workers == 3 and again.recording.segment_length == 60
    assert again.database.url == flag_db


def test_with_config_flag_the_save_goes_to_that_file(tmp_path: Path) -> None:
    given = tmp_path / "given.toml"
    given.write_text("[upload]\nworkers = 2\n")
    first = load_settings(given, env={})
    assert first.inputs.writable_file() == given
    write_settings(given, {"upload.workers": "5"})
    assert first.inputs.load().upload.workers == 5 and first.inputs.load().files == (given,)
    via_env = load_settings(env={"NVR_CONFIG": str(given)})
    assert via_env.inputs.writable_file() == given and via_env.files == (given,)


def test_inputs_keep_only_our_variables(tmp_path: Path) -> None:
    inputs = SettingsInputs.capture(env={"NVR_UPLOAD_WORKERS": "3", "SQLALCHEMY_DATABASE_URI": "sqlite:///x.db",
                                         "AWS_SECRET_ACCESS_KEY": "not ours"}, cwd=tmp_path)
    assert dict(inputs.env) == {"NVR_UPLOAD_WORKERS": "3", "SQLALCHEMY_DATABASE_URI": "sqlite:///x.db"}


ACCOUNTS_TOML = """[drive]
credentials = "client.json"
token = "default-token.json"

[drive.accounts.campus2]
credentials = "/etc/nvr-console/campus2-service-account.json"
token = "tokens/campus2.json"

[drive.accounts.lab-3]
token = "lab3.json"

[drive.accounts.sa]
credentials = "/etc/nvr-console/sa.json"
"""


def test_drive_accounts_are_tables_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(ACCOUNTS_TOML)
    s = load_settings(config_path=cfg)
    assert s.drive.account_names() == ("default", "campus2", "lab-3", "sa")
    assert s.for_drive_account("sa").drive.token == tmp_path / "sa-token.json"  # service accounts need none
    assert s.drive.accounts[0].credentials == "/etc/nvr-console/campus2-service-account.json"
    assert s.drive.accounts[0].token == tmp_path / "tokens" / "campus2.json"
    assert s.for_drive_account("lab-3").drive.token == tmp_path / "lab3.json"
    assert s.for_drive_account("lab-3").drive.credentials == ""
    assert (s.drive.account, s.for_drive_account("lab-3").drive.account) == ("default", "lab-3")
    from nvr_console.core.upload.auth import DriveAuthError, load_credentials

    with pytest.raises(DriveAuthError, match="run `nvr-console drive login --account lab-3` or copy a token made "
                                             "elsewhere with `nvr-console drive import-token --account lab-3 FILE`"):
        load_credentials(s.for_drive_account("lab-3"))
    assert s.shown("drive.daily_limit") == "750GB"  # as written, and read back the same
    assert s.for_drive_account("default") == s and s.for_drive_account(None) == s
    assert s.for_drive_account("campus2").drive.root_folder == s.drive.root_folder  # the rest is shared
    with pytest.raises(KeyError, match=r"\[drive.accounts.nope\]"):
        s.for_drive_account("nope")
    shown = dict((name, value) for name, value, _src in s.display())["drive.accounts"]
    assert shown == (f"campus2: credentials /etc/nvr-console/campus2-service-account.json, token "
                     f"{tmp_path / 'tokens' / 'campus2.json'}; "
                     f"lab-3: credentials (none), token {tmp_path / 'lab3.json'}; "
                     f"sa: credentials /etc/nvr-console/sa.json, token {tmp_path / 'sa-token.json'}")
    # A single-account config is unchanged: account "default" only.
    assert load_settings(env={}).drive.account_names() == ("default",)
    # The Settings dialog's save leaves the tables as they are.
    write_settings(cfg, {"drive.credentials": str(tmp_path / "other.json")})
    again = load_settings(config_path=cfg)
    assert again.drive.accounts == s.drive.accounts and again.drive.credentials == str(tmp_path / "other.json")


@pytest.mark.parametrize(("toml", "needle"), [
    ('[drive.accounts.default]\ntoken = "x.json"', "is the account of [drive]"),
    ('[drive.accounts."bad name"]\ntoken = "x.json"', "letters, digits"),
    ('[drive.accounts.c2]\ntoken = "x.json"\ntokn = "y"', "unknown key(s) tokn"),
    ('[drive]\naccounts = "campus2"', "JSON object"),
])
def test_bad_drive_accounts_name_the_key_and_the_fix(tmp_path: Path, toml: str, needle: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError) as exc:
        load_settings(config_path=cfg)
    assert "drive.accounts" in str(exc.value) and needle in str(exc.value), str(exc.value)
