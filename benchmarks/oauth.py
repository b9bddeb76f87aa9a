"""OAuth credentials all expiring within one minute: refreshed in time, bounded, gets fast.

The credentials are created through the API, every one due within the minute (after the
refresh margin), with a local token endpoint (benchmarks/token_endpoint.py) that
answers each refresh after a delay and counts how many were in flight at once. Meanwhile
this process keeps asking for the credentials' tokens and times each get.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from credd_client import Client

from .environment import REPO, Environment
from .stats import Sample, latency
from .table import Row

MAX_IN_FLIGHT = 8  # written to config.toml as max_concurrent_refreshes
MARGIN = 60  # refresh_margin in config.toml: refreshes start 60 to 90 s before expiry
ENDPOINT_DELAY = 0.05  # seconds each refresh takes at the token endpoint
FIRST_EXPIRY = 62.0  # seconds from now: just past the default 60 s margin
GET_PAUSE = 0.002
GOAL = "all refreshed before expiry, ≤ configured in flight, gets p99 < 10 ms meanwhile"


def put_all(socket: str, url: str, expiries: tuple[datetime, ...]) -> None:
    """Create the credentials through the API (as `credd set --json` would), 16 at a time."""
    local = threading.local()

    def put(index: int) -> None:
        if not hasattr(local, "client"):
            local.client = Client(socket)
        local.client.put(
            f"oauth{index}",
            {
                "kind": "oauth2",
                "secret": f"initial-access-{index}",
                "token_endpoint": url,
                "client_id": "bench",
                "token_endpoint_auth_method": "none",
                "refresh_token": f"rt-{index}",
                "expires_at": expiries[index].isoformat(),
            },
        )

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(len(expiries))))


def start_endpoint(env: Environment) -> int:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.token_endpoint", str(ENDPOINT_DELAY)],
        env=env.env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    env.adopt(proc)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    proc.stdout.close()
    return port


def stats(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as answer:
        document: dict[str, object] = json.load(answer)
    return document


def run(env: Environment) -> list[Row]:
    count, spread = env.sizes.oauth_credentials, env.sizes.oauth_spread
    metric = f"{count:,} OAuth credentials expiring within {spread:g} s"
    port = start_endpoint(env)
    credd_env = env.credd_env()
    home = Path(credd_env["CREDD_HOME"])
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text(
        f"max_concurrent_refreshes = {MAX_IN_FLIGHT}\nrefresh_margin = {MARGIN}\n"
    )
    daemon = env.daemon(credd_env)
    now = datetime.now(UTC)
    expiries = tuple(
        now + timedelta(seconds=FIRST_EXPIRY + spread * i / count) for i in range(count)
    )
    put_all(str(daemon.socket), f"http://127.0.0.1:{port}/token", expiries)
    deadline = time.monotonic() + (expiries[-1] - now).total_seconds() + 10
    samples: list[float] = []
    seen: dict[str, float] = {}
    with Client(str(daemon.socket)) as client:
        index = 0
        while time.monotonic() < deadline:
            start = time.perf_counter()
            client.get(f"oauth{index % count}")
            samples.append(time.perf_counter() - start)
            index += 1
            if index % 200 == 0:
                seen = stats(port)["first_seen"]  # type: ignore[assignment]
                if len(seen) >= count:
                    break
            time.sleep(GET_PAUSE)
        listed = {c.name: c for c in client.list()}
    final = stats(port)
    seen = final["first_seen"]  # type: ignore[assignment]
    in_time = sum(
        1
        for i, expiry in enumerate(expiries)
        if seen.get(f"rt-{i}", float("inf")) < expiry.timestamp()
    )
    renewed = sum(
        1
        for i, expiry in enumerate(expiries)
        if (c := listed.get(f"oauth{i}")) is not None
        and c.expires_at is not None
        and datetime.fromisoformat(c.expires_at) > expiry
    )
    most = int(final["max_in_flight"])  # type: ignore[call-overload]
    gets = Sample.of(samples)
    return [
        Row(
            metric,
            f"{in_time:,}/{count:,} refreshed before expiry ({renewed:,} hold the new token), "
            f"at most {most} in flight (configured {MAX_IN_FLIGHT}); gets meanwhile: "
            f"{latency(gets)}",
            f"(token endpoint answering in {ENDPOINT_DELAY * 1e3:.0f} ms, margin {MARGIN} s)",
            goal=GOAL,
            met=in_time == count and renewed == count and most <= MAX_IN_FLIGHT and gets.p99 < 0.01,
        )
    ]
