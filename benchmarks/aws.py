"""`credd aws NAME`, whole process: what every AWS CLI or SDK start runs (credential_process),
beside `credd get NAME` in the same run. A cached STS session comes from moto's local STS."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from .environment import BIN, Environment
from .latency import SECRET
from .processes import time_process
from .stats import median_iqr
from .table import Row, ratio


def _moto(env: Environment) -> str | None:
    """moto's server on a free port, or None where moto[server] is not installed."""
    program = BIN / "moto_server"
    if not program.exists():
        return None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env.child([str(program), "-H", "127.0.0.1", "-p", str(port)], env.env)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return f"http://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)


def run(env: Environment) -> list[Row]:
    trials = env.sizes.trials
    sts = _moto(env)
    credd_env = env.credd_env()
    home = Path(credd_env["CREDD_HOME"])
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    if sts is not None:
        (home / "config.toml").write_text(f'aws_endpoint_url_sts = "{sts}"\n')
    daemon = env.daemon(credd_env)
    from credd_client import Client

    with Client(str(daemon.socket)) as client:
        client.set_secret("bench", SECRET)
        client.put(
            "aws:keys",
            {"kind": "aws", "access_key_id": "AKIABENCH", "secret": SECRET, "session": False},
        )
        if sts is not None:
            client.put("aws:session", {"kind": "aws", "access_key_id": "AKIAS", "secret": SECRET})
            client.aws_credentials("aws:session")  # the session, cached from here on
    credd = str(BIN / "credd")
    get = time_process([credd, "get", "bench"], credd_env, trials)
    keys = time_process([credd, "aws", "aws:keys"], credd_env, trials)
    rows = [
        Row(
            "`credd aws NAME`, whole process (stored keys)",
            median_iqr(keys),
            f"`credd get NAME`: {median_iqr(get)}",
            ratio(keys.p50, get.p50),
        )
    ]
    if sts is None:
        rows.append(
            Row.pending(
                "`credd aws NAME`, whole process (cached STS session)",
                "",
                "moto[server] is not installed",
            )
        )
        return rows
    session = time_process([credd, "aws", "aws:session"], credd_env, trials)
    rows.append(
        Row(
            "`credd aws NAME`, whole process (cached STS session)",
            median_iqr(session),
            f"`credd get NAME`: {median_iqr(get)}",
            ratio(session.p50, get.p50),
        )
    )
    return rows
