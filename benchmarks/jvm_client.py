"""The JVM client (client/jvm) in a warm JVM beside the Python client, on one daemon: a get
through one persistent connection, each timed inside its own process."""

from __future__ import annotations

import shutil
import subprocess

from credd_client import Client

from .environment import REPO, Environment
from .latency import SECRET, timed
from .stats import Sample, latency
from .table import Row, ratio

BUILD = REPO / "client" / "jvm" / "build"
METRIC = "get, JVM client in-process (warm JVM), persistent connection"
GOAL = "p50 < 500 µs"


def run(env: Environment) -> list[Row]:
    java = shutil.which("java")
    jar = BUILD / "credd-client.jar"
    if java is None or not jar.exists() or not (BUILD / "test-classes" / ".built").exists():
        return [Row.pending(METRIC, GOAL, "no java or credd-client.jar (`make jvm`)")]
    sizes = env.sizes
    credd_env = env.credd_env()
    daemon = env.daemon(credd_env)
    with Client(str(daemon.socket)) as client:
        client.set_secret("bench", SECRET)
        timed(lambda: client.get("bench"), max(10, sizes.requests // 10))  # warm-up
        python = timed(lambda: client.get("bench"), sizes.requests)
    # Warm-up: enough gets for the JIT to compile the whole path (C2 after ~10,000 calls).
    warmup = max(100, min(20_000, sizes.requests))
    classpath = f"{jar}:{BUILD / 'test-classes'}"
    args = [str(warmup), str(sizes.requests), "bench"]
    result = subprocess.run(
        [java, "-cp", classpath, "dev.credd.client.Bench", *args],
        env={**credd_env, "CREDD_SOCKET": str(daemon.socket)},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    jvm = Sample.of([int(value) / 1e9 for value in result.stdout.split()])
    return [
        Row(
            METRIC,
            latency(jvm),
            "Python client in-process: " + latency(python),
            ratio(jvm.p50, python.p50),
            GOAL,
            jvm.p50 < 500e-6,
        )
    ]
