"""A keyring that answers but cannot be used, with the real gnome-keyring: no login
collection in a session no one unlocked (creating one asks a prompt no one can answer), and
a login collection locked over D-Bus. The error the CLI prints and `credd status` name the
ways out: unlock the keyring, or key_backend = "passphrase" or "keyfile" in config.toml."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _credd_env
from tests.support.cli import credd
from tests.support.daemon import DaemonProcess
from tests.support.requirements import require_program
from tests.support.secret_service import SecretService

pytestmark = pytest.mark.integration


@pytest.fixture
def never_unlocked() -> Iterator[SecretService]:
    for program in ("dbus-daemon", "gnome-keyring-daemon", "dbus-send"):
        require_program(program)
    with SecretService(unlock=False) as service:
        yield service


@pytest.fixture
def own_keyring() -> Iterator[SecretService]:
    """An unlocked one of this test's own, as the session-wide one must stay unlocked."""
    for program in ("dbus-daemon", "gnome-keyring-daemon", "dbus-send"):
        require_program(program)
    with SecretService() as service:
        yield service


def test_no_login_collection_and_no_one_to_answer_the_prompt(
    never_unlocked: SecretService, short_tmp: Path
) -> None:
    env = _credd_env(short_tmp, never_unlocked.env["DBUS_SESSION_BUS_ADDRESS"])
    config = Path(env["CREDD_HOME"]) / "config.toml"
    with DaemonProcess(Path(env["CREDD_HOME"]), Path(env["CREDD_SOCKET"]), env):
        failed = credd(env, "set", "first", input="value")
        assert failed.returncode == 1
        error = failed.stderr
        assert "Prompt dismissed" in error
        assert "unlock the keyring" in error
        assert 'key_backend = "passphrase"' in error
        assert 'key_backend = "keyfile"' in error
        assert str(config) in error
        assert "value" not in error

        status = credd(env, "status")
        assert status.returncode == 0, status.stderr
        assert "PROBLEM: the keyring failed to look for an existing key" in status.stdout
        assert 'key_backend = "passphrase"' in status.stdout
        as_json = json.loads(credd(env, "status", "--json").stdout)
        assert "unlock the keyring" in as_json["key_backend"]["reason"]
        assert as_json["key_backend"]["insecure"] is False

    # The way out taken: a passphrase in config.toml, and the same command works.
    config.write_text('key_backend = "passphrase"\n')
    with DaemonProcess(Path(env["CREDD_HOME"]), Path(env["CREDD_SOCKET"]), env):
        assert credd(env, "unlock", input="a long passphrase\n").returncode == 0
        assert credd(env, "set", "first", input="value").returncode == 0
        assert credd(env, "get", "first").stdout == "value\n"
        assert "PROBLEM" not in credd(env, "status").stdout


def test_a_locked_login_collection_names_the_ways_out(
    own_keyring: SecretService, short_tmp: Path
) -> None:
    env = _credd_env(short_tmp, own_keyring.env["DBUS_SESSION_BUS_ADDRESS"])
    with DaemonProcess(Path(env["CREDD_HOME"]), Path(env["CREDD_SOCKET"]), env):
        assert credd(env, "set", "first", input="value").returncode == 0
        assert credd(env, "lock").returncode == 0
        own_keyring.lock_login()
        failed = credd(env, "unlock")
        assert failed.returncode == 1
        assert "the keyring failed to read the store key" in failed.stderr
        assert "unlock the keyring" in failed.stderr
        assert "then run `credd unlock`" in failed.stderr
        assert "credd rekey" in failed.stderr
        status = credd(env, "status")
        assert "unlock the keyring" in status.stdout
        assert status.stdout.count("Ways out") == 1
