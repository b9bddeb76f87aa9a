"""Faults: a full disk, a read-only state folder, a keyring that hangs or loses the key, the
store deleted or replaced under the running daemon.

Each one: a clear error for the client, nothing lost, and the daemon goes on serving.
(The clock jumping with OAuth refreshes pending belongs to the OAuth refresher: not on main
yet.)
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from credd_client import Client
from credd_client.errors import WriteFailed
from tests.support.cli import credd
from tests.support.daemon import DaemonProcess, raw_request
from tests.support.faults import (
    SilentSecretService,
    in_namespace,
    namespaced,
    set_file_size_limit,
)
from tests.support.requirements import require_program

pytestmark = pytest.mark.integration

# The first timed-out call, or a later one refused while that call still hangs.
NO_ANSWER = re.compile("did not answer within|has not answered an earlier call")


def status_of(env: dict[str, str]) -> dict[str, object]:
    result = credd(env, "status", "--json")
    assert result.returncode == 0, result.stderr
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_a_full_disk_keeps_the_old_store_and_the_next_write_succeeds(
    daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    assert credd(credd_env, "set", "kept", input="old value").returncode == 0
    store = Path(credd_env["CREDD_HOME"]) / "store.credd"
    before = store.read_bytes()
    set_file_size_limit(daemon.pid, len(before) + 64)
    try:
        result = credd(credd_env, "set", "big", input="x" * 20000)
        assert result.returncode == 1
        assert "could not write" in result.stderr
        assert "the previous store is intact" in result.stderr
        with Client(credd_env["CREDD_SOCKET"]) as client, pytest.raises(WriteFailed):
            client.set_secret("big", "y" * 20000)
        assert store.read_bytes() == before
        assert credd(credd_env, "get", "kept").stdout == "old value\n"
        assert not list(store.parent.glob(".store.credd.*.tmp"))  # no partial file left
    finally:
        set_file_size_limit(daemon.pid, "hard")
    assert credd(credd_env, "set", "big", input="x" * 20000).returncode == 0
    assert credd(credd_env, "get", "kept").stdout == "old value\n"
    assert len(credd(credd_env, "get", "big").stdout) == 20001


def test_a_filled_tmpfs_gives_write_failed_then_recovers(credd_env: dict[str, str]) -> None:
    home, sock = Path(credd_env["CREDD_HOME"]), Path(credd_env["CREDD_SOCKET"])
    home.mkdir(mode=0o700, parents=True)
    daemon = namespaced(
        DaemonProcess(home, sock, credd_env),
        f"mount -t tmpfs -o size=256k,mode=0700 credd-test {home}",
    )
    with daemon:
        assert credd(credd_env, "set", "a", input="first").returncode == 0
        filler = str(home / "filler")
        # dd stops at the end of the space, with an error: expected.
        subprocess.run(
            [
                require_program("nsenter"),
                "--target",
                str(daemon.pid),
                "--mount",
                "dd",
                "if=/dev/zero",
                f"of={filler}",
                "bs=4k",
            ],
            capture_output=True,
            timeout=30,
            check=False,
        )
        before = in_namespace(daemon.pid, "cat", str(home / "store.credd")).stdout
        result = credd(credd_env, "set", "b", input="z" * 50000)
        assert result.returncode == 1
        assert "No space left on device" in result.stderr
        assert in_namespace(daemon.pid, "cat", str(home / "store.credd")).stdout == before
        assert credd(credd_env, "get", "a").stdout == "first\n"
        in_namespace(daemon.pid, "rm", filler)
        assert credd(credd_env, "set", "b", input="z" * 50000).returncode == 0
        assert credd(credd_env, "get", "a").stdout == "first\n"
        assert daemon.stop() == 0


def test_a_read_only_state_folder_refuses_writes_and_serves_reads(
    credd_env: dict[str, str],
) -> None:
    home, sock = Path(credd_env["CREDD_HOME"]), Path(credd_env["CREDD_SOCKET"])
    with DaemonProcess(home, sock, credd_env) as first:
        assert credd(credd_env, "set", "a", input="value").returncode == 0
        assert first.stop() == 0
    before = (home / "store.credd").read_bytes()
    # The folder is read-only from the start: the daemon must still unlock and serve.
    daemon = namespaced(
        DaemonProcess(home, sock, credd_env),
        f"mount --bind {home} {home} && mount -o remount,bind,ro {home}",
    )
    with daemon:
        assert credd(credd_env, "get", "a").stdout == "value\n"
        result = credd(credd_env, "set", "b", input="new")
        assert result.returncode == 1, result.stderr
        assert "Read-only file system" in result.stderr
        status, body = raw_request(sock, "PUT", "/v1/credentials/b", b'{"secret": "x"}')
        assert status == 507
        assert json.loads(body)["error"]["code"] == "write_failed"
        assert (home / "store.credd").read_bytes() == before
        in_namespace(daemon.pid, "mount", "-o", "remount,bind,rw", str(home))
        assert credd(credd_env, "set", "b", input="new").returncode == 0
        assert credd(credd_env, "get", "b").stdout == "new\n"
        assert daemon.stop() == 0


def test_the_state_folder_turning_read_only_while_running(credd_env: dict[str, str]) -> None:
    home, sock = Path(credd_env["CREDD_HOME"]), Path(credd_env["CREDD_SOCKET"])
    home.mkdir(mode=0o700, parents=True)
    daemon = namespaced(DaemonProcess(home, sock, credd_env), f"mount --bind {home} {home}")
    with daemon:
        assert credd(credd_env, "set", "a", input="value").returncode == 0
        # A read-only mount stacked over the folder: every new open sees a read-only file
        # system (a remount would wait for the open audit log to close).
        in_namespace(daemon.pid, "mount", "--bind", "-o", "ro", str(home), str(home))
        result = credd(credd_env, "set", "a", input="changed")
        assert result.returncode == 1
        assert "Read-only file system" in result.stderr
        assert credd(credd_env, "get", "a").stdout == "value\n"
        assert credd(credd_env, "list").returncode == 0
        in_namespace(daemon.pid, "umount", "--lazy", str(home))
        assert credd(credd_env, "set", "a", input="changed").returncode == 0
        assert daemon.stop() == 0
    assert "internal error" not in daemon.log_text()


def test_a_hanging_keyring_gives_locked_and_the_daemon_keeps_serving(
    headless_credd_env: dict[str, str], short_tmp: Path
) -> None:
    env = dict(headless_credd_env)
    home, sock = Path(env["CREDD_HOME"]), Path(env["CREDD_SOCKET"])
    home.mkdir(mode=0o700, parents=True)
    (home / "config.toml").write_text("keyring_timeout = 2\n")
    with SilentSecretService(short_tmp / "silent") as silent:
        env["DBUS_SESSION_BUS_ADDRESS"] = silent.address
        with DaemonProcess(
            home,
            sock,
            env,
        ) as daemon:
            # No store yet: the first write needs a new key, and the keyring never answers.
            started = time.monotonic()
            result = credd(env, "set", "a", input="value")
            assert result.returncode == 1
            assert "did not answer within 2 s" in result.stderr
            assert time.monotonic() - started < 60  # bounded, not hung
            # Meanwhile and afterwards the daemon answers.
            status = status_of(env)
            assert status["key_backend"]["name"] == "keyring"  # type: ignore[index]
            with Client(env["CREDD_SOCKET"]) as client:
                assert client.list() == []
            assert not (home / "store.credd").exists()
            assert daemon.stop() == 0


def test_an_existing_store_with_a_hanging_keyring_stays_locked_and_says_why(
    credd_env: dict[str, str], short_tmp: Path
) -> None:
    home, sock = Path(credd_env["CREDD_HOME"]), Path(credd_env["CREDD_SOCKET"])
    with DaemonProcess(home, sock, credd_env) as first:
        assert credd(credd_env, "set", "a", input="value").returncode == 0
        assert first.stop() == 0
    before = (home / "store.credd").read_bytes()
    (home / "config.toml").write_text("keyring_timeout = 2\n")
    env = dict(credd_env)
    with SilentSecretService(short_tmp / "silent") as silent:
        env["DBUS_SESSION_BUS_ADDRESS"] = silent.address
        with DaemonProcess(home, sock, env) as daemon:
            got = credd(env, "get", "a")
            assert got.returncode == 1
            assert "locked" in got.stderr
            assert NO_ANSWER.search(got.stderr), got.stderr
            status = status_of(env)
            assert status["locked"] is True
            assert NO_ANSWER.search(str(status["lock_reason"]))
            assert credd(env, "set", "b", input="x").returncode == 1
            assert (home / "store.credd").read_bytes() == before
            assert daemon.stop() == 0


def test_the_keyring_losing_the_key_while_running(
    daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    home = Path(credd_env["CREDD_HOME"])
    assert credd(credd_env, "set", "a", input="value").returncode == 0
    secret_tool = require_program("secret-tool")
    attributes = ["service", "credd", "username", f"store-key:{home / 'store.credd'}"]
    key = subprocess.run(
        [secret_tool, "lookup", *attributes],
        env=credd_env,
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout
    subprocess.run([secret_tool, "clear", *attributes], env=credd_env, timeout=10, check=True)
    # The key is in memory: reads and writes go on.
    assert credd(credd_env, "get", "a").stdout == "value\n"
    assert credd(credd_env, "set", "b", input="more").returncode == 0
    before = (home / "store.credd").read_bytes()
    # Once locked, the missing key is named, and no new key is made over the store.
    assert credd(credd_env, "lock").returncode == 0
    unlock = credd(credd_env, "unlock")
    assert unlock.returncode == 1
    assert "missing from" in unlock.stderr
    assert "never makes a new key" in unlock.stderr
    assert credd(credd_env, "set", "c", input="x").returncode == 1
    assert (home / "store.credd").read_bytes() == before
    # Bring the key back: everything is there.
    subprocess.run(
        [secret_tool, "store", "--label=credd store key", *attributes],
        env=credd_env,
        input=key,
        text=True,
        timeout=10,
        check=True,
    )
    assert credd(credd_env, "unlock").returncode == 0
    assert credd(credd_env, "get", "b").stdout == "more\n"


def test_the_store_deleted_under_the_daemon_is_written_again(
    daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    store = Path(credd_env["CREDD_HOME"]) / "store.credd"
    assert credd(credd_env, "set", "a", input="one").returncode == 0
    store.unlink()
    assert credd(credd_env, "get", "a").stdout == "one\n"
    assert credd(credd_env, "set", "b", input="two").returncode == 0
    assert store.exists()
    assert daemon.stop() == 0
    with DaemonProcess(daemon.home, daemon.socket, credd_env) as again:
        assert credd(credd_env, "get", "a").stdout == "one\n"
        assert credd(credd_env, "get", "b").stdout == "two\n"
        assert again.stop() == 0


@pytest.mark.parametrize("replacement", ["garbage", "another-store"])
def test_the_store_replaced_under_the_daemon_is_never_overwritten(
    daemon: DaemonProcess, credd_env: dict[str, str], replacement: str, short_tmp: Path
) -> None:
    store = Path(credd_env["CREDD_HOME"]) / "store.credd"
    assert credd(credd_env, "set", "a", input="one").returncode == 0
    if replacement == "garbage":
        foreign = b"\x00" * 100
    else:  # a real credd store, sealed by another home's key
        other_env = {
            **credd_env,
            "CREDD_HOME": str(short_tmp / "other"),
            "CREDD_SOCKET": str(short_tmp / "os" / "o.sock"),
        }
        with DaemonProcess(short_tmp / "other", short_tmp / "os" / "o.sock", other_env) as other:
            assert credd(other_env, "set", "theirs", input="x").returncode == 0
            assert other.stop() == 0
        foreign = (short_tmp / "other" / "store.credd").read_bytes()
    temporary = store.with_name("replacement")
    temporary.write_bytes(foreign)
    temporary.replace(store)
    result = credd(credd_env, "set", "b", input="two")
    assert result.returncode == 1
    assert "cannot be read" in result.stderr
    assert "will not overwrite" in result.stderr
    assert store.read_bytes() == foreign
    assert credd(credd_env, "get", "a").stdout == "one\n"  # memory still serves
    assert status_of(credd_env)["store"]["state"] == "unreadable"  # type: ignore[index]


def test_the_keyring_locked_while_running(short_tmp: Path) -> None:
    """The login collection locked (screen lock, timeout): the key in memory keeps serving;
    once credd is locked too, unlocking needs a prompt nobody answers here: `locked`, with
    the reason, within the time bound, and the daemon goes on answering."""
    from tests.conftest import _credd_env
    from tests.support.secret_service import SecretService

    with SecretService(password="locking") as keyring:
        env = _credd_env(short_tmp, keyring.env["DBUS_SESSION_BUS_ADDRESS"])
        home, sock = Path(env["CREDD_HOME"]), Path(env["CREDD_SOCKET"])
        home.mkdir(mode=0o700)
        (home / "config.toml").write_text("keyring_timeout = 3\n")
        with DaemonProcess(home, sock, env) as daemon:
            assert credd(env, "set", "a", input="value").returncode == 0
            subprocess.run(
                [
                    require_program("dbus-send"),
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.secrets",
                    "/org/freedesktop/secrets",
                    "org.freedesktop.Secret.Service.Lock",
                    "array:objpath:/org/freedesktop/secrets/collection/login",
                ],
                env={**env, **keyring.env},
                capture_output=True,
                timeout=10,
                check=True,
            )
            assert credd(env, "get", "a").stdout == "value\n"
            assert credd(env, "set", "b", input="more").returncode == 0
            before = (home / "store.credd").read_bytes()
            assert credd(env, "lock").returncode == 0
            unlock = credd(env, "unlock")
            assert unlock.returncode == 1
            assert "keyring" in unlock.stderr, unlock.stderr
            assert status_of(env)["locked"] is True
            assert (home / "store.credd").read_bytes() == before
            assert daemon.stop() == 0
