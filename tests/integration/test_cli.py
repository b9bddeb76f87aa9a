"""The everyday commands against a real daemon whose key is in a real Secret Service."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.support.cli import credd
from tests.support.daemon import DaemonProcess
from tests.support.keyring_items import lookup
from tests.support.secret_service import SecretService

pytestmark = pytest.mark.integration


def test_set_get_list_delete_round_trip(daemon: DaemonProcess, credd_env: dict[str, str]) -> None:
    name = "github.com/octo cat"
    result = credd(
        credd_env, "set", name, "--username", "octo", "--label", "env=prod", input="s3cret value\n"
    )
    assert result.returncode == 0, result.stderr
    assert "s3cret" not in result.stdout + result.stderr

    got = credd(credd_env, "get", name)
    assert (got.returncode, got.stdout) == (0, "s3cret value\n")

    whole = json.loads(credd(credd_env, "get", name, "--json").stdout)
    assert whole["username"] == "octo"
    assert whole["labels"] == {"env": "prod"}
    assert whole["secret"] == "s3cret value"

    listing = credd(credd_env, "list")
    assert listing.stdout.splitlines()[0].split("\t")[:3] == [name, "secret", "octo"]
    assert "s3cret" not in listing.stdout
    as_json = json.loads(credd(credd_env, "list", "--json").stdout)
    assert [c["name"] for c in as_json["credentials"]] == [name]
    assert "secret" not in as_json["credentials"][0]

    assert credd(credd_env, "delete", name).returncode == 0
    missing = credd(credd_env, "get", name)
    assert missing.returncode == 4
    assert name in missing.stderr
    assert credd(credd_env, "delete", name).returncode == 4


def test_set_drops_exactly_one_trailing_newline(
    daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    credd(credd_env, "set", "n", input="two newlines\n\n")
    assert credd(credd_env, "get", "n").stdout == "two newlines\n\n"
    credd(credd_env, "set", "n", input="none")
    assert credd(credd_env, "get", "n").stdout == "none\n"


def test_set_json_reads_a_whole_credential(
    daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    body = {"kind": "secret", "secret": "from-json", "username": "u", "labels": {"a": "b"}}
    assert credd(credd_env, "set", "j", "--json", input=json.dumps(body)).returncode == 0
    got = json.loads(credd(credd_env, "get", "j", "--json").stdout)
    assert (got["secret"], got["username"], got["labels"]) == ("from-json", "u", {"a": "b"})
    bad = credd(credd_env, "set", "j", "--json", input='{"secret": "leaky-canary"')
    assert bad.returncode == 2
    assert "leaky-canary" not in bad.stderr


def test_the_key_lives_in_the_secret_service(
    daemon: DaemonProcess, credd_env: dict[str, str], secret_service: SecretService
) -> None:
    credd(credd_env, "set", "x", input="value")
    status = json.loads(credd(credd_env, "status", "--json").stdout)
    assert status["key_backend"]["name"] == "keyring"
    assert status["key_backend"]["insecure"] is False
    assert "SecretService" in status["key_backend"]["detail"]
    assert not (Path(credd_env["CREDD_HOME"]) / "store.key").exists()
    account = f"store-key:{Path(credd_env['CREDD_HOME']) / 'store.credd'}"
    assert lookup(secret_service, "credd", account) is not None


def test_a_missing_credential_creates_no_keyring_item(
    daemon: DaemonProcess, credd_env: dict[str, str], secret_service: SecretService
) -> None:
    assert credd(credd_env, "get", "absent").returncode == 4
    assert credd(credd_env, "list").stdout == ""
    account = f"store-key:{Path(credd_env['CREDD_HOME']) / 'store.credd'}"
    assert lookup(secret_service, "credd", account) is None
    assert not (Path(credd_env["CREDD_HOME"]) / "store.credd").exists()


def test_status_reports_a_healthy_daemon(daemon: DaemonProcess, credd_env: dict[str, str]) -> None:
    credd(credd_env, "set", "one", input="1")
    text = credd(credd_env, "status")
    assert text.returncode == 0
    assert f"pid {daemon.pid}" in text.stdout
    assert "unlocked" in text.stdout
    assert "credentials: 1 (1 secret)" in text.stdout
    assert "INSECURE" not in text.stdout.upper().replace("INSECURE KEY", "")


def test_lock_and_unlock(daemon: DaemonProcess, credd_env: dict[str, str]) -> None:
    credd(credd_env, "set", "one", input="1")
    assert credd(credd_env, "lock").returncode == 0
    locked = credd(credd_env, "get", "one")
    assert locked.returncode == 1
    assert "credd unlock" in locked.stderr
    assert json.loads(credd(credd_env, "status", "--json").stdout)["locked"] is True
    assert credd(credd_env, "unlock").returncode == 0
    assert credd(credd_env, "get", "one").stdout == "1\n"


def test_no_daemon_exits_3_with_a_hint(credd_env: dict[str, str]) -> None:
    result = credd(credd_env, "get", "x")
    assert result.returncode == 3
    assert "credd serve" in result.stderr
    status = credd(credd_env, "status", "--json")
    assert (status.returncode, json.loads(status.stdout)) == (3, {"running": False})


def test_files_and_socket_are_private(daemon: DaemonProcess, credd_env: dict[str, str]) -> None:
    credd(credd_env, "set", "x", input="v")
    home = Path(credd_env["CREDD_HOME"])
    sock = Path(credd_env["CREDD_SOCKET"])
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for path in home.iterdir():
        if path.name != "daemon.log":
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
