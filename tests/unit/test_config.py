"""config.toml: defaults, and errors that name the line and the option."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest

from credd.config import Config, ConfigError, load_config
from credd.paths import resolve_paths
from credd_client import _autostart
from credd_client.errors import InvalidRequest


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_a_missing_file_means_every_default(tmp_path: Path) -> None:
    config = load_config(tmp_path / "config.toml")
    assert config == Config()
    assert config.key_backend == "auto"
    assert config.lock_after is None
    assert config.autostart is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('# comment\nlog_level = "info"\n\nlock_after = -5\n', "line 4, option 'lock_after'"),
        ('key_backend = "plaintext"\n', "line 1, option 'key_backend'"),
        ("  autostart = 3\n", "line 1, option 'autostart'"),
        ('"keyring_timeout" = "soon"\n', "line 1, option 'keyring_timeout'"),
        ("lock_after = 60\nbogus = 1\n", "line 2, option 'bogus': unknown option (known: "),
        ('lock_after = 60\n[section]\nkey_backend = "x"\n', "option 'section'"),
    ],
)
def test_errors_name_the_line_and_the_option(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert expected in str(caught.value)
    assert str(tmp_path) in str(caught.value)


def test_a_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"line 2"):
        load_config(write(tmp_path, 'lock_after = 60\nkey_backend = "unterminated\n'))


def test_the_client_finds_config_and_state_where_the_daemon_does(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "c"), "XDG_DATA_HOME": str(tmp_path / "d")}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        paths = resolve_paths({})
        assert _autostart.config_file({**env}) == str(paths.config_file)
        assert _autostart.state_dir({**env}) == str(paths.state_dir)
        assert str(paths.state_dir) == platformdirs.user_data_dir("credd", appauthor=False)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key)
            else:
                os.environ[key] = value
    home = {"CREDD_HOME": str(tmp_path / "h")}
    assert _autostart.config_file(home) == str(resolve_paths(home).config_file)


def test_the_client_reads_autostart_from_the_config(tmp_path: Path) -> None:
    env = {"CREDD_HOME": str(tmp_path)}
    assert _autostart.enabled(env) is False
    write(tmp_path, "autostart = true\n")
    assert _autostart.enabled(env) is True
    assert _autostart.enabled({**env, "CREDD_AUTOSTART": "0"}) is False
    write(tmp_path, "autostart = [\n")
    with pytest.raises(InvalidRequest, match=r"config\.toml"):
        _autostart.enabled(env)
    write(tmp_path, 'autostart = "yes"\n')
    with pytest.raises(InvalidRequest, match="'autostart' must be true or false"):
        _autostart.enabled(env)
    with pytest.raises(InvalidRequest, match="CREDD_AUTOSTART"):
        _autostart.enabled({"CREDD_AUTOSTART": "maybe"})
