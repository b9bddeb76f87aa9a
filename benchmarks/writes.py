"""Durable writes in a row, against one fsynced atomic replace of a same-size file."""

from __future__ import annotations

import os
import time
from pathlib import Path

from credd_client import Client

from .environment import Environment
from .latency import SECRET
from .stats import Sample, latency
from .table import Row, ratio

STORE_CREDENTIALS = 100  # the store the writes land in: a realistic personal store


def atomic_replace(path: Path, data: bytes) -> None:
    """What a durable write must do at least: temporary, fsync, rename, fsync the folder."""
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def run(env: Environment) -> list[Row]:
    count = env.sizes.writes
    credd_env = env.credd_env()
    daemon = env.daemon(credd_env)
    store = Path(credd_env["CREDD_HOME"], "store.credd")
    clock = time.perf_counter
    credd_samples, baseline_samples = [], []
    with Client(str(daemon.socket)) as client, env.folder("replace") as folder:
        for index in range(STORE_CREDENTIALS):
            client.set_secret(f"host{index}.example", SECRET, username="bench")
        client.set_secret("written", SECRET)
        target = folder / "file"
        data = os.urandom(store.stat().st_size)
        # Interleaved, so that both see the same disk: other processes' I/O comes and goes.
        for index in range(count):
            start = clock()
            client.set_secret("written", f"{SECRET}-{index % 10}")
            credd_samples.append(clock() - start)
            start = clock()
            atomic_replace(target, data)
            baseline_samples.append(clock() - start)
    credd, baseline = Sample.of(credd_samples), Sample.of(baseline_samples)
    return [
        Row(
            f"{count} durable writes in a row ({STORE_CREDENTIALS}-credential store)",
            latency(credd),
            f"fsynced atomic replace, {len(data):,} bytes (interleaved): {latency(baseline)}",
            f"p50 {ratio(credd.p50, baseline.p50)}, p99 {ratio(credd.p99, baseline.p99)}",
            "≤ 3x (p50 and p99)",
            credd.p50 <= 3 * baseline.p50 and credd.p99 <= 3 * baseline.p99,
        )
    ]
