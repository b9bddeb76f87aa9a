"""Change events: a thousand watchers on one daemon, what they cost and how fast they hear.

Each watcher is a raw `GET /v1/events` stream on its own connection, all read by one selector
loop in this process. A writer thread changes one credential (a `PUT`, acknowledged once
durable) and waits until every watcher has its event before the next change. Latency is
from sending the `PUT` to each watcher receiving the event, so it holds the durable write;
the baselines in the same run are one watcher alone and the `PUT`'s own round trip. Memory is
the daemon's RSS before, while holding the watchers, after they have gone, and after a second
round of as many (the allocator keeps what the first took; a leak would grow it).
"""

from __future__ import annotations

import json
import selectors
import socket
import threading
import time
from pathlib import Path

from credd.system.limits import raise_open_files_limit
from credd_client import Client

from .environment import Environment
from .latency import SECRET, timed
from .memory import resident_bytes
from .stats import Sample, latency, megabytes
from .table import Row, ratio

NAME = "bench/events"


def run(env: Environment) -> list[Row]:
    raise_open_files_limit()  # this process holds a thousand sockets too
    quick = env.sizes.requests < 1000
    watchers, changes = (20, 10) if quick else (1000, 100)
    daemon = env.daemon(env.credd_env())
    with Client(str(daemon.socket)) as client:
        client.set_secret(NAME, SECRET)
        gets_alone = timed(lambda: client.get(NAME), 2000 if not quick else 50)
        alone, puts = _latencies(daemon.socket, client, 1, changes)
        before = resident_bytes(daemon.pid)
        streams = _open(daemon.socket, watchers)
        holding = resident_bytes(daemon.pid)
        gets_watched = timed(lambda: client.get(NAME), 2000 if not quick else 50)
        crowd, _ = _latencies(daemon.socket, client, watchers, changes, streams)
        for sock in streams:
            sock.close()
        _wait_for_no_watchers(client)
        after = resident_bytes(daemon.pid)
        for sock in _open(daemon.socket, watchers):  # a second round: no growth, no leak
            sock.close()
        _wait_for_no_watchers(client)
        again = resident_bytes(daemon.pid)
    per_watcher = (holding - before) / watchers
    return [
        Row(
            f"event latency, {watchers} watchers (PUT sent to event received, each watcher)",
            latency(crowd),
            f"1 watcher: {latency(alone)}; the PUT's round trip: {latency(puts)}",
            ratio(crowd.p50, alone.p50),
            "p99 < 1 s",
            crowd.p99 < 1.0,
        ),
        Row(
            f"daemon RSS with {watchers} watchers open",
            f"{megabytes(holding)} ({per_watcher / 1024:.0f} KB per watcher)",
            f"before: {megabytes(before)}; after they closed: {megabytes(after)}, "
            f"after a second round: {megabytes(again)}",
            ratio(holding, before),
            "< 50 KB per watcher; no growth in round 2 (< 1 MB)",
            per_watcher < 50 * 1024 and again - after < 2**20,
        ),
        Row(
            f"get with {watchers} watchers open, persistent connection",
            latency(gets_watched),
            "no watchers: " + latency(gets_alone),
            ratio(gets_watched.p50, gets_alone.p50),
            "≤ 1.5x without watchers",
            gets_watched.p50 <= 1.5 * gets_alone.p50,
        ),
    ]


def _open(path: Path, count: int) -> list[socket.socket]:
    """``count`` streams, each past its opening heartbeat."""
    streams = []
    for _ in range(count):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(path))
        sock.sendall(b"GET /v1/events?holder=bench HTTP/1.1\r\nHost: localhost\r\n\r\n")
        streams.append(sock)
    for sock in streams:
        sock.settimeout(30)
        seen = b""
        while b": heartbeat" not in seen:
            seen += sock.recv(65536)
        sock.setblocking(False)
    return streams


def _latencies(
    path: Path,
    client: Client,
    watchers: int,
    changes: int,
    streams: list[socket.socket] | None = None,
) -> tuple[Sample, Sample]:
    """(PUT sent to event received at each watcher, the PUT's round trip)."""
    own = streams is None
    if streams is None:
        streams = _open(path, watchers)
    selector = selectors.DefaultSelector()
    for sock in streams:
        selector.register(sock, selectors.EVENT_READ)
    first = client.get(NAME).version or 1
    sent: dict[int, float] = {}
    received: list[float] = []
    put_times: list[float] = []
    heard: dict[int, int] = {}
    all_heard = threading.Event()

    def write() -> None:
        for n in range(1, changes + 1):
            all_heard.clear()
            sent[first + n] = time.perf_counter()
            client.set_secret(NAME, f"{SECRET}-{n}")
            put_times.append(time.perf_counter() - sent[first + n])
            if not all_heard.wait(30):
                raise TimeoutError("not every watcher heard the change")

    writer = threading.Thread(target=write)
    writer.start()
    deadline = time.monotonic() + 60 + changes
    while len(received) < watchers * changes and time.monotonic() < deadline:
        for key, _ in selector.select(1.0):
            chunk = key.fileobj.recv(65536)  # type: ignore[union-attr]
            now = time.perf_counter()
            for version in _versions(chunk):
                received.append(now - sent[version])
                heard[version] = heard.get(version, 0) + 1
                if heard[version] == watchers:
                    all_heard.set()
    writer.join(30)
    selector.close()
    if own:
        for sock in streams:
            sock.close()
    return Sample.of(received), Sample.of(put_times)


def _versions(chunk: bytes) -> list[int]:
    """The versions of the `changed` events in a chunk (each event arrives whole here)."""
    found = []
    for line in chunk.split(b"\n"):
        if line.startswith(b"data: "):
            found.append(int(json.loads(line[6:])["version"]))
    return found


def _wait_for_no_watchers(client: Client) -> None:
    deadline = time.monotonic() + 30
    while client.status().raw.get("watchers") and time.monotonic() < deadline:
        time.sleep(0.1)
