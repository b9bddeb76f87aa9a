"""`import credd_client` in a fresh interpreter, against `import json`."""

from __future__ import annotations

import subprocess
import sys

from .environment import Environment
from .stats import Sample, median_iqr
from .table import Row, ratio

NEW_MODULES = (
    "import sys; before = set(sys.modules); import credd_client; "
    "print('\\n'.join(sorted(set(sys.modules) - before)))"
)


def import_time(module: str, env: dict[str, str]) -> float:
    """The cumulative import time Python reports for `module`, in seconds."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    for line in result.stderr.splitlines():
        parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1e6
    raise RuntimeError(f"python -X importtime did not report {module}")


def outside_stdlib(env: dict[str, str]) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", NEW_MODULES], capture_output=True, text=True, env=env, check=True
    )
    return sorted(
        name
        for name in result.stdout.split()
        if name.partition(".")[0] not in sys.stdlib_module_names
        and name.partition(".")[0] != "credd_client"
    )


def run(env: Environment) -> list[Row]:
    base = env.env
    trials = env.sizes.trials
    import_time("credd_client", base)  # writes the bytecode caches; not counted
    client = Sample.of([import_time("credd_client", base) for _ in range(trials)])
    json = Sample.of([import_time("json", base) for _ in range(trials)])
    foreign = outside_stdlib(base)
    return [
        Row(
            "`import credd_client` (fresh interpreter)",
            median_iqr(client)
            + ("; stdlib only" if not foreign else f"; imports {', '.join(foreign)}"),
            f"import json: {median_iqr(json)}",
            ratio(client.p50, json.p50),
            "< 15 ms, nothing outside the standard library",
            client.p50 < 0.015 and not foreign,
        )
    ]
