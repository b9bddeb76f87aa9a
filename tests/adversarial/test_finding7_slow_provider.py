"""Finding 7: with the token expired and the token endpoint answering in 3 s, twenty `credd
get` at once all failed, because a GET waited at most 3 s. Now every client says how long it
waits (`Prefer: wait=N`, RFC 7240) and a GET with no valid token waits that long for the
refresh: against the real OAuth server, slow (3 s, 7 s) or hung."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from credd_client import Client
from credd_client.errors import RefreshFailed
from tests.integration.test_oauth import WAIT, login, parse, stored, wait_for
from tests.support.cli import credd
from tests.support.daemon import DaemonProcess
from tests.support.oauth_server import OAuthServer
from tests.support.token_proxy import TokenProxy, route_through

pytestmark = pytest.mark.integration

NAME = "slow"
# A margin this small schedules the refresh at expiry: nothing refreshes before the test
# stops the daemon and lets the token expire.
AT_EXPIRY = {"refresh_margin": 0.001}


def expired_after_restart(
    server: OAuthServer,
    run_daemon: Callable[..., DaemonProcess],
    env: dict[str, str],
    before_restart: Callable[[], None],
) -> str:
    """Log in, stop the daemon, let the access token expire, start again; the old token."""
    daemon = run_daemon(**AT_EXPIRY)
    assert login(env, NAME, server.issuer).returncode == 0
    before_restart()
    old = stored(env, NAME)
    with Client(env["CREDD_SOCKET"]) as client:
        token = client.get(NAME).secret
    assert daemon.stop() == 0
    expiry = parse(old.expires_at) + timedelta(seconds=1)
    wait_for("the token's expiry", lambda: datetime.now(UTC) > expiry)
    assert token is not None
    return token


@pytest.mark.parametrize("delay_ms", [3000, 7000], ids=["3s", "7s"])
def test_twenty_gets_of_an_expired_token_wait_for_a_slow_provider(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
    delay_ms: int,
) -> None:
    server = start_server(6)
    env = headless_credd_env
    old = expired_after_restart(server, run_daemon, env, lambda: None)
    server.reset()
    server.fault("delay", count=1, ms=delay_ms)
    run_daemon(**AT_EXPIRY)  # the overdue refresh starts at once, and takes delay_ms
    program = shutil.which("credd", path=env["PATH"])
    assert program is not None
    procs = [
        subprocess.Popen(
            [program, "get", NAME],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(20)
    ]
    outputs = [proc.communicate(timeout=WAIT) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 20, outputs
    tokens = {out.strip() for out, _ in outputs}
    assert len(tokens) == 1
    assert tokens != {old}
    assert server.stats()["refresh_requests"] == 1


def test_a_hung_provider_is_answered_refresh_failed_within_the_clients_wait(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
) -> None:
    server = start_server(6)
    env = headless_credd_env
    with TokenProxy(server.issuer + "/token") as proxy:
        expired_after_restart(
            server,
            run_daemon,
            env,
            lambda: route_through(env["CREDD_SOCKET"], NAME, proxy.url),
        )
        proxy.mode = "hang"
        run_daemon(**AT_EXPIRY)
        got = credd(env, "get", NAME)  # Prefer: wait=8, its timeout of 10 s less 2
        assert got.returncode == 1
        assert "its refresh is not done" in got.stderr
        assert "has not answered" in got.stderr
        assert "did not answer within" not in got.stderr  # the daemon's answer, not a timeout
        # A client with less patience is answered within it: wait=1, its 3 s less 2.
        with (
            Client(env["CREDD_SOCKET"], timeout=3) as client,
            pytest.raises(RefreshFailed, match="is not done"),
        ):
            client.get(NAME)
        assert proxy.requests == 1  # sent once; the GETs waited for it, none sent another
        proxy.mode = "pass"
        proxy.release()
