"""One process, one persistent connection: a get through the client against keyring in-process."""

from __future__ import annotations

import time
from collections.abc import Callable

from credd_client import Client

from .environment import Environment
from .stats import Sample, latency
from .table import Row, ratio

SERVICE, USER = "credd-bench", "bench"
SECRET = "bench-secret-0123456789abcdef"


def timed(call: Callable[[], object], count: int) -> Sample:
    samples = []
    clock = time.perf_counter
    for _ in range(count):
        start = clock()
        call()
        samples.append(clock() - start)
    return Sample.of(samples)


def keyring_backend() -> object:
    """keyring's Secret Service backend, by class (the private bus is in os.environ)."""
    from keyring.backends.SecretService import Keyring

    return Keyring()  # type: ignore[no-untyped-call]


def run(env: Environment) -> list[Row]:
    sizes = env.sizes
    credd_env = env.credd_env()
    daemon = env.daemon(credd_env)
    backend = keyring_backend()
    backend.set_password(SERVICE, USER, SECRET)  # type: ignore[attr-defined]
    with Client(str(daemon.socket)) as client:
        client.set_secret("bench", SECRET)
        timed(lambda: client.get("bench"), max(10, sizes.requests // 10))  # warm-up
        credd = timed(lambda: client.get("bench"), sizes.requests)
    keyring = timed(
        lambda: backend.get_password(SERVICE, USER),  # type: ignore[attr-defined]
        sizes.keyring_requests,
    )
    speedup = keyring.p50 / credd.p50
    return [
        Row(
            "get, client in-process, persistent connection",
            latency(credd),
            "keyring.get_password in-process: " + latency(keyring),
            ratio(credd.p50, keyring.p50) + f" ({speedup:.0f}x faster)",
            "p50 < 500 µs and ≥ 25x faster",
            credd.p50 < 500e-6 and speedup >= 25,
        )
    ]
