"""The TypeScript client (client/typescript, run by Node) against the Python client: one process,
one kept-alive connection, the same daemon and credential, measured in the same run."""

from __future__ import annotations

import json
import shutil
import subprocess

from credd_client import Client

from .environment import REPO, Environment
from .latency import SECRET, timed
from .stats import Sample, latency
from .table import Row, ratio

METRIC = "get, Node client (credd-client) in-process, persistent connection"
GOAL = "p50 < 500 µs, as the Python client's"
DIST = REPO / "client" / "typescript" / "dist" / "index.js"

# Warms up (more than Python needs: V8 compiles the hot path after some hundreds of calls, as
# in a long-lived editor), then times each awaited get; prints the durations in seconds.
SCRIPT = """
const { CreddClient } = require(process.argv[1]);
const [socketPath, count] = [process.argv[2], Number(process.argv[3])];
(async () => {
  const client = new CreddClient({ socketPath });
  for (let i = 0; i < Math.max(1000, count / 10); i++) await client.get("bench");
  const samples = new Array(count);
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await client.get("bench");
    samples[i] = Number(process.hrtime.bigint() - start) / 1e9;
  }
  client.close();
  process.stdout.write(JSON.stringify(samples));
})();
"""


def run(env: Environment) -> list[Row]:
    node = shutil.which("node")
    if node is None or not DIST.exists():
        return [Row.pending(METRIC, GOAL, "needs node and the client's build (make ts-client)")]
    count = env.sizes.requests
    daemon = env.daemon(env.credd_env())
    socket = str(daemon.socket)
    with Client(socket) as client:
        client.set_secret("bench", SECRET)
        timed(lambda: client.get("bench"), max(10, count // 10))  # warm-up
        python = timed(lambda: client.get("bench"), count)
    answer = subprocess.run(
        [node, "-e", SCRIPT, str(DIST), socket, str(count)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    nodejs = Sample.of(json.loads(answer.stdout))
    return [
        Row(
            METRIC,
            latency(nodejs),
            "Python client in-process: " + latency(python),
            ratio(nodejs.p50, python.p50),
            GOAL,
            nodejs.p50 < 500e-6,
        )
    ]
