"""Starting and stopping `credd serve`: one daemon per socket, stale sockets, key sources."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from credd_client import socket_path
from tests.support.cli import credd
from tests.support.daemon import DaemonProcess
from tests.support.keyring_items import lookup
from tests.support.secret_service import SecretService

pytestmark = pytest.mark.integration


def serve_once(env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """`credd serve` expected to exit by itself (it refuses to start)."""
    return subprocess.run(
        [sys.executable, "-m", "credd", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_a_second_daemon_exits_and_leaves_the_first_alone(
    daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    second = serve_once(credd_env)
    assert second.returncode != 0
    assert f"another credd daemon (pid {daemon.pid})" in second.stderr
    assert daemon.returncode is None
    assert credd(credd_env, "status").returncode == 0


def test_a_stale_socket_from_a_killed_daemon_is_replaced(credd_env: dict[str, str]) -> None:
    first = DaemonProcess(Path(credd_env["CREDD_HOME"]), Path(credd_env["CREDD_SOCKET"]), credd_env)
    with first:
        credd(credd_env, "set", "kept", input="v")
        first.kill()
    assert Path(credd_env["CREDD_SOCKET"]).exists()
    second = DaemonProcess(
        Path(credd_env["CREDD_HOME"]), Path(credd_env["CREDD_SOCKET"]), credd_env
    )
    with second:
        assert credd(credd_env, "get", "kept").stdout == "v\n"
        assert "stale socket" in second.log_text()
        assert second.stop() == 0


def test_sigterm_stops_cleanly_and_removes_the_socket(
    daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    credd(credd_env, "set", "x", input="v")
    assert daemon.stop() == 0
    assert not Path(credd_env["CREDD_SOCKET"]).exists()


def test_headless_falls_back_to_a_key_file_and_says_so(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    assert "INSECURE KEY STORAGE" in headless_daemon.log_text()
    assert "no secure OS keyring is reachable" in headless_daemon.log_text()
    credd(headless_credd_env, "set", "x", input="v")
    status = json.loads(credd(headless_credd_env, "status", "--json").stdout)
    assert status["key_backend"]["name"] == "keyfile"
    assert status["key_backend"]["insecure"] is True
    assert "SecretService" in status["key_backend"]["reason"]
    human = credd(headless_credd_env, "status").stdout
    assert "WARNING: insecure key storage" in human
    key_file = Path(headless_credd_env["CREDD_HOME"]) / "store.key"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_strict_keyring_mode_refuses_to_start_headless(headless_credd_env: dict[str, str]) -> None:
    home = Path(headless_credd_env["CREDD_HOME"])
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text('key_backend = "keyring"\n')
    result = serve_once(headless_credd_env)
    assert result.returncode == 1
    assert "no secure OS keyring is reachable" in result.stderr
    assert "SecretService" in result.stderr
    assert not (home / "store.key").exists()


def test_a_bad_config_file_names_the_option(headless_credd_env: dict[str, str]) -> None:
    home = Path(headless_credd_env["CREDD_HOME"])
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text('key_backend = "plaintext"\n')
    result = serve_once(headless_credd_env)
    assert result.returncode == 1
    assert "key_backend" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_store_sealed_with_the_keyring_stays_locked_without_it(
    credd_env: dict[str, str], headless_credd_env: dict[str, str]
) -> None:
    """An SSH session with no D-Bus: locked with the reason, and no new key made."""
    with DaemonProcess(Path(credd_env["CREDD_HOME"]), Path(credd_env["CREDD_SOCKET"]), credd_env):
        credd(credd_env, "set", "x", input="v")
    headless = {
        **credd_env,
        "DBUS_SESSION_BUS_ADDRESS": headless_credd_env["DBUS_SESSION_BUS_ADDRESS"],
    }
    home = Path(credd_env["CREDD_HOME"])
    before = (home / "store.credd").read_bytes()
    with DaemonProcess(home, Path(credd_env["CREDD_SOCKET"]), headless) as daemon:
        status = json.loads(credd(headless, "status", "--json").stdout)
        assert status["locked"] is True
        assert "cannot be reached" in status["lock_reason"]
        refused = credd(headless, "set", "y", input="w")
        assert refused.returncode == 1
        assert "locked" in refused.stderr
        assert daemon.stop() == 0
    assert (home / "store.credd").read_bytes() == before
    assert not (home / "store.key").exists()


def test_two_homes_use_two_sockets_and_two_keyring_entries(
    secret_service: SecretService, credd_env: dict[str, str]
) -> None:
    root = Path(credd_env["CREDD_HOME"]).parent
    homes = []
    for name in ("one", "two"):
        env = {key: value for key, value in credd_env.items() if key != "CREDD_SOCKET"}
        env["CREDD_HOME"] = str(root / name)
        homes.append(env)
    sockets = {socket_path(env) for env in homes}
    assert len(sockets) == 2
    for env in homes:
        with DaemonProcess(Path(env["CREDD_HOME"]), Path(socket_path(env)), env):
            assert credd(env, "set", "same-name", input=env["CREDD_HOME"]).returncode == 0
    keys = {
        lookup(secret_service, "credd", f"store-key:{Path(env['CREDD_HOME']) / 'store.credd'}")
        for env in homes
    }
    assert None not in keys
    assert len(keys) == 2
    for env in homes:
        with DaemonProcess(Path(env["CREDD_HOME"]), Path(socket_path(env)), env):
            assert credd(env, "get", "same-name").stdout == env["CREDD_HOME"] + "\n"


def test_a_daemon_whose_socket_is_removed_stops(credd_env: dict[str, str]) -> None:
    home, sock = Path(credd_env["CREDD_HOME"]), Path(credd_env["CREDD_SOCKET"])
    with DaemonProcess(home, sock, credd_env) as daemon:
        assert daemon.proc is not None
        sock.unlink()  # a logout cleaner, say: nobody could reach this daemon any more
        assert daemon.proc.wait(timeout=30) == 0
        assert "was removed or replaced; stopping" in daemon.log_text()
