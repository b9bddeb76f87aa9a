"""`lock_after`: the key and every plaintext leave memory after that long without requests.

`lock_after = 3`: short, yet long enough that each CLI call here comes well within it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import credd
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.integration


def status(env: dict[str, str]) -> dict[str, Any]:
    result = credd(env, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def wait_for_idle_lock(env: dict[str, str], timeout: float = 60.0) -> dict[str, Any]:
    """Poll the status (which is not a use: it never delays the lock) until it is locked."""
    deadline = time.monotonic() + timeout
    while True:
        current = status(env)
        if current["locked"]:
            return current
        assert time.monotonic() < deadline, f"not locked after {timeout} s: {current}"
        time.sleep(0.1)


def daemon_with(env: dict[str, str], config: str) -> DaemonProcess:
    home = Path(env["CREDD_HOME"])
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text(config)
    return DaemonProcess(home, Path(env["CREDD_SOCKET"]), env)


def test_an_idle_lock_unlocks_again_on_the_next_request(
    headless_credd_env: dict[str, str],
) -> None:
    env = headless_credd_env
    with daemon_with(env, "lock_after = 3\n") as daemon:
        assert credd(env, "set", "x", input="v").returncode == 0
        unlocked = status(env)
        assert unlocked["lock_after"] == 3
        assert unlocked["locks_at"] is not None
        assert "locks at" in credd(env, "status").stdout
        store = Path(env["CREDD_HOME"]) / "store.credd"
        before = store.stat().st_mtime_ns

        locked = wait_for_idle_lock(env)
        assert "lock_after" in locked["lock_reason"]
        assert locked["locks_at"] is None
        assert locked["credentials"]["total"] is None  # nothing decrypted in memory
        # Locked, the daemon writes nothing (no refresh, no re-seal): the store is as it was.
        assert store.stat().st_mtime_ns == before

        assert credd(env, "get", "x").stdout == "v\n"  # unlocked again through the key source
        assert status(env)["locked"] is False
        assert "locked after 3 s without requests" in daemon.log_text()


def test_an_idle_locked_passphrase_store_waits_for_credd_unlock(
    headless_credd_env: dict[str, str],
) -> None:
    env = headless_credd_env
    passphrase = "a long passphrase, typed"
    with daemon_with(env, 'key_backend = "passphrase"\nlock_after = 3\n'):
        assert credd(env, "unlock", input=passphrase + "\n").returncode == 0
        assert credd(env, "set", "x", input="v").returncode == 0
        locked = wait_for_idle_lock(env)
        assert "credd unlock" in locked["lock_reason"]
        refused = credd(env, "get", "x")
        assert refused.returncode == 1
        assert "credd unlock" in refused.stderr
        assert credd(env, "unlock", input=passphrase + "\n").returncode == 0
        assert credd(env, "get", "x").stdout == "v\n"
