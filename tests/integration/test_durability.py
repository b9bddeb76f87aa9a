"""Nothing is lost: many writers at once, and a daemon killed in the middle of a write storm."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from credd_client import Client, CreddError
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.integration

CLIENT_WRITER = """
import sys
from credd_client import Client
prefix, count = sys.argv[1], int(sys.argv[2])
with Client() as client:
    for index in range(count):
        client.set_secret(f"{prefix}/{index}", f"value {prefix} {index}")
"""

# Writes the same store file directly through the store library, as a second process
# holding the key would (a `credd` command working offline, say).
DIRECT_WRITER = """
import sys
from credd.paths import resolve_paths
from credd.store.core import PutCredential
from credd.store.files import StoreFile
from credd.store.keys import build_key_policy
from credd.store.records import Credential
from credd.store.vault import Vault
paths = resolve_paths()
keys = build_key_policy("auto", paths.key_file, paths.keyring_account)
vault = Vault(StoreFile(paths.store), keys)
vault.unlock()
for index in range(int(sys.argv[1])):
    credential = Credential(name=f"direct/{index}", kind="secret", secret=str(index))
    vault.commit(PutCredential(credential))
"""


def test_concurrent_writers_through_the_daemon_and_the_file_lose_nothing(
    daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    with Client(credd_env["CREDD_SOCKET"]) as client:
        client.set_secret("seed", "0")  # the store and its key exist before the race
    writers = [
        subprocess.Popen([sys.executable, "-c", CLIENT_WRITER, f"client{n}", "25"], env=credd_env)
        for n in range(4)
    ]
    writers.append(subprocess.Popen([sys.executable, "-c", DIRECT_WRITER, "25"], env=credd_env))
    assert [w.wait(timeout=120) for w in writers] == [0] * len(writers)
    expected = {"seed"} | {f"client{n}/{i}" for n in range(4) for i in range(25)}
    expected |= {f"direct/{i}" for i in range(25)}
    # The daemon's next write merges what the direct writer put in the file.
    with Client(credd_env["CREDD_SOCKET"]) as client:
        client.set_secret("last", "1")
        names = {c.name for c in client.list()}
    assert names == expected | {"last"}
    # A fresh daemon reads the same from disk.
    daemon.stop()
    home, sock = Path(credd_env["CREDD_HOME"]), Path(credd_env["CREDD_SOCKET"])
    with DaemonProcess(home, sock, credd_env), Client(str(sock)) as client:
        assert {c.name for c in client.list()} == expected | {"last"}
        assert client.get("client3/24").secret == "value client3 24"


def test_every_acknowledged_write_survives_sigkill(credd_env: dict[str, str]) -> None:
    home, sock = Path(credd_env["CREDD_HOME"]), Path(credd_env["CREDD_SOCKET"])
    acknowledged: list[str] = []
    stop = threading.Event()

    def storm(worker: int) -> None:
        try:
            with Client(str(sock), timeout=5) as client:
                index = 0
                while not stop.is_set():
                    name = f"w{worker}/{index}"
                    client.set_secret(name, name * 3)
                    acknowledged.append(name)
                    index += 1
        except CreddError:
            return  # the daemon died under us: expected

    daemon = DaemonProcess(home, sock, credd_env).start()
    threads = [threading.Thread(target=storm, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    while len(acknowledged) < 40:
        threading.Event().wait(0.01)
    daemon.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(acknowledged) >= 40
    with DaemonProcess(home, sock, credd_env) as restarted, Client(str(sock)) as client:
        stored = {c.name for c in client.list()}
        assert set(acknowledged) <= stored
        for name in acknowledged[-5:]:
            assert client.get(name).secret == name * 3
        assert restarted.stop() == 0
    # A write cut short by the kill leaves a temporary; the restarted daemon removed it.
    assert [p.name for p in home.iterdir() if p.name.endswith(".tmp")] == []
