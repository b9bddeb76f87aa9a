"""The passphrase key backend, driven as a person would: on a terminal."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.cli import credd
from tests.support.daemon import DaemonProcess
from tests.support.terminal import run_on_terminal

pytestmark = pytest.mark.integration

PASSPHRASE = "a long passphrase, typed"


def program(env: dict[str, str]) -> str:
    return str(Path(env["PATH"].split(os.pathsep)[0]) / "credd")


def status(env: dict[str, str]) -> dict[str, object]:
    result = credd(env, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def passphrase_env(headless_credd_env: dict[str, str]) -> dict[str, str]:
    home = Path(headless_credd_env["CREDD_HOME"])
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text('key_backend = "passphrase"\n')
    return headless_credd_env


def test_unlock_asks_on_the_terminal_and_tells_a_wrong_passphrase(
    passphrase_env: dict[str, str],
) -> None:
    env = passphrase_env
    home = Path(env["CREDD_HOME"])
    with DaemonProcess(home, Path(env["CREDD_SOCKET"]), env) as daemon:
        first = status(env)
        assert first["locked"] is True
        assert first["key_backend"]["name"] == "passphrase"  # type: ignore[index]
        refused = credd(env, "set", "x", input="v")
        assert refused.returncode == 1
        assert "credd unlock" in refused.stderr

        # No store yet: the passphrase is chosen, typed twice.
        code, screen = run_on_terminal(
            [program(env), "unlock"],
            env,
            [("New passphrase: ", PASSPHRASE), ("Repeat it: ", PASSPHRASE)],
        )
        assert code == 0, screen
        assert "a new store is sealed with your passphrase" in screen
        assert PASSPHRASE not in screen  # no echo
        assert credd(env, "set", "x", input="v").returncode == 0

        assert credd(env, "lock").returncode == 0
        code, screen = run_on_terminal(
            [program(env), "unlock"], env, [("Passphrase for the credd store: ", "wrong!")]
        )
        assert code == 1
        assert "wrong passphrase" in screen
        assert "store" in screen
        assert status(env)["locked"] is True

        code, screen = run_on_terminal(
            [program(env), "unlock"], env, [("Passphrase for the credd store: ", PASSPHRASE)]
        )
        assert code == 0, screen
        assert credd(env, "get", "x").stdout == "v\n"
        assert daemon.stop() == 0
        assert PASSPHRASE not in daemon.log_text()

    # A new daemon starts locked; the passphrase may also come on standard input.
    with DaemonProcess(home, Path(env["CREDD_SOCKET"]), env):
        assert status(env)["locked"] is True
        assert credd(env, "unlock", input=PASSPHRASE + "\n").returncode == 0
        assert credd(env, "get", "x").stdout == "v\n"
    assert not (home / "store.key").exists()
    assert PASSPHRASE.encode() not in (home / "store.credd").read_bytes()


def test_a_mistyped_new_passphrase_changes_nothing(passphrase_env: dict[str, str]) -> None:
    env = passphrase_env
    home = Path(env["CREDD_HOME"])
    with DaemonProcess(home, Path(env["CREDD_SOCKET"]), env):
        code, screen = run_on_terminal(
            [program(env), "unlock"],
            env,
            [("New passphrase: ", PASSPHRASE), ("Repeat it: ", PASSPHRASE + "x")],
        )
        assert code == 2
        assert "differ" in screen
        assert not (home / "store.credd").exists()
        assert status(env)["locked"] is True


def test_rekey_moves_a_store_between_key_sources(headless_credd_env: dict[str, str]) -> None:
    env = headless_credd_env
    home = Path(env["CREDD_HOME"])
    with DaemonProcess(home, Path(env["CREDD_SOCKET"]), env):
        assert credd(env, "set", "kept", input="v").returncode == 0
        assert (home / "store.key").exists()
        moved = credd(env, "rekey", "--to", "passphrase", input=PASSPHRASE + "\n")
        assert moved.returncode == 0, moved.stderr
        assert "was: keyfile" in moved.stdout
        assert not (home / "store.key").exists()
        assert status(env)["key_backend"]["name"] == "passphrase"  # type: ignore[index]
        assert credd(env, "get", "kept").stdout == "v\n"
    with DaemonProcess(home, Path(env["CREDD_SOCKET"]), env):
        assert credd(env, "get", "kept").returncode == 1  # locked: a passphrase store
        assert credd(env, "unlock", input=PASSPHRASE + "\n").returncode == 0
        assert credd(env, "get", "kept").stdout == "v\n"
        back = credd(env, "rekey", "--to", "keyfile")
        assert back.returncode == 0, back.stderr
        assert (home / "store.key").exists()
    with DaemonProcess(home, Path(env["CREDD_SOCKET"]), env):
        assert credd(env, "get", "kept").stdout == "v\n"
