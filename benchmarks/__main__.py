"""`python -m benchmarks [--quick]`: run every benchmark and print the table."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence

from . import (
    aws,
    events,
    exec_files,
    go_clients,
    importing,
    imports,
    jvm_client,
    kube,
    latency,
    node_client,
    oauth,
    processes,
    scale,
    ssh_agent,
    throughput,
    views,
    writes,
)
from .environment import Environment, Sizes
from .table import Row, render

# In table order. Each takes the run's environment and returns its rows.
BENCHMARKS: tuple[tuple[str, Callable[[Environment], list[Row]]], ...] = (
    ("client get", latency.run),
    ("JVM client get", jvm_client.run),
    ("client get from Node", node_client.run),
    ("whole processes", processes.run),
    ("Go clients", go_clients.run),
    ("throughput and memory", throughput.run),
    ("durable writes", writes.run),
    ("10,000 credentials", scale.run),
    ("credd import", importing.run),
    ("OAuth", oauth.run),
    ("views", views.run),
    ("change events", events.run),
    ("SSH agent", ssh_agent.run),
    ("credd exec files", exec_files.run),
    ("imports", imports.run),
    ("Kubernetes", kube.run),
    ("AWS", aws.run),
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run for CI")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only benchmarks whose name has NAME"
    )
    args = parser.parse_args(argv)
    sizes = Sizes.quick() if args.quick else Sizes.full()
    chosen = [
        (name, run)
        for name, run in BENCHMARKS
        if not args.only or any(part in name for part in args.only)
    ]
    rows: list[Row] = []
    with Environment(sizes) as env:
        # keyring and the store-building code in this process use the private bus too.
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = env.env["DBUS_SESSION_BUS_ADDRESS"]
        for name, run in chosen:
            started = time.monotonic()
            print(f"running: {name} ...", file=sys.stderr, flush=True)
            rows.extend(run(env))
            print(f"  done in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
