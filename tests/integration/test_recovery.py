"""Recovery: backup on one store, restore onto a new home with a new keyring; reset.

A wrong passphrase, a truncated or an altered backup is refused with a clear message and
leaves the store as it was (same bytes, same inode).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from credd_client import Client
from tests.conftest import _credd_env
from tests.support.cli import credd
from tests.support.daemon import DaemonProcess
from tests.support.requirements import require_program
from tests.support.secret_service import SecretService

pytestmark = pytest.mark.integration

PASSPHRASE = "tr0ub4dor & 3 horses"
CANARY = "CANARY-recovery-31f7"
SECRETS = {
    "github.com": CANARY + "-1",
    "dir/with slash": CANARY + "-2",
    "ünïcødé ✓": CANARY + "-3\nwith a newline",
}
OAUTH = {
    "kind": "oauth2",
    "secret": CANARY + "-access",
    "token_endpoint": "https://id.example.invalid/token",
    "client_id": "cli",
    "client_secret": CANARY + "-client-secret",
    "refresh_token": CANARY + "-refresh",
    "expires_at": "2030-01-01T00:00:00Z",
    "scope": "read write",
    "labels": {"team": "infra"},
    "allowed_programs": ["/usr/bin/git"],
}


def everything(socket: str) -> dict[str, dict[str, object]]:
    """Every credential with every field, the hidden ones included (as the store holds it)."""
    with Client(socket) as client:
        names = [c.name for c in client.list()]
        out = {}
        for name in names:
            if name == "oauth":
                continue  # restricted to git; compared through the backup below
            out[name] = client.get(name, include=("refresh_token", "client_secret")).to_json()
        return out


def fill(env: dict[str, str]) -> None:
    with Client(env["CREDD_SOCKET"]) as client:
        for name, value in SECRETS.items():
            client.set_secret(name, value, username="me", labels={"k": name})
        client.put("oauth", OAUTH)


def fingerprint(path: Path) -> tuple[int, bytes]:
    return path.stat().st_ino, path.read_bytes()


@pytest.fixture
def second_keyring() -> Iterator[SecretService]:
    for program in ("dbus-daemon", "gnome-keyring-daemon", "dbus-send"):
        require_program(program)
    with SecretService(password="another-machine") as service:
        yield service


def test_backup_and_restore_onto_a_new_machine(
    daemon: DaemonProcess,
    credd_env: dict[str, str],
    second_keyring: SecretService,
    short_tmp: Path,
) -> None:
    fill(credd_env)
    before = everything(credd_env["CREDD_SOCKET"])
    backup = short_tmp / "b" / "credd.backup"
    backup.parent.mkdir()
    made = credd(credd_env, "backup", str(backup), input=PASSPHRASE + "\n")
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert CANARY.encode() not in backup.read_bytes()
    assert PASSPHRASE.encode() not in backup.read_bytes()
    again = credd(credd_env, "backup", str(backup), input=PASSPHRASE + "\n")
    assert again.returncode == 2
    assert "never overwrites" in again.stderr

    # A new machine: another CREDD_HOME, another gnome-keyring on another bus.
    (short_tmp / "new").mkdir()
    new_env = _credd_env(short_tmp / "new", second_keyring.env["DBUS_SESSION_BUS_ADDRESS"])
    new_env["CREDD_HOME"] = str(short_tmp / "new" / "state")
    new_env["CREDD_SOCKET"] = str(short_tmp / "new" / "sock" / "s.sock")
    with DaemonProcess(Path(new_env["CREDD_HOME"]), Path(new_env["CREDD_SOCKET"]), new_env) as new:
        restored = credd(new_env, "restore", str(backup), input=PASSPHRASE + "\n")
        assert restored.returncode == 0, restored.stderr
        assert "restored 4 credential(s)" in restored.stdout
        assert CANARY not in restored.stdout + restored.stderr
        assert everything(new_env["CREDD_SOCKET"]) == before
        status = json.loads(credd(new_env, "status", "--json").stdout)
        assert status["key_backend"]["name"] == "keyring"
        assert status["credentials"]["total"] == 4
        # The oauth credential, restricted to git, came back whole: back up the new store
        # and open it offline.
        from credd.backup import open_backup

        with Client(new_env["CREDD_SOCKET"]) as client:
            state = open_backup(client.backup(PASSPHRASE), PASSPHRASE)
        oauth = state.credentials["oauth"]
        assert oauth.secret == OAUTH["secret"]
        assert oauth.oauth is not None
        assert oauth.oauth.refresh_token == OAUTH["refresh_token"]
        assert oauth.oauth.client_secret == OAUTH["client_secret"]
        assert oauth.allowed_programs == ("/usr/bin/git",)

        # Restoring again changes nothing; a credential changed since is kept unless asked.
        assert (
            "already there: github.com"
            in credd(new_env, "restore", str(backup), input=PASSPHRASE).stdout
        )
        credd(new_env, "set", "github.com", input="changed")
        kept = credd(new_env, "restore", str(backup), input=PASSPHRASE)
        assert "kept (differs from the backup" in kept.stdout
        assert credd(new_env, "get", "github.com").stdout == "changed\n"
        over = credd(new_env, "restore", "--overwrite", str(backup), input=PASSPHRASE)
        assert "replaced: github.com" in over.stdout
        assert credd(new_env, "get", "github.com").stdout == SECRETS["github.com"] + "\n"
        assert new.stop() == 0
    assert CANARY not in new.log_text()


def test_bad_backups_are_refused_and_change_nothing(
    daemon: DaemonProcess, credd_env: dict[str, str], short_tmp: Path
) -> None:
    fill(credd_env)
    backup = short_tmp / "good.backup"
    assert credd(credd_env, "backup", str(backup), input=PASSPHRASE).returncode == 0
    credd(credd_env, "delete", "github.com")
    store = Path(credd_env["CREDD_HOME"]) / "store.credd"
    before = fingerprint(store)
    data = backup.read_bytes()

    wrong = credd(credd_env, "restore", str(backup), input="not the passphrase")
    assert wrong.returncode == 2
    assert "wrong passphrase" in wrong.stderr

    cases = {
        "truncated": data[: len(data) // 2],
        "header-cut": data[:9],
        "tampered": data[:-20] + bytes([data[-20] ^ 1]) + data[-19:],
        "empty": b"",
        "foreign": b"PK\x03\x04 a zip file, say",
    }
    messages = {}
    for label, content in cases.items():
        bad = short_tmp / f"{label}.backup"
        bad.write_bytes(content)
        result = credd(credd_env, "restore", str(bad), input=PASSPHRASE)
        assert result.returncode == 2, (label, result.stderr)
        messages[label] = result.stderr
    assert "truncated" in messages["truncated"]
    assert "truncated" in messages["header-cut"]
    assert "damaged or was altered" in messages["tampered"]
    assert "not a credd backup" in messages["foreign"]
    assert fingerprint(store) == before
    assert credd(credd_env, "get", "github.com").returncode == 4
    missing = credd(credd_env, "restore", str(short_tmp / "nope"), input=PASSPHRASE)
    assert missing.returncode == 2
    short = credd(credd_env, "backup", str(short_tmp / "x"), input="short\n")
    assert short.returncode == 2
    assert "at least 8" in short.stderr
    assert not (short_tmp / "x").exists()


def test_reset_moves_an_unreadable_store_aside_and_restore_brings_it_back(
    credd_env: dict[str, str], short_tmp: Path
) -> None:
    home, sock = Path(credd_env["CREDD_HOME"]), Path(credd_env["CREDD_SOCKET"])
    backup = short_tmp / "b.backup"
    with DaemonProcess(home, sock, credd_env) as first:
        fill(credd_env)
        assert credd(credd_env, "backup", str(backup), input=PASSPHRASE).returncode == 0
        refused = credd(credd_env, "reset", "--yes")
        assert refused.returncode == 2
        assert "opens fine" in refused.stderr
        assert first.stop() == 0
    store = home / "store.credd"
    damaged = bytearray(store.read_bytes())
    damaged[-5] ^= 0xFF
    store.write_bytes(bytes(damaged))
    with DaemonProcess(home, sock, credd_env) as second:
        status = json.loads(credd(credd_env, "status", "--json").stdout)
        assert status["store"]["state"] == "unreadable"
        assert credd(credd_env, "set", "x", input="y").returncode == 1  # never overwritten
        assert credd(credd_env, "reset").returncode == 2  # no terminal, no --yes
        reset = credd(credd_env, "reset", "--yes")
        assert reset.returncode == 0, reset.stderr
        aside = [p for p in home.iterdir() if p.name.startswith("store.credd.unreadable-")]
        assert len(aside) == 1
        assert aside[0].read_bytes() == bytes(damaged)
        assert str(aside[0]) in reset.stdout
        assert credd(credd_env, "list").stdout == ""
        restored = credd(credd_env, "restore", str(backup), input=PASSPHRASE)
        assert restored.returncode == 0, restored.stderr
        assert credd(credd_env, "get", "github.com").stdout == SECRETS["github.com"] + "\n"
        assert second.stop() == 0


def test_reset_after_the_keyring_lost_the_key(credd_env: dict[str, str], short_tmp: Path) -> None:
    home, sock = Path(credd_env["CREDD_HOME"]), Path(credd_env["CREDD_SOCKET"])
    with DaemonProcess(home, sock, credd_env) as first:
        fill(credd_env)
        assert first.stop() == 0
    before = (home / "store.credd").read_bytes()
    clear = subprocess.run(
        [
            require_program("secret-tool"),
            "clear",
            "service",
            "credd",
            "username",
            f"store-key:{home / 'store.credd'}",
        ],
        env=credd_env,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert clear.returncode == 0, clear.stderr
    with DaemonProcess(home, sock, credd_env) as second:
        locked = credd(credd_env, "get", "github.com")
        assert locked.returncode == 1
        assert "missing from" in locked.stderr
        reset = credd(credd_env, "reset", "--yes")
        assert reset.returncode == 0, reset.stderr
        aside = next(p for p in home.iterdir() if p.name.startswith("store.credd.unreadable-"))
        assert aside.read_bytes() == before
        assert credd(credd_env, "set", "fresh", input="v").returncode == 0
        assert credd(credd_env, "get", "fresh").stdout == "v\n"
        assert second.stop() == 0
    assert os.path.exists(home / "store.credd")
