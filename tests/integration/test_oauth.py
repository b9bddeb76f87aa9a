"""OAuth end to end: `credd login`, background refresh and every failure mode, against a real
authorization server (oidc-provider, started by the fixtures on 127.0.0.1 with short token
lifetimes and refresh token rotation) and the real daemon.

The browser is played by `complete_login`, which fills in the provider's login and consent
pages. Waits are bounded polls on observable state, never sleeps standing in for sync.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from credd_client import Client
from tests.support.cli import credd
from tests.support.daemon import DaemonProcess
from tests.support.oauth_server import SERVER_DIR, OAuthServer, complete_login
from tests.support.requirements import require_path, require_program
from tests.support.token_proxy import TokenProxy, route_through

pytestmark = pytest.mark.integration

SCOPE = "openid"
WAIT = 60.0  # the bound of every poll: generous, as the machine is shared


@pytest.fixture
def start_server() -> Iterator[Callable[[int], OAuthServer]]:
    node = require_program("node")
    require_path(SERVER_DIR / "node_modules" / "oidc-provider", "oidc-provider (npm ci)")
    servers: list[OAuthServer] = []

    def start(access_token_ttl: int) -> OAuthServer:
        server = OAuthServer(node, access_token_ttl).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def run_daemon(headless_credd_env: dict[str, str]) -> Iterator[Callable[..., DaemonProcess]]:
    """Start `credd serve` with config options (refresh_timeout, ...); stopped at the end."""
    daemons: list[DaemonProcess] = []
    home = Path(headless_credd_env["CREDD_HOME"])

    def start(**config: Any) -> DaemonProcess:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        lines = [f"{key} = {json.dumps(value)}" for key, value in config.items()]
        (home / "config.toml").write_text("\n".join(lines) + "\n")
        daemon = DaemonProcess(home, Path(headless_credd_env["CREDD_SOCKET"]), headless_credd_env)
        daemons.append(daemon.start())
        return daemon

    yield start
    for daemon in daemons:
        if not daemon.stopped:
            code = daemon.stop()
            assert code == 0, f"credd serve exited with {code}\n{daemon.log_text()}"


def login(
    env: dict[str, str], name: str, issuer: str, *extra: str, device: bool = False
) -> subprocess.CompletedProcess[str]:
    """`credd login`, with the test playing the browser from the address it prints."""
    program = shutil.which("credd", path=env["PATH"])
    assert program is not None
    args = [program, "login", name, "--issuer", issuer, "--scope", SCOPE, "--no-browser"]
    args += ["--timeout", "60", *extra] + (["--device"] if device else [])
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    seen = []
    url = None
    for line in proc.stderr:
        seen.append(line)
        if line.startswith(("  http", "  or open http")):
            url = line.split()[-1]
            break
    if url is not None:
        page = complete_login(url)
        assert page.status_code == 200
    out, err = proc.communicate(timeout=WAIT)
    return subprocess.CompletedProcess(args, proc.returncode, out, "".join(seen) + err)


def wait_for(what: str, check: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def stored(env: dict[str, str], name: str) -> Any:
    """The credential with its hidden fields, straight from the API (no refresh forced)."""
    with Client(env["CREDD_SOCKET"]) as client:
        return next(c for c in client.list() if c.name == name)


def secrets_of(env: dict[str, str], name: str) -> Any:
    with Client(env["CREDD_SOCKET"]) as client:
        return client.get(name, include=("refresh_token", "client_secret"))


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def active(server: OAuthServer, env: dict[str, str], name: str, token: str) -> bool:
    credential = secrets_of(env, name)
    answer = server.introspect(token, credential.client_id, credential.client_secret)
    return answer.get("active") is True


# --- login ----------------------------------------------------------------------------------


def test_login_with_pkce_registers_once_and_reuses_the_registration(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
) -> None:
    server = start_server(60)
    env = headless_credd_env
    run_daemon()
    first = login(env, "work", server.issuer)
    assert first.returncode == 0, first.stderr
    assert "registered with" in first.stderr
    assert "logged in: work" in first.stdout
    second = login(env, "work/other", server.issuer)
    assert second.returncode == 0, second.stderr
    assert "registered with" not in second.stderr
    a, b = secrets_of(env, "work"), secrets_of(env, "work/other")
    assert a.client_id == b.client_id
    assert a.token_endpoint_auth_method == "client_secret_basic"
    assert a.refresh_token
    assert a.refresh_token != b.refresh_token
    with Client(env["CREDD_SOCKET"]) as client:
        registration = client.get_registration(server.issuer)
    assert registration["client_id"] == a.client_id
    assert registration["registration_access_token"]
    got = credd(env, "get", "work")
    assert got.returncode == 0
    assert active(server, env, "work", got.stdout.strip())
    # Nothing of the tokens or the client secret in the daemon's log.
    log = (Path(env["CREDD_HOME"]) / "daemon.log").read_text()
    for value in (a.secret, a.refresh_token, a.client_secret, b.secret, b.refresh_token):
        assert value not in log


def test_login_with_the_device_grant(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
) -> None:
    server = start_server(60)
    run_daemon()
    result = login(headless_credd_env, "tv", server.issuer, device=True)
    assert result.returncode == 0, result.stderr
    assert "enter the code" in result.stderr
    token = credd(headless_credd_env, "get", "tv").stdout.strip()
    assert active(server, headless_credd_env, "tv", token)


def test_an_issuer_without_metadata_is_a_clear_error(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
) -> None:
    server = start_server(60)
    run_daemon()
    result = credd(headless_credd_env, "login", "x", "--issuer", server.issuer + "/nothing")
    assert result.returncode == 1
    assert "publishes no OAuth metadata" in result.stderr
    assert "oauth-authorization-server" in result.stderr
    assert "openid-configuration" in result.stderr


def test_logout_revokes_then_deletes(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
) -> None:
    server = start_server(60)
    env = headless_credd_env
    run_daemon()
    assert login(env, "gone", server.issuer).returncode == 0
    credential = secrets_of(env, "gone")
    result = credd(env, "logout", "gone")
    assert result.returncode == 0, result.stderr
    for token in (credential.secret, credential.refresh_token):
        answer = server.introspect(token, credential.client_id, credential.client_secret)
        assert answer["active"] is False
    assert credd(env, "get", "gone").returncode == 4


# --- background refresh ---------------------------------------------------------------------


def test_a_login_stays_valid_for_ten_lifetimes_without_user_action(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
) -> None:
    ttl = 3
    server = start_server(ttl)
    env = headless_credd_env
    run_daemon()
    assert login(env, "long", server.issuer).returncode == 0
    tokens = []
    deadline = time.monotonic() + 10 * ttl + 1
    while time.monotonic() < deadline:
        got = credd(env, "get", "long")
        assert got.returncode == 0, got.stderr
        token = got.stdout.strip()
        assert active(server, env, "long", token), "credd get handed out a dead token"
        if token not in tokens:
            tokens.append(token)
        time.sleep(0.5)
    assert len(tokens) >= 10
    assert server.stats()["refresh_requests"] >= 9
    status = credd(env, "status", "--json")
    oauth = json.loads(status.stdout)["oauth"]
    assert oauth["failures"] == []
    assert oauth["credentials"][0]["status"] == "ok"
    text = credd(env, "status").stdout
    assert "long: ok, expires" in text
    assert "next refresh" in text


def test_twenty_processes_at_expiry_share_one_refresh(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
) -> None:
    server = start_server(12)
    env = headless_credd_env
    run_daemon()
    assert login(env, "shared", server.issuer).returncode == 0
    old = secrets_of(env, "shared").secret
    # The refresh, once started, takes a while: all twenty arrive while it is in flight.
    # A while under the bound of a GET's wait and under what the old token has left (the
    # margin, 4 s), so each waits for the new token rather than being answered the old one.
    server.reset()
    server.fault("delay", count=1, ms=1500)
    due = parse(stored(env, "shared").next_refresh_at)
    wait_for("the refresh time", lambda: datetime.now(UTC) > due)
    program = shutil.which("credd", path=env["PATH"])
    assert program is not None
    procs = [
        subprocess.Popen(
            [program, "get", "shared"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(20)
    ]
    outputs = [proc.communicate(timeout=WAIT) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), outputs
    tokens = {out.strip() for out, _ in outputs}
    assert len(tokens) == 1
    assert tokens != {old}
    assert server.stats()["refresh_requests"] == 1


def test_503_then_recovery(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
) -> None:
    server = start_server(60)
    env = headless_credd_env
    run_daemon()
    assert login(env, "flaky", server.issuer).returncode == 0
    old = credd(env, "get", "flaky").stdout.strip()
    server.reset()
    server.fault("503", count=3)
    forced = credd(env, "refresh", "flaky")
    assert forced.returncode == 1
    assert "HTTP 503" in forced.stderr
    # The still-valid token keeps being served while the daemon retries with backoff.
    during = credd(env, "get", "flaky")
    assert during.returncode == 0
    assert during.stdout.strip() == old
    assert "HTTP 503" in credd(env, "status").stdout
    wait_for("the recovery", lambda: stored(env, "flaky").status == "ok")
    new = credd(env, "get", "flaky").stdout.strip()
    assert new != old
    assert active(server, env, "flaky", new)
    assert server.stats() == {"refresh_requests": 1, "faulted_requests": 3}


def test_a_timeout_leaves_the_outcome_unknown_until_the_token_expires(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
) -> None:
    server = start_server(10)
    env = headless_credd_env
    run_daemon(refresh_timeout=1.5)
    assert login(env, "slow", server.issuer).returncode == 0
    before = secrets_of(env, "slow")
    server.reset()
    server.fault("hang", count=1)
    forced = credd(env, "refresh", "slow")
    assert forced.returncode == 1
    assert "outcome unknown" in forced.stderr
    credential = stored(env, "slow")
    assert credential.status == "error"
    # Not sent again before the access token expires; until then it is served.
    slack = timedelta(seconds=1)  # expires_in is whole seconds
    assert parse(credential.next_refresh_at) >= parse(before.expires_at) - slack
    assert "outcome unknown" in credd(env, "status").stdout
    assert credd(env, "get", "slow").stdout.strip() == before.secret
    assert server.stats()["refresh_requests"] == 0
    # This server never handled the lost request, so the token still works after expiry.
    wait_for("the retry after expiry", lambda: stored(env, "slow").status == "ok")
    after = credd(env, "get", "slow").stdout.strip()
    assert after != before.secret
    assert active(server, env, "slow", after)
    assert server.stats() == {"refresh_requests": 1, "faulted_requests": 1}


def test_a_revoked_grant_needs_login(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
) -> None:
    server = start_server(60)
    env = headless_credd_env
    run_daemon()
    assert login(env, "revoked", server.issuer).returncode == 0
    credential = secrets_of(env, "revoked")
    server.revoke(credential.refresh_token, credential.client_id, credential.client_secret)
    forced = credd(env, "refresh", "revoked")
    assert forced.returncode == 5
    assert f"credd login revoked --issuer {server.issuer}" in forced.stderr
    got = credd(env, "get", "revoked")
    assert got.returncode == 5
    assert "credd login revoked" in got.stderr
    assert "invalid_grant" in got.stderr
    status = credd(env, "status")
    assert "revoked: needs_login" in status.stdout
    requests = server.stats()["refresh_requests"]
    assert credd(env, "get", "revoked").returncode == 5
    assert server.stats()["refresh_requests"] == requests  # no more attempts


def test_the_schedule_survives_a_restart(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
) -> None:
    server = start_server(4)
    env = headless_credd_env
    daemon = run_daemon()
    assert login(env, "kept", server.issuer).returncode == 0
    before = secrets_of(env, "kept")
    assert daemon.stop() == 0
    # Down past the refresh time and past expiry.
    wait_for("expiry", lambda: datetime.now(UTC) > parse(before.expires_at))
    server.reset()
    run_daemon()
    wait_for("the refresh at start", lambda: server.stats()["refresh_requests"] >= 1)
    after = credd(env, "get", "kept")
    assert after.returncode == 0, after.stderr
    assert after.stdout.strip() != before.secret
    assert active(server, env, "kept", after.stdout.strip())
    assert parse(stored(env, "kept").next_refresh_at) > datetime.now(UTC)


def test_a_daemon_killed_during_a_refresh_does_not_resend_at_once(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
) -> None:
    server = start_server(10)
    env = headless_credd_env
    daemon = run_daemon()
    assert login(env, "cut", server.issuer).returncode == 0
    before = secrets_of(env, "cut")
    server.reset()
    server.fault("hang", count=1)
    program = shutil.which("credd", path=env["PATH"])
    assert program is not None
    forced = subprocess.Popen(
        [program, "refresh", "cut"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_for("the request to be out", lambda: server.stats()["faulted_requests"] == 1)
    daemon.kill()
    forced.communicate(timeout=WAIT)
    run_daemon()
    wait_for(
        "the unknown outcome",
        lambda: "credd stopped during a refresh" in (stored(env, "cut").last_error or ""),
    )
    assert credd(env, "get", "cut").stdout.strip() == before.secret
    assert server.stats()["refresh_requests"] == 0
    wait_for("the retry after expiry", lambda: stored(env, "cut").status == "ok")
    after = credd(env, "get", "cut").stdout.strip()
    assert active(server, env, "cut", after)
    assert server.stats()["refresh_requests"] == 1


def test_tokens_from_a_real_login_appear_only_where_asked_for(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
) -> None:
    """Canaries minted by a real server: every access token, refresh token and the client
    secret a login and its refreshes produced, searched for everywhere but `credd get`."""
    server = start_server(3)
    env = headless_credd_env
    daemon = run_daemon()
    outputs = []
    result = login(env, "canary", server.issuer)
    assert result.returncode == 0, result.stderr
    outputs += [result.stdout, result.stderr]
    seen = [secrets_of(env, "canary")]
    for _ in range(2):  # two rotations at least
        previous = seen[-1].refresh_token
        wait_for(
            "a rotation",
            lambda previous=previous: secrets_of(env, "canary").refresh_token != previous,
        )
        seen.append(secrets_of(env, "canary"))
    server.fault("503", count=5)
    for args in (
        ("refresh", "canary"),
        ("status",),
        ("status", "--json"),
        ("list", "--json"),
        ("audit",),
        ("logout", "canary"),
    ):
        ran = credd(env, *args)
        outputs += [ran.stdout, ran.stderr]
    assert daemon.stop() == 0
    values = {v for c in seen for v in (c.secret, c.refresh_token, c.client_secret) if v}
    assert len(values) >= 5
    home = Path(env["CREDD_HOME"])
    files = [p for p in [*home.rglob("*"), *Path(env["HOME"]).rglob("*")] if p.is_file()]
    texts = [
        *outputs,
        *(p.read_bytes().decode("latin-1") for p in files if p.name != "store.credd"),
    ]
    for value in values:
        for text in texts:
            assert value not in text


# --- every answer within a bound (a hung token endpoint) ----------------------------------


def test_a_hung_endpoint_gets_the_valid_token_then_refresh_failed_never_a_hang(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
) -> None:
    """Issue 11: a 10 s token (margin 3.3 s), a token endpoint that takes the connection and
    never answers, `credd get` 3.1 s before expiry: the still-valid token, answered while
    valid. Once it has expired: `refresh_failed` naming the silent endpoint, not a client
    timeout. The refresh token is sent once, and the refresh completes once it answers."""
    server = start_server(10)
    env = headless_credd_env
    run_daemon(refresh_margin=3.3)
    assert login(env, "hung", server.issuer).returncode == 0
    with TokenProxy(server.issuer + "/token") as proxy:
        route_through(env["CREDD_SOCKET"], "hung", proxy.url)
        proxy.mode = "hang"
        before = secrets_of(env, "hung")
        expires = parse(before.expires_at)
        wait_for("the refresh to be out", lambda: proxy.hanging == 1)
        wait_for(
            "3.1 s before expiry", lambda: datetime.now(UTC) >= expires - timedelta(seconds=3.1)
        )
        got = credd(env, "get", "hung")
        assert got.returncode == 0, got.stderr
        # The token of the login, valid: answered at least 1.5 s before its computed expiry
        # (not introspected here: on a loaded machine that could come after it expired).
        assert got.stdout.strip() == before.secret
        assert proxy.hanging == 1  # answered without the refresh
        wait_for("expiry", lambda: datetime.now(UTC) > expires)
        failed = credd(env, "get", "hung")
        assert failed.returncode == 1
        host = proxy.url.split("/")[2]
        assert "has expired and its refresh is not done" in failed.stderr
        assert f"the token endpoint at {host} has not answered the request sent at" in failed.stderr
        assert "then tries again" in failed.stderr
        assert "did not answer within 10 s" not in failed.stderr
        assert proxy.requests == 1
        proxy.mode = "pass"
        proxy.release()  # the connection closes unanswered: an unknown outcome, then a retry
        wait_for("the retry", lambda: stored(env, "hung").expires_at != before.expires_at)
        after = credd(env, "get", "hung")
        assert after.returncode == 0, after.stderr
        assert active(server, env, "hung", after.stdout.strip())
    assert server.stats()["refresh_requests"] == 1


def test_a_hung_issuer_does_not_hold_up_another_one(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
) -> None:
    stuck, fine = start_server(60), start_server(6)
    env = headless_credd_env
    run_daemon()
    assert login(env, "stuck", stuck.issuer).returncode == 0
    assert login(env, "fine", fine.issuer).returncode == 0
    client = secrets_of(env, "fine")
    with TokenProxy(stuck.issuer + "/token") as proxy:
        route_through(env["CREDD_SOCKET"], "stuck", proxy.url)
        proxy.mode = "hang"
        forced = credd(env, "refresh", "stuck")  # bounded too: the refresh goes on
        assert forced.returncode == 1
        assert "is not done" in forced.stderr
        assert "has not answered" in forced.stderr
        assert proxy.hanging == 1
        tokens = set()
        for _ in range(8):  # more than a lifetime of the other credential's tokens
            got = credd(env, "get", "fine")
            assert got.returncode == 0, got.stderr
            answer = fine.introspect(got.stdout.strip(), client.client_id, client.client_secret)
            assert answer["active"] is True
            tokens.add(got.stdout.strip())
            time.sleep(1)
        assert len(tokens) >= 2  # refreshed meanwhile, at the other issuer
        assert proxy.hanging == 1  # all of it while the hung refresh was in flight
        proxy.release()
