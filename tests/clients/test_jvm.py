"""The JVM client (client/jvm) against the real daemon, the real keyring and the real OAuth
server, started here; the Java side is the compiled tests in client/jvm/src/test, run by their
own small runner (TestMain), which ends with one summary line.

Each test sets a scene (a daemon found through one variable, a listener run by another uid, no
daemon at all) and runs the Java tests written for it. The coverage test reads the Java records
and exceptions and checks them against the OpenAPI document (tests/support/api_contract.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from credd_client._paths import socket_path
from credd_client.client import encode_path_segment
from tests.integration.test_oauth import login
from tests.support import watch_scenario
from tests.support.api_contract import error_codes, nested_schemas, openapi_document, schema_fields
from tests.support.daemon import DaemonProcess
from tests.support.impostor import FakeDaemon, fake_daemon_in
from tests.support.oauth_server import SERVER_DIR, OAuthServer
from tests.support.other_user import NOBODY
from tests.support.requirements import require_path, require_program

pytestmark = pytest.mark.integration

JVM = Path(__file__).resolve().parents[2] / "client" / "jvm"
BUILD = JVM / "build"
SOURCES = JVM / "src" / "main" / "java" / "dev" / "credd" / "client"
SUMMARY = re.compile(r"^jvm tests: (\d+) passed, (\d+) failed, (\d+) total", re.M)

# The Java record that models each schema of the API (a schema missing here fails the coverage).
RECORDS = {
    "CredentialOut": "Credential",
    "StatusOut": "Status",
    "StoreStatus": "StoreStatus",
    "KeyBackendStatus": "KeyBackendStatus",
    "CredentialCounts": "CredentialCounts",
    "OAuthSummary": "OAuthSummary",
    "OAuthFailure": "OAuthFailure",
    "OAuthCredentialState": "OAuthCredentialState",
    "ViewStatus": "ViewStatus",
    "ProgramIdentity": "ProgramIdentity",
    "WatcherStatus": "WatcherStatus",
}


@pytest.fixture(scope="session")
def java() -> str:
    program = require_program("java")
    require_path(BUILD / "credd-client.jar", "credd-client.jar (`make jvm`)")
    require_path(BUILD / "test-classes" / ".built", "the JVM client's tests (`make jvm`)")
    return program


def run_java(
    java: str, env: dict[str, str], *selection: str, jvm_args: tuple[str, ...] = ()
) -> str:
    """Run the Java tests named (``Class`` or ``Class#method``); all must pass."""
    classpath = f"{BUILD / 'credd-client.jar'}:{BUILD / 'test-classes'}"
    result = subprocess.run(
        [java, *jvm_args, "-cp", classpath, "dev.credd.client.TestMain", *selection],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    summary = SUMMARY.search(result.stdout)
    assert summary is not None, f"no summary line\n{output}"
    assert result.returncode == 0, output
    assert int(summary[2]) == 0, output
    assert int(summary[1]) >= len(selection), output
    return result.stdout


# --- without a daemon -----------------------------------------------------------------------


def test_json_path_encoding_and_discovery_match_the_python_client(java: str) -> None:
    names = ["a/b", "100%", "é 日本 🎉", ".", "..", "...", "a+b?c#d", "~-._", "x" * 256, "\t"]
    home = os.environ.get("HOME", "/root")
    envs: list[dict[str, str]] = [
        {"CREDD_SOCKET": "/x/y.sock", "XDG_RUNTIME_DIR": "/run/user/5", "CREDD_HOME": "/s"},
        {"XDG_RUNTIME_DIR": "/run/user/5"},
        {"XDG_RUNTIME_DIR": "/run/user/5", "CREDD_HOME": "/home/a/state"},
        {"CREDD_HOME": "/a/../b/./c/"},
        {"CREDD_HOME": "relative/state"},
        {"CREDD_HOME": "~/credd", "HOME": home},
        {"CREDD_HOME": "/home/é/ß"},
        {"CREDD_SOCKET": "", "XDG_RUNTIME_DIR": "", "CREDD_HOME": ""},
        {},
    ]
    env = {
        "PATH": os.environ["PATH"],
        "HOME": home,
        "JVM_TEST_ENCODED": json.dumps([[n, encode_path_segment(n)] for n in names]),
        "JVM_TEST_DISCOVERY": json.dumps([[e, socket_path(e)] for e in envs]),
    }
    run_java(java, env, "UnitTests")


def test_error_codes_framing_garbage_and_timeouts_against_listeners_of_its_own(
    java: str,
) -> None:
    codes = sorted(error_codes(openapi_document()))
    env = {"PATH": os.environ["PATH"], "JVM_TEST_ERROR_CODES": json.dumps(codes)}
    run_java(java, env, "FakeDaemonTests")


def test_the_jvm_records_and_exceptions_cover_the_api() -> None:
    document = openapi_document()
    schemas = nested_schemas(document, "StatusOut") | {"CredentialOut"}
    for schema in sorted(schemas):
        assert schema in RECORDS, f"no Java record models the schema {schema}"
        source = (SOURCES / f"{RECORDS[schema]}.java").read_text()
        declared = set(re.findall(r'json\.\w+\("(\w+)"\)', source))
        missing = schema_fields(document, schema) - declared
        assert not missing, f"{RECORDS[schema]}.java does not read {sorted(missing)} of {schema}"
    codes = {
        match
        for path in SOURCES.glob("*Exception.java")
        for match in re.findall(r'String CODE = "(\w+)";', path.read_text())
    }
    assert error_codes(document) - codes == set()
    assert {"daemon_unavailable", "daemon_timeout", "protocol_error"} <= codes


# --- against the real daemon ----------------------------------------------------------------


def test_every_call_against_the_daemon(
    java: str, daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    out = run_java(java, credd_env, "DaemonTests")
    assert "DaemonTests.testRoundTripOfEveryCall" in out


def test_a_trimmed_runtime_with_java_base_and_jdk_net_alone_is_enough(
    java: str, daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    # jlink'd runtimes may leave out jdk.security.auth, where the JDK tells the uid.
    trimmed = ("--limit-modules", "java.base,jdk.net")
    run_java(java, credd_env, "DaemonTests#testRoundTripOfEveryCall", jvm_args=trimmed)


def _start(env: dict[str, str], socket: str) -> DaemonProcess:
    home = Path(env["CREDD_HOME"]) if env.get("CREDD_HOME") else Path(env["HOME"]) / "credd"
    process = DaemonProcess(home, Path(socket), env)
    process.env = {**env, "PYTHONUNBUFFERED": "1"}  # exactly this environment, nothing added
    return process.start()


@pytest.mark.parametrize("variable", ["CREDD_SOCKET", "CREDD_HOME", "XDG_RUNTIME_DIR", "uid"])
def test_the_socket_is_found_from_each_variable(
    java: str, credd_env: dict[str, str], variable: str
) -> None:
    env = dict(credd_env)
    if variable != "CREDD_SOCKET":
        del env["CREDD_SOCKET"]
    if variable == "XDG_RUNTIME_DIR":
        del env["CREDD_HOME"]
    if variable == "uid":  # /tmp/credd-<uid>, with CREDD_HOME's own name in it
        del env["XDG_RUNTIME_DIR"]
    expected = socket_path(env)
    runtime = credd_env["XDG_RUNTIME_DIR"]
    assert expected.startswith(
        {
            "CREDD_SOCKET": credd_env["CREDD_SOCKET"],
            "CREDD_HOME": f"{runtime}/credd/credd-",
            "XDG_RUNTIME_DIR": f"{runtime}/credd/credd.sock",
            "uid": f"/tmp/credd-{os.getuid()}/credd-",
        }[variable]
    )
    process = _start(env, expected)
    try:
        run_java(
            java,
            {**env, "JVM_TEST_EXPECT_SOCKET": expected},
            "EnvironmentTests#testTheDefaultClientFindsTheDaemon",
        )
    finally:
        assert process.stop() == 0, process.log_text()
        if variable == "uid":  # the shared /tmp/credd-<uid>: leave nothing of ours behind
            Path(expected + ".lock").unlink(missing_ok=True)
            Path(expected).unlink(missing_ok=True)


def test_no_daemon_is_unavailable(java: str, credd_env: dict[str, str]) -> None:
    run_java(java, credd_env, "EnvironmentTests#testNoDaemonIsUnavailable")  # no folder
    process = _start(credd_env, credd_env["CREDD_SOCKET"])
    assert process.stop() == 0
    run_java(java, credd_env, "EnvironmentTests#testNoDaemonIsUnavailable")  # stopped


# --- another user's socket folder or daemon -------------------------------------------------


@pytest.fixture
def nobody_listener(short_tmp: Path) -> Iterator[FakeDaemon]:
    with fake_daemon_in(short_tmp) as listener:
        yield listener


def test_a_socket_folder_of_another_user_is_refused(
    java: str, nobody_listener: FakeDaemon, credd_env: dict[str, str]
) -> None:
    env = {
        **credd_env,
        "CREDD_SOCKET": str(nobody_listener.socket),
        "JVM_TEST_EXPECT_MESSAGE": f"belongs to uid {NOBODY}, not to you",
    }
    run_java(java, env, "EnvironmentTests#testTheClientRefuses")
    nobody_listener.control(nobody_listener.socket)
    assert nobody_listener.received() == b"CONN 4\nPING\n"  # never even connected
    # A folder of the uid CREDD_DAEMON_UID names is accepted, as its daemon is.
    run_java(
        java,
        {**env, "CREDD_DAEMON_UID": str(NOBODY)},
        "EnvironmentTests#testTheNamedDaemonUidIsAccepted",
    )
    wait_for_request(nobody_listener)


def test_a_daemon_of_another_uid_is_refused_unless_named(
    java: str, nobody_listener: FakeDaemon, credd_env: dict[str, str], short_tmp: Path
) -> None:
    ours = short_tmp / "ours"
    ours.mkdir(mode=0o700)
    planted = ours / "credd.sock"
    os.rename(nobody_listener.socket, planted)
    env = {
        **credd_env,
        "CREDD_SOCKET": str(planted),
        "JVM_TEST_EXPECT_MESSAGE": f"runs as uid {NOBODY} (user nobody), not as you "
        f"(uid {os.getuid()})",
    }
    run_java(java, env, "EnvironmentTests#testTheClientRefuses")
    nobody_listener.control(planted)
    received = nobody_listener.received()
    assert received == b"CONN 0\n\n" * 3 + b"CONN 4\nPING\n", received  # connected, sent nothing
    # Named by CREDD_DAEMON_UID, the same listener is talked to (and never answers).
    run_java(
        java,
        {**env, "CREDD_DAEMON_UID": str(NOBODY)},
        "EnvironmentTests#testTheNamedDaemonUidIsAccepted",
    )
    wait_for_request(nobody_listener)


@pytest.fixture
def numeric_user() -> Iterator[str]:
    """A user named by a number that is not its uid: its uid is nobody's (`useradd --badname
    -o`), so a lookup by that name finds nobody's uid. Removed at the end."""
    import pwd

    if os.geteuid() != 0:
        pytest.fail("this test makes a local user: it needs root (CI is root)")
    require_program("useradd")
    taken = {str(entry.pw_uid) for entry in pwd.getpwall()} | {e.pw_name for e in pwd.getpwall()}
    name = next(str(n) for n in range(61250, 61300) if str(n) not in taken)
    subprocess.run(
        ["useradd", "--badname", "-o", "-u", str(NOBODY), "-M", "-N", "-s", "/bin/false", name],
        check=True,
        capture_output=True,
    )
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


def test_uids_compare_as_numbers_not_through_a_user_name(
    java: str,
    nobody_listener: FakeDaemon,
    credd_env: dict[str, str],
    short_tmp: Path,
    numeric_user: str,
) -> None:
    # CREDD_DAEMON_UID names uid N; the listener runs as nobody, whose other name is "N".
    ours = short_tmp / "ours"
    ours.mkdir(mode=0o700)
    planted = ours / "credd.sock"
    os.rename(nobody_listener.socket, planted)
    env = {
        **credd_env,
        "CREDD_SOCKET": str(planted),
        "CREDD_DAEMON_UID": numeric_user,
        "JVM_TEST_EXPECT_MESSAGE": f"runs as uid {NOBODY} (user nobody), not as you",
    }
    run_java(java, env, "EnvironmentTests#testTheClientRefuses")
    nobody_listener.control(planted)
    received = nobody_listener.received()
    assert received == b"CONN 0\n\n" * 3 + b"CONN 4\nPING\n", received  # connected, sent nothing


def wait_for_request(listener: FakeDaemon) -> None:
    """Wait until the listener recorded the request the client sent (it never answers)."""
    deadline = time.monotonic() + 15
    while b"GET /v1/status HTTP/1.1" not in listener.received():
        assert time.monotonic() < deadline, listener.received()
        time.sleep(0.05)


# --- OAuth ----------------------------------------------------------------------------------


def test_an_oauth_credential_is_refreshed_through_the_client(
    java: str, headless_credd_env: dict[str, str]
) -> None:
    node = require_program("node")
    require_path(SERVER_DIR / "node_modules" / "oidc-provider", "oidc-provider (npm ci)")
    env = headless_credd_env
    with OAuthServer(node, access_token_ttl=60) as server:
        process = _start(env, env["CREDD_SOCKET"])
        try:
            result = login(env, "jvm-oauth", server.issuer)
            assert result.returncode == 0, result.stderr
            before = server.stats()["refresh_requests"]
            run_java(
                java,
                {**env, "JVM_TEST_OAUTH_NAME": "jvm-oauth"},
                "EnvironmentTests#testAnOAuthCredentialIsRefreshed",
            )
            assert server.stats()["refresh_requests"] == before + 2
        finally:
            assert process.stop() == 0, process.log_text()


def test_watch_resumes_after_a_restart_and_catches_up(
    java: str, headless_daemon: DaemonProcess, short_tmp: Path
) -> None:
    """CreddClient.watch against the real daemon: tests/support/watch_scenario.py."""
    ready = short_tmp / "ready"
    classpath = f"{BUILD / 'credd-client.jar'}:{BUILD / 'test-classes'}"
    proc = subprocess.Popen(
        [java, "-cp", classpath, "dev.credd.client.TestMain", "WatchTests"],
        env={**headless_daemon.env, "CREDD_TEST_WATCH_READY": str(ready)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    restarted = watch_scenario.drive(proc, headless_daemon, ready, short_tmp / "o" / "o.sock")
    try:
        output, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, output
        summary = SUMMARY.search(output)
        assert summary is not None, output
        assert (summary[1], summary[2]) == ("1", "0"), output
    finally:
        assert restarted.stop() == 0
