"""64 clients for 10 s: gets, then a 90/10 read/write mix, against Python's floor."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from credd_client import Client

from .environment import Environment
from .latency import SECRET
from .load import LoadResult, get_request, put_request, run_load
from .memory import resident_bytes
from .stats import Sample, megabytes, seconds
from .table import Row, ratio

GET = get_request("/v1/credentials/bench")
WRITE_BODY = json.dumps({"kind": "secret", "secret": SECRET}).encode()
IDLE_MEMORY_GOAL = 70 * 2**20
GROWTH_TOLERANCE = 2**20  # below this, growth is allocator noise, not a leak


def start_floor(env: Environment) -> str:
    socket = str(env.root / "floor.sock")
    env.child([sys.executable, "-m", "benchmarks.floor", socket], env.env)
    deadline = time.monotonic() + 30
    while not Path(socket).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the floor server did not start")
        time.sleep(0.01)
    return socket


def gets(_: int, __: int) -> bytes:
    return GET


def mixed(client: int, sequence: int) -> bytes:
    if sequence % 10 == 9:
        return put_request(f"/v1/credentials/mix%2F{client}", WRITE_BODY)
    return GET


def describe(result: LoadResult) -> str:
    sample = Sample.of(result.latencies)
    return (
        f"{result.rate:,.0f} req/s, p99 {seconds(sample.p99)}, {result.errors} errors "
        f"({result.requests:,} requests)"
    )


def run(env: Environment) -> list[Row]:
    sizes = env.sizes
    clients, duration = sizes.clients, sizes.duration
    credd_env = env.credd_env()
    daemon = env.daemon(credd_env)
    with Client(str(daemon.socket)) as client:
        client.set_secret("bench", SECRET)
    socket = str(daemon.socket)
    idle = resident_bytes(daemon.pid)

    floor = run_load(start_floor(env), clients, duration, gets)
    run_load(socket, clients, duration / 2, mixed)  # warm-up: every route, every name
    warm = resident_bytes(daemon.pid)
    credd_gets = run_load(socket, clients, duration, gets)
    credd_mixed = run_load(socket, clients, duration, mixed)
    after = resident_bytes(daemon.pid)

    def p99(result: LoadResult) -> float:
        return Sample.of(result.latencies).p99

    return [
        Row(
            f"throughput, {clients} clients, {duration:g} s of gets",
            describe(credd_gets),
            f"asyncio fixed-answer server: {describe(floor)}",
            ratio(credd_gets.rate, floor.rate),
            "≥ 0.5x the floor, 0 errors, p99 < 50 ms",
            credd_gets.rate >= floor.rate / 2 and credd_gets.errors == 0 and p99(credd_gets) < 0.05,
        ),
        Row(
            f"throughput, {clients} clients, {duration:g} s, 90% get / 10% put",
            describe(credd_mixed),
            "(same floor)",
            ratio(credd_mixed.rate, floor.rate),
            "0 errors, p99 < 50 ms",
            credd_mixed.errors == 0 and p99(credd_mixed) < 0.05,
        ),
        Row(
            "daemon memory (RSS), idle after start",
            megabytes(idle),
            goal="< 70 MB",
            met=idle < IDLE_MEMORY_GOAL,
        ),
        Row(
            "daemon memory (RSS), after the throughput runs",
            f"{megabytes(after)} ({(after - warm) / 2**20:+.1f} MB since warm-up)",
            goal="no growth after warm-up (< 1 MB)",
            met=after - warm < GROWTH_TOLERANCE,
        ),
    ]
