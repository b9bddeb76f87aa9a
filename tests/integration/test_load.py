"""Load: 64 concurrent clients for 60 seconds of mixed reads and writes.

Zero unexpected errors, every read the value last written, no file descriptor leak, and
resident memory flat after warm-up. The figures are printed (they are not timed assertions:
the machine is shared). Its wall time is about 75 s of the suite.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from credd_client import Client
from credd_client.errors import CreddError, NotFound
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.integration

CLIENTS = 64
DURATION = 60.0
WARM_UP = 10.0
SHARED = 64


def fd_count(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_64_clients_for_60_seconds(
    daemon: DaemonProcess, credd_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = credd_env["CREDD_SOCKET"]
    with Client(path) as client:
        for n in range(SHARED):
            client.set_secret(f"shared/{n}", f"value-{n}")
    fds_before = fd_count(daemon.pid)
    start = time.monotonic()
    deadline = start + DURATION
    counts = {"get": 0, "list": 0, "set": 0, "delete": 0}
    unexpected: list[str] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        rng = random.Random(index)
        own = f"own/{index}"
        expected: str | None = None
        done = dict.fromkeys(counts, 0)
        try:
            with Client(path, timeout=60.0) as client:
                while time.monotonic() < deadline:
                    roll = rng.random()
                    if roll < 0.75:
                        n = rng.randrange(SHARED)
                        assert client.get(f"shared/{n}").secret == f"value-{n}"
                        done["get"] += 1
                    elif roll < 0.85:
                        assert len(client.list()) >= SHARED
                        done["list"] += 1
                    elif roll < 0.95:
                        expected = f"{index}-{rng.random()}"
                        client.set_secret(own, expected)
                        done["set"] += 1
                        assert client.get(own).secret == expected
                    else:
                        try:
                            client.delete(own)
                        except NotFound:
                            assert expected is None
                        expected = None
                        done["delete"] += 1
                        try:
                            client.get(own)
                        except NotFound:
                            pass
                        else:
                            raise AssertionError("a deleted credential was still served")
        except (CreddError, AssertionError, OSError) as exc:
            with lock:
                unexpected.append(f"client {index}: {type(exc).__name__}: {exc}")
        with lock:
            for key, value in done.items():
                counts[key] += value

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    samples: list[tuple[float, int, int]] = []
    while any(t.is_alive() for t in threads):
        samples.append((time.monotonic() - start, rss_kib(daemon.pid), fd_count(daemon.pid)))
        time.sleep(2.0)
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start

    # Every client closed its connection: the daemon's descriptors come back down.
    settle = time.monotonic() + 15
    while fd_count(daemon.pid) > fds_before + 2 and time.monotonic() < settle:
        time.sleep(0.1)
    fds_after = fd_count(daemon.pid)
    warm = [rss for at, rss, _ in samples if at >= WARM_UP]
    total = sum(counts.values())
    report = (
        f"\nload: {CLIENTS} clients, {elapsed:.1f} s, {total} requests "
        f"({total / elapsed:.0f}/s): {counts}; unexpected errors: {len(unexpected)}\n"
        f"load: daemon fds before {fds_before}, peak {max(s[2] for s in samples)}, "
        f"after {fds_after}\n"
        f"load: daemon RSS after warm-up {warm[0] if warm else '?'} KiB, "
        f"max {max(warm) if warm else '?'} KiB, end {rss_kib(daemon.pid)} KiB\n"
    )
    with capsys.disabled():
        print(report)
    assert unexpected == [], unexpected[:5]
    assert counts["get"] > 0
    assert counts["set"] > 0
    assert fds_after <= fds_before + 2
    assert warm, "the run ended before warm-up"
    assert max(warm) - warm[0] < 32 * 1024, "resident memory kept growing after warm-up"
    audit = Path(credd_env["CREDD_HOME"])
    for file in audit.glob("audit.log*"):
        assert file.stat().st_size < 1024 * 1024 + 4096
