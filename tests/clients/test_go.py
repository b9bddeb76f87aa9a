"""The Go client (client/go) driven by its own test runner against what pytest starts: the real
daemon with the real keyring, daemons found through each environment variable, a listener of
another uid (setpriv), and a real login at the project's OAuth server.

`go test -c` builds the test binary once; each test here runs the Go tests it names with the
environment it prepared (the CREDD_TEST_* variables each Go test reads) and requires that
they ran and passed, never skipped. The Go tests that need nothing started (fake listeners:
garbage, answers cut short, silence, refused folders) run in `test_go_unit_tests`.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from credd_client import Client, socket_path
from tests.integration.test_oauth import login
from tests.support import api_contract, watch_scenario
from tests.support.cli import credd
from tests.support.daemon import DaemonProcess
from tests.support.go import BUILD, MODULE, go_env, go_program, helper_bin
from tests.support.oauth_server import SERVER_DIR, OAuthServer
from tests.support.other_user import NOBODY, python_as_nobody
from tests.support.requirements import in_ci, require_path, require_program

pytestmark = pytest.mark.integration

TEST_BINARY = BUILD / "credd.test"


@pytest.fixture(scope="session")
def go_tests() -> Path:
    """The Go package's test binary, built once per session (offline, cached)."""
    built = subprocess.run(
        [go_program(), "test", "-c", "-o", str(TEST_BINARY), "."],
        cwd=MODULE,
        env=go_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return TEST_BINARY


def run_go(binary: Path, env: dict[str, str], *tests: str) -> str:
    """Run the named Go tests; each must have run and passed. Returns the output."""
    pattern = "^(" + "|".join(tests) + ")$"
    result = subprocess.run(
        [str(binary), "-test.run", pattern, "-test.v", "-test.count=1", "-test.timeout=120s"],
        cwd=MODULE,
        env={**env, "CI": "true"},  # a missing CREDD_TEST_* variable fails, never skips
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for test in tests:
        assert f"--- PASS: {test} " in output, output
    return output


def daemon_env(env: dict[str, str], **extra: str) -> dict[str, str]:
    return {**env, "CREDD_TEST_DAEMON": "1", **extra}


def test_go_unit_tests(go_tests: Path) -> None:
    """Fake listeners, socket paths, errors, and the helpers' own rules (go test ./internal/...)."""
    codes = api_contract.error_codes(api_contract.openapi_document())
    env = {**os.environ, "CREDD_TEST_ERROR_CODES": ",".join(sorted(codes))}
    result = subprocess.run(
        [str(go_tests), "-test.skip", "^TestDaemon", "-test.v", "-test.count=1"],
        cwd=MODULE,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    if in_ci():  # only a test needing root may skip, on a developer's machine
        assert "--- SKIP" not in output, output
    for test in ("TestEveryWireCodeHasASentinel", "TestASilentDaemonTimesOut", "TestSocketPath"):
        assert f"--- PASS: {test} " in output
    internal = subprocess.run(
        [go_program(), "test", "-count=1", "./internal/..."],
        cwd=MODULE,
        env=go_env(env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert internal.returncode == 0, internal.stdout + internal.stderr


@pytest.mark.parametrize("goos", ["darwin", "windows"])
def test_the_go_client_builds_for_every_platform(goos: str) -> None:
    """macOS reads the peer through LOCAL_PEERCRED (peer_darwin.go), every other system refuses
    (peer_other.go): both type-check and pass vet here, where they cannot run."""
    vetted = subprocess.run(
        [go_program(), "vet", "./..."],
        cwd=MODULE,
        env={**go_env(), "GOOS": goos, "GOARCH": "arm64" if goos == "darwin" else "amd64"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert vetted.returncode == 0, vetted.stdout + vetted.stderr


def test_round_trip_odd_names_and_errors_with_the_real_keyring(
    go_tests: Path, daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    run_go(
        go_tests,
        daemon_env(credd_env),
        "TestDaemonRoundTrip",
        "TestDaemonOddNames",
        "TestDaemonErrors",
    )


def test_a_locked_daemon_is_err_locked(
    go_tests: Path, daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    assert credd(credd_env, "set", "kept", input="v").returncode == 0
    assert credd(credd_env, "lock").returncode == 0
    try:
        run_go(go_tests, daemon_env(credd_env, CREDD_TEST_LOCKED="kept"), "TestDaemonLocked")
    finally:
        assert credd(credd_env, "unlock").returncode == 0
    assert credd(credd_env, "get", "kept").stdout == "v\n"


DISCOVERY = {
    # variable the socket is found by: variables removed from the test's environment
    "CREDD_SOCKET": (),
    "CREDD_HOME under XDG_RUNTIME_DIR": ("CREDD_SOCKET",),
    "XDG_RUNTIME_DIR": ("CREDD_SOCKET", "CREDD_HOME"),
    "CREDD_HOME under /tmp/credd-UID": ("CREDD_SOCKET", "XDG_RUNTIME_DIR"),
}


@pytest.mark.parametrize("found_by", list(DISCOVERY))
def test_socket_discovery_agrees_with_the_daemon(
    go_tests: Path, headless_credd_env: dict[str, str], found_by: str
) -> None:
    env = {k: v for k, v in headless_credd_env.items() if k not in DISCOVERY[found_by]}
    expected = socket_path(env)
    tmp_folder = Path(f"/tmp/credd-{os.getuid()}")
    made_tmp_folder = not tmp_folder.exists()
    home = Path(headless_credd_env["CREDD_HOME"])
    daemon = DaemonProcess(home, Path(expected), env)
    daemon.env = {k: v for k, v in daemon.env.items() if k not in DISCOVERY[found_by]}
    try:
        with daemon:
            run_go(
                go_tests,
                daemon_env(env, CREDD_TEST_EXPECTED_SOCKET=expected),
                "TestDaemonDiscovery",
            )
            assert daemon.stop() == 0, daemon.log_text()
    finally:
        # The daemon leaves its lock file beside the socket: ours to remove from a shared folder.
        Path(expected + ".lock").unlink(missing_ok=True)
        if made_tmp_folder:
            shutil.rmtree(tmp_folder, ignore_errors=True)


# A listener that answers GET /v1/status as any daemon would, run as nobody.
_NOBODY_LISTENER = r"""
import json, socket, sys
server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1])
server.listen(8)
body = json.dumps({"pid": 1, "version": "0.0-nobody", "locked": False}).encode()
head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
print("ready", flush=True)
while True:
    conn, _ = server.accept()
    with conn:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        if b"\r\n\r\n" in data:
            conn.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
"""


@pytest.fixture
def nobody_listener(short_tmp: Path) -> Iterator[Path]:
    """A socket in a folder of ours, bound by a process running as nobody (bound in nobody's
    own folder, then moved here: a socket file keeps its listener when renamed)."""
    own = Path(tempfile.mkdtemp(prefix="cdgo", dir="/tmp"))
    os.chown(own, NOBODY, NOBODY)
    proc = subprocess.Popen(
        python_as_nobody(_NOBODY_LISTENER, str(own / "s.sock")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd="/",
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr
        socket = short_tmp / "s.sock"
        os.rename(own / "s.sock", socket)
        yield socket
    finally:
        proc.kill()
        proc.communicate(timeout=10)  # and closes its pipes
        shutil.rmtree(own, ignore_errors=True)


def test_a_daemon_of_another_uid_is_refused_unless_named(
    go_tests: Path, nobody_listener: Path
) -> None:
    env = {
        **os.environ,
        "CREDD_TEST_FOREIGN_SOCKET": str(nobody_listener),
        "CREDD_TEST_FOREIGN_UID": str(NOBODY),
    }
    run_go(go_tests, env, "TestDaemonOtherUID")


def test_an_oauth_credential_refreshed_through_the_client(
    go_tests: Path, daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    node = require_program("node")
    require_path(SERVER_DIR / "node_modules" / "oidc-provider", "oidc-provider (npm ci)")
    with OAuthServer(node, 60) as server:
        assert login(credd_env, "go-oauth", server.issuer).returncode == 0
        run_go(
            go_tests, daemon_env(credd_env, CREDD_TEST_OAUTH_NAME="go-oauth"), "TestDaemonRefresh"
        )
        with Client(credd_env["CREDD_SOCKET"]) as client:
            grant = client.get("go-oauth", include=("refresh_token", "client_secret"))
        assert grant.refresh_token is not None
        assert grant.client_id is not None
        server.revoke(grant.refresh_token, grant.client_id, grant.client_secret or "")
        run_go(
            go_tests,
            daemon_env(credd_env, CREDD_TEST_REVOKED_NAME="go-oauth"),
            "TestDaemonNeedsLogin",
        )


# --- the API's one description: the Go types cover every field and code --------------------

_STRUCT = re.compile(r"^type (\w+) struct \{\n(.*?)^\}", re.S | re.M)
_JSON_TAG = re.compile(r'`json:"([^",]+)')
# The Go type of each schema where the names differ.
_GO_TYPE = {"CredentialOut": "Credential", "StatusOut": "Status"}


def go_json_fields() -> dict[str, set[str]]:
    source = (MODULE / "models.go").read_text()
    return {name: set(_JSON_TAG.findall(body)) for name, body in _STRUCT.findall(source)}


def go_error_codes() -> set[str]:
    return set(re.findall(r'= &Error\{Code: "(\w+)"\}', (MODULE / "errors.go").read_text()))


def test_the_go_types_cover_the_api() -> None:
    document = api_contract.openapi_document()
    declared = go_json_fields()
    for schema in {"CredentialOut"} | api_contract.nested_schemas(document, "StatusOut"):
        go_type = _GO_TYPE.get(schema, schema)
        assert go_type in declared, f"client/go/models.go has no type {go_type} for {schema}"
        missing = api_contract.schema_fields(document, schema) - declared[go_type]
        assert not missing, f"{go_type} lacks the JSON fields {sorted(missing)} of {schema}"
    missing_codes = api_contract.error_codes(document) - go_error_codes()
    assert not missing_codes, f"client/go/errors.go has no sentinel for {sorted(missing_codes)}"
    assert {"daemon_unavailable", "daemon_timeout", "protocol_error"} <= go_error_codes()


# --- Prefer: wait from the native helpers ---------------------------------------------------


def _recording_listener(socket_path: Path, heads: list[str]) -> socket.socket:
    """A listener of ours that records each request's head and answers an empty list."""
    import threading

    server = socket.socket(socket.AF_UNIX)
    server.bind(str(socket_path))
    os.chmod(socket_path, 0o600)
    server.listen(4)
    body = b'{"credentials": []}'
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
    answer += b"Content-Length: %d\r\n\r\n" % len(body) + body

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data and (chunk := conn.recv(4096)):
                    data += chunk
                heads.append(data.decode("latin-1"))
                conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    return server


def test_the_native_helpers_send_prefer_wait(short_tmp: Path) -> None:
    heads: list[str] = []
    folder = short_tmp / "sock"
    folder.mkdir(mode=0o700)
    server = _recording_listener(folder / "credd.sock", heads)
    try:
        env = {**os.environ, "CREDD_SOCKET": str(folder / "credd.sock")}
        done = subprocess.run(
            [str(helper_bin() / "docker-credential-credd"), "list"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        server.close()
    assert heads, "the helper sent nothing"
    for head in heads:
        assert "\r\nPrefer: wait=8\r\n" in head, head  # the default 10 s timeout, less 2 s


def test_watch_resumes_after_a_restart_and_catches_up(
    go_tests: Path,
    headless_daemon: DaemonProcess,
    headless_credd_env: dict[str, str],
    short_tmp: Path,
) -> None:
    """Client.Watch against the real daemon: tests/support/watch_scenario.py."""
    ready = short_tmp / "ready"
    env = daemon_env(headless_credd_env, CREDD_TEST_WATCH_READY=str(ready), CI="true")
    proc = subprocess.Popen(
        [str(go_tests), "-test.run", "^TestDaemonWatch$", "-test.v", "-test.count=1"],
        cwd=MODULE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    restarted = watch_scenario.drive(proc, headless_daemon, ready, short_tmp / "o" / "o.sock")
    try:
        output, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, output
        assert "--- PASS: TestDaemonWatch " in output, output
    finally:
        assert restarted.stop() == 0
