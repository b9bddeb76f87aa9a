"""Helpers of the adversarial suite: views made through the real CLI, a listener that counts
who knocks, and the store written directly (as a credd from before these fixes left it)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_oauth import run_daemon, start_server  # noqa: F401 - fixtures
from tests.support.cli import credd


def add_view(env: dict[str, str], name: str, *args: str) -> Path:
    result = credd(env, "view", "add", name, *args)
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path.is_socket()
    return path


def through(env: dict[str, str], view: Path) -> dict[str, str]:
    return {**env, "CREDD_SOCKET": str(view)}


class Knocks:
    """A TCP listener on 127.0.0.1 that counts the connections made to it and answers none."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.count = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/token"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def knocks() -> Iterator[Knocks]:
    listener = Knocks()
    yield listener
    listener.close()


# Writes credentials straight into the store file, through the store library, as an older
# credd (or a restored backup) left them; the daemon merges them at its next write.
_PLANT = """
import json, sys
from credd.paths import resolve_paths
from credd.store.core import PutCredential
from credd.store.files import StoreFile
from credd.store.keys import build_key_policy
from credd.store.records import credential_from_dict
from credd.store.vault import Vault
paths = resolve_paths()
keys = build_key_policy("auto", paths.key_file, paths.keyring_account)
vault = Vault(StoreFile(paths.store), keys)
vault.unlock()
for item in json.loads(sys.argv[1]):
    vault.commit(PutCredential(credential_from_dict(item)))
"""


def plant_in_store(env: dict[str, str], records: str) -> None:
    """``records``: a JSON list of credentials in their stored form."""
    done = subprocess.run(
        [sys.executable, "-c", _PLANT, records],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
