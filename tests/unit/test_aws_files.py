"""AWS's shared files: the profiles read, and both files rewritten line by line."""

from __future__ import annotations

import pytest

from credd.cli.aws_files import (
    config_profile_name,
    config_with_process,
    credentials_without_keys,
    parse_ini,
    profile_entries,
)
from credd.cli.import_sources import SourceError

CREDENTIALS = (
    "# keys\n"
    "[default]\n"
    "aws_access_key_id = AKIADEFAULT\n"
    "aws_secret_access_key = secret-default\n"
    "region = eu-west-1\n"
    "\n"
    "[other]\n"
    "aws_access_key_id=AKIAOTHER\n"
    "aws_secret_access_key=secret-other\n"
    "aws_session_token=token-other\n"
    "; kept comment\n"
    "[untouched]\n"
    "aws_access_key_id = AKIAKEEP\n"
    "aws_secret_access_key = secret-keep\n"
)


def test_keys_leave_and_every_other_line_stays() -> None:
    assert credentials_without_keys(CREDENTIALS, {"default", "other"}) == (
        "# keys\n"
        "[default]\n"
        "region = eu-west-1\n"
        "\n"
        "; kept comment\n"
        "[untouched]\n"
        "aws_access_key_id = AKIAKEEP\n"
        "aws_secret_access_key = secret-keep\n"
    )


def test_entries_take_region_and_mfa_from_the_config() -> None:
    credentials = parse_ini(CREDENTIALS, "creds")
    config = parse_ini("[profile other]\nregion = us-west-2\nmfa_serial = arn:mfa\n", "config")
    entries = {e.name: e.body for e in profile_entries(credentials, config, "creds")}
    assert entries["aws:default"]["secret"] == "secret-default"
    assert entries["aws:default"].get("session") is None  # the daemon's default: on
    assert entries["aws:other"]["session_token"] == "token-other"
    assert entries["aws:other"]["session"] is False
    assert entries["aws:other"]["region"] == "us-west-2"
    assert entries["aws:other"]["mfa_serial"] == "arn:mfa"


def test_config_gets_credential_process_in_place_or_appended() -> None:
    config = (
        "# mine\n"
        "[default]\n"
        "region = eu-west-1\n"
        "\n"
        "[profile 'a b']\n"
        "credential_process = old command\n"
        "output = json\n"
    )
    commands = {"default": "/x/credd aws aws:default", "a b": "/x/credd aws 'aws:a b'", "c": "C"}
    assert config_with_process(config, commands) == (
        "# mine\n"
        "[default]\n"
        "region = eu-west-1\n"
        "credential_process = /x/credd aws aws:default\n"
        "\n"
        "[profile 'a b']\n"
        "credential_process = /x/credd aws 'aws:a b'\n"
        "output = json\n"
        "\n"
        "[profile c]\n"
        "credential_process = C\n"
    )


@pytest.mark.parametrize(
    ("section", "profile"),
    [
        ("default", "default"),
        ("profile dev", "dev"),
        ("profile 'a b'", "a b"),
        ('profile "x"', "x"),
        ("profile a b", None),
        ("sso-session s", None),
    ],
)
def test_config_sections_name_profiles_as_botocore_reads_them(
    section: str, profile: str | None
) -> None:
    assert config_profile_name(section) == profile


def test_errors_name_the_line_not_its_text() -> None:
    with pytest.raises(SourceError) as caught:
        parse_ini("[p]\nnot a setting secret-value\n", "creds")
    assert "line 2" in str(caught.value)
    assert "secret-value" not in str(caught.value)
