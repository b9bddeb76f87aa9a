"""A store of 10,000 credentials: one more write, `list`, and daemon start to first answer."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.daemon import raw_request

from credd_client import Client

from .environment import BIN, Environment
from .latency import SECRET
from .load import get_request, run_load
from .memory import resident_bytes
from .processes import time_process
from .stats import Sample, latency, median_iqr, megabytes
from .table import Row


@dataclass(frozen=True)
class _AddMany:
    """A store change adding many credentials at once (to build the store in one commit)."""

    count: int

    def apply(self, state: object) -> object:
        from credd.store.records import Credential, StoreState

        assert isinstance(state, StoreState)
        added = {
            f"host{i}.example/repo{i}": Credential(
                name=f"host{i}.example/repo{i}",
                kind="secret",
                secret=f"{SECRET}-{i}",
                username=f"user{i}",
                labels={"source": "bench"},
            )
            for i in range(self.count)
        }
        return StoreState(credentials={**state.credentials, **added})


def build_store(credd_env: dict[str, str], change: object) -> None:
    """Seal a store holding what ``change`` adds, with the daemon's own code and key policy."""
    from credd.paths import resolve_paths
    from credd.store.files import StoreFile
    from credd.store.keys import build_key_policy
    from credd.store.vault import Vault

    paths = resolve_paths(credd_env)
    keys = build_key_policy("auto", paths.key_file, paths.keyring_account, 10.0)
    vault = Vault(StoreFile(paths.store), keys)
    vault.unlock()
    vault.commit(change)  # type: ignore[arg-type]
    if vault.key_source().insecure:
        raise RuntimeError("the benchmark store fell back to the key file: no Secret Service")


def time_start(credd_env: dict[str, str], first_name: str) -> float:
    """Fork of `credd serve` to its first answer holding a secret from the store."""
    socket = Path(credd_env["CREDD_SOCKET"])
    target = "/v1/credentials/" + first_name.replace("/", "%2F")
    log = os.open(Path(credd_env["CREDD_HOME"]) / "start.log", os.O_WRONLY | os.O_CREAT, 0o600)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN / "credd"), "serve"],
        env=credd_env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    os.close(log)
    try:
        deadline = start + 60
        while True:
            try:
                status, _ = raw_request(socket, "GET", target, timeout=10)
            except OSError:
                status = 0
            if status == 200:
                return time.perf_counter() - start
            if proc.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"credd serve did not answer (exit {proc.returncode})")
            time.sleep(0.002)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def run(env: Environment) -> list[Row]:
    sizes = env.sizes
    count = sizes.credentials
    credd_env = env.credd_env()
    build_store(credd_env, _AddMany(count))
    first = "host0.example/repo0"
    starts = Sample.of([time_start(credd_env, first) for _ in range(max(3, sizes.trials // 5))])

    daemon = env.daemon(credd_env)
    writes, lists = [], []
    with Client(str(daemon.socket)) as client:
        for index in range(sizes.trials):
            start = time.perf_counter()
            client.set_secret(f"extra{index}.example", SECRET)
            writes.append(time.perf_counter() - start)
        for _ in range(sizes.trials):
            start = time.perf_counter()
            listed = client.list()
            lists.append(time.perf_counter() - start)
        assert len(listed) == count + sizes.trials
    # The daemon's part alone: the same list on one persistent raw connection, unparsed.
    answers = run_load(
        str(daemon.socket), 1, sizes.duration / 2, lambda _, __: get_request("/v1/credentials")
    )
    command = time_process([str(env.installed_client() / "credd"), "list"], credd_env, sizes.trials)
    write, listing, answer = Sample.of(writes), Sample.of(lists), Sample.of(answers.latencies)
    memory = resident_bytes(daemon.pid)
    size = Path(credd_env["CREDD_HOME"], "store.credd").stat().st_size
    label = f"{count:,} credentials ({size / 2**20:.1f} MB store)"
    return [
        Row(f"{label}: one more write", latency(write), goal="< 50 ms", met=write.p50 < 0.05),
        Row(
            f"{label}: list",
            f"client.list(): {latency(listing)}; the daemon's answer alone: {latency(answer)}",
            goal="< 100 ms",
            met=listing.p50 < 0.1,
        ),
        Row(
            f"{label}: `credd list`, whole process",
            median_iqr(command),
            goal="< 100 ms",
            met=command.p50 < 0.1,
        ),
        Row(
            f"{label}: daemon start to first answer",
            median_iqr(starts),
            goal="< 1 s",
            met=starts.p50 < 1.0,
        ),
        Row(
            f"daemon memory (RSS), {label}",
            megabytes(memory),
        ),
    ]
