"""`credd kube NAME`, the Kubernetes exec plugin kubectl runs on every start, fork to exit,
beside `credd get NAME` in the same run: the plugin's cost over the everyday command."""

from __future__ import annotations

import json

from .environment import BIN, Environment
from .latency import SECRET
from .processes import time_process
from .stats import median_iqr
from .table import Row, ratio

EXEC_INFO = json.dumps(
    {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "spec": {}}
)


def run(env: Environment) -> list[Row]:
    trials = env.sizes.trials
    credd_env = env.credd_env()
    daemon = env.daemon(credd_env)
    from credd_client import Client

    with Client(str(daemon.socket)) as client:
        client.set_secret("bench", SECRET)
        client.put("kube:bench", {"kind": "kube", "secret": SECRET})
    credd = str(BIN / "credd")
    get = time_process([credd, "get", "bench"], credd_env, trials)
    kube_env = {**credd_env, "KUBERNETES_EXEC_INFO": EXEC_INFO}
    kube = time_process([credd, "kube", "kube:bench"], kube_env, trials)
    return [
        Row(
            "`credd kube NAME`, whole process (kubectl's exec plugin)",
            median_iqr(kube),
            f"credd get NAME: {median_iqr(get)}",
            ratio(kube.p50, get.p50),
            "≤ credd get + 5 ms",
            kube.p50 - get.p50 <= 5e-3,
        )
    ]
