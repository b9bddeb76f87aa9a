"""The TypeScript client (client/typescript): its own `node --test` suites, run against the real
daemon, keyring and OAuth server started here, and its types checked against the OpenAPI document.

Each test starts what one suite needs and passes it in the environment (CREDD_SOCKET, the
expected socket, the login's name); the suite's TAP summary must report no failure and no skip.
`make ts-client` builds the package (dist/) that the suites import.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from credd_client import Client, errors
from credd_client._paths import socket_path
from tests.integration.test_oauth import login
from tests.support import watch_scenario
from tests.support.api_contract import error_codes, nested_schemas, openapi_document, schema_fields
from tests.support.daemon import DaemonProcess
from tests.support.oauth_server import SERVER_DIR, OAuthServer
from tests.support.requirements import require_path, require_program

pytestmark = pytest.mark.integration

PACKAGE = Path(__file__).resolve().parents[2] / "client" / "typescript"
DIST = PACKAGE / "dist"
# The TypeScript name of each API schema whose name differs; the others keep theirs.
TS_NAMES = {"CredentialOut": "Credential", "StatusOut": "Status"}
CLIENT_ONLY = {"daemon_unavailable", "daemon_timeout", "protocol_error"}


@pytest.fixture(scope="module")
def node() -> str:
    program = require_program("node")
    require_path(DIST / "index.js", "the TypeScript client's build (make ts-client)")
    return program


def run_suite(node: str, suite: str, env: Mapping[str, str]) -> str:
    """Run one `node --test` file; every test in it must pass (none skipped)."""
    proc = subprocess.run(
        [node, "--test", "--test-reporter=tap", f"test/{suite}"],
        cwd=PACKAGE,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    summary = dict(re.findall(r"^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$", output, re.M))
    assert proc.returncode == 0, output
    assert summary.get("fail") == "0", output
    assert summary.get("cancelled") == "0", output
    assert summary.get("skipped") == "0", output
    assert int(summary.get("pass", "0")) > 0, output
    return output


def clean_env(base: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in base.items() if not key.startswith("CREDD_")}


# --- without a daemon ---------------------------------------------------------------------


def path_cases(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Environments and the socket the Python client finds in each (node runs in PACKAGE)."""
    monkeypatch.chdir(PACKAGE)
    envs: list[dict[str, str]] = [
        {"CREDD_SOCKET": "/srv/s.sock", "CREDD_HOME": "/h", "XDG_RUNTIME_DIR": "/run/u"},
        {"XDG_RUNTIME_DIR": "/run/user/1000"},
        {},
        {"CREDD_SOCKET": "", "XDG_RUNTIME_DIR": "", "CREDD_HOME": ""},
        {"CREDD_HOME": "/srv/x/../y//", "XDG_RUNTIME_DIR": "/run/u"},
        {"CREDD_HOME": "relative/home"},
        {"CREDD_HOME": "~/credd-state"},
        {"CREDD_HOME": "~"},
        {"CREDD_HOME": "//double/slash"},
        {"CREDD_HOME": "/état/名前 with space"},
    ]
    return [{"env": env, "expected": socket_path(env)} for env in envs]


def test_the_suite_without_a_daemon(node: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Discovery exactly as the Python client, the folder check, a daemon down, misbehaving
    listeners, timeouts, and every wire code of the API turned into its typed error."""
    codes = sorted(error_codes(openapi_document()))
    classes = {}
    for code in codes:
        name = type(errors.error_for_code(code, "")).__name__
        if name == "CreddError":  # method_not_allowed: the TS client calls it an InvalidRequest
            name = "InvalidRequest"
        classes[code] = name if name == "InternalError" else name + "Error"
    env = clean_env(os.environ)
    env.update(
        CREDD_TEST_PATHS=json.dumps(path_cases(monkeypatch)),
        CREDD_TEST_ERROR_CODES=json.dumps(codes),
        CREDD_TEST_ERROR_CLASSES=json.dumps(classes),
    )
    run_suite(node, "offline.test.mjs", env)


# --- the real daemon ----------------------------------------------------------------------


def test_the_suite_against_the_real_daemon(node: str, daemon: DaemonProcess) -> None:
    env = {**daemon.env, "CREDD_TEST_DAEMON": "1"}
    run_suite(node, "daemon.test.mjs", env)


def test_a_daemon_stopped_under_the_client(node: str, daemon: DaemonProcess) -> None:
    run_suite(node, "down.test.mjs", {**daemon.env, "CREDD_TEST_DAEMON": "1"})
    # The suite sent SIGTERM: wait for that clean exit (a second SIGTERM would cut it short).
    assert daemon.proc is not None
    daemon.proc.wait(timeout=10)
    assert daemon.stop() == 0, daemon.log_text()


@pytest.fixture
def discovered_daemon(credd_env: dict[str, str]) -> Iterator[tuple[dict[str, str], str]]:
    """An environment without CREDD_SOCKET, and a daemon listening where it says (in
    XDG_RUNTIME_DIR, under CREDD_HOME's hashed name)."""
    env = dict(credd_env)
    del env["CREDD_SOCKET"]
    expected = socket_path(env)
    assert expected.startswith(env["XDG_RUNTIME_DIR"] + "/credd/credd-")
    daemon = DaemonProcess(Path(env["CREDD_HOME"]), Path(expected), env)
    with daemon:
        yield env, expected
        assert daemon.stop() == 0, daemon.log_text()


def test_the_client_finds_the_daemon_from_the_environment(
    node: str, discovered_daemon: tuple[dict[str, str], str]
) -> None:
    env, expected = discovered_daemon
    assert "CREDD_SOCKET" not in env
    run_suite(node, "discovery.test.mjs", {**env, "CREDD_TEST_EXPECTED_SOCKET": expected})


def test_an_oauth_credential_refreshed_through_the_client(
    node: str, daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    require_path(SERVER_DIR / "node_modules" / "oidc-provider", "oidc-provider (npm ci)")
    with OAuthServer(node, access_token_ttl=60) as server:
        result = login(credd_env, "ts/oauth", server.issuer)
        assert result.returncode == 0, result.stderr
        with Client(credd_env["CREDD_SOCKET"]) as client:
            before = client.get("ts/oauth")
        refreshes = server.stats()["refresh_requests"]
        run_suite(node, "oauth.test.mjs", {**credd_env, "CREDD_TEST_OAUTH_NAME": "ts/oauth"})
        assert server.stats()["refresh_requests"] == refreshes + 1
        with Client(credd_env["CREDD_SOCKET"]) as client:
            after = client.get("ts/oauth", include=("client_secret",))
        assert after.secret != before.secret
        assert after.client_id is not None
        assert after.client_secret is not None
        active = server.introspect(after.secret or "", after.client_id, after.client_secret)
        assert active.get("active") is True


# --- one description of the API -----------------------------------------------------------


def declared_interfaces() -> dict[str, set[str]]:
    """The property names of every interface the package's declaration files publish."""
    interfaces: dict[str, set[str]] = {}
    for declaration in DIST.glob("*.d.ts"):
        text = declaration.read_text()
        for name, body in re.findall(r"^export interface (\w+) \{\n(.*?)^\}", text, re.M | re.S):
            fields = re.findall(r"^ {4}(?:readonly )?(\w+)\??:", body, re.M)
            interfaces[name] = set(fields)
    return interfaces


def declared_error_codes() -> set[str]:
    text = (DIST / "errors.d.ts").read_text()
    match = re.search(r"^export type ErrorCode =(.*?);", text, re.M | re.S)
    assert match is not None, "errors.d.ts declares no ErrorCode"
    return set(re.findall(r'"(\w+)"', match.group(1)))


def test_the_published_types_cover_the_openapi_document(node: str) -> None:
    del node  # only for its check that the package is built
    document = openapi_document()
    interfaces = declared_interfaces()
    schemas = {"CredentialOut"} | nested_schemas(document, "StatusOut")
    assert {"StoreStatus", "KeyBackendStatus", "OAuthSummary"} <= schemas
    for schema in sorted(schemas):
        ts_name = TS_NAMES.get(schema, schema)
        assert ts_name in interfaces, f"no TypeScript interface {ts_name} for {schema}"
        missing = schema_fields(document, schema) - interfaces[ts_name]
        assert not missing, f"{ts_name} lacks {sorted(missing)} of the API's {schema}"


def test_the_published_error_codes_cover_the_openapi_document(node: str) -> None:
    del node
    declared = declared_error_codes()
    missing = error_codes(openapi_document()) - declared
    assert not missing, f"ErrorCode lacks {sorted(missing)}"
    assert declared >= CLIENT_ONLY


def test_the_coverage_check_sees_a_missing_field() -> None:
    """The extraction reads real interfaces (a regex that matched nothing would pass anything)."""
    interfaces = declared_interfaces()
    credential = interfaces["Credential"]
    assert {"name", "kind", "secret", "refresh_token", "allowed_programs"} <= credential
    assert {"pid", "store", "views", "view", "programs"} <= interfaces["Status"]
    assert "secret" not in interfaces["Status"]


def test_the_package_has_no_runtime_dependency(node: str) -> None:
    """Like the Python client's import allowlist: Node's own modules and the package's."""
    del node
    manifest = json.loads((PACKAGE / "package.json").read_text())
    assert not manifest.get("dependencies")
    assert set(manifest["devDependencies"]) == {"typescript", "@types/node"}
    for module in DIST.glob("*.js"):
        for required in re.findall(r"require\(\"([^\"]+)\"\)", module.read_text()):
            assert required.startswith(("node:", "./")), f"{module.name} requires {required}"


# --- a fresh clone, as the README says ----------------------------------------------------


def _npm(npm: str, cwd: Path, *args: str) -> str:
    env = clean_env(os.environ)
    done = subprocess.run(
        [npm, *args, "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"npm {' '.join(args)} in {cwd}\n{done.stdout}{done.stderr}"
    return done.stdout


def _fresh_clone(root: Path) -> Path:
    """The package's files as git has them: no dist/, no node_modules."""
    repo = PACKAGE.parents[1]
    tracked = (
        subprocess.run(
            ["git", "ls-files", "-z", "client/typescript"],
            cwd=repo,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((repo / name).read_bytes())
    return root / "client" / "typescript"


_USE = (
    "const { CreddClient, DaemonUnavailableError } = require('credd-client');"
    "const credd = new CreddClient({ socketPath: '/nonexistent/credd.sock' });"
    "credd.list().catch((e) => {"
    " console.log(e instanceof DaemonUnavailableError); credd.close(); });"
)


@pytest.mark.timeout(900)  # npm ci twice, npm test, npm pack, two installs
def test_a_fresh_clone_builds_tests_and_installs_as_the_readme_says(node: str) -> None:
    """`npm ci && npm test` in a fresh clone (prepare builds dist/), then the README's install:
    `npm pack` and the tarball installed in another project, or the folder as a link."""
    npm = require_program("npm")
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="cdts-clone"))
    try:
        package = _fresh_clone(root / "credd")
        assert not (package / "dist").exists()
        _npm(npm, package, "ci")
        assert (package / "dist" / "index.js").exists()
        assert (package / "dist" / "index.d.ts").exists()
        _npm(npm, package, "test")
        _npm(npm, package, "pack")
        [tarball] = package.glob("credd-client-*.tgz")
        for source in (tarball, package):  # the tarball, and the folder as a link
            project = root / f"project-{source.name}"
            project.mkdir()
            (project / "package.json").write_text('{"name": "my-extension", "private": true}\n')
            _npm(npm, project, "install", str(source))
            used = subprocess.run(
                [node, "-e", _USE],
                cwd=project,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert used.stdout.strip() == "true", used.stdout + used.stderr
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_watch_resumes_after_a_restart_and_catches_up(
    node: str, headless_daemon: DaemonProcess, short_tmp: Path
) -> None:
    """client.watch against the real daemon: tests/support/watch_scenario.py."""
    ready = short_tmp / "ready"
    env = {**headless_daemon.env, "CREDD_TEST_DAEMON": "1", "CREDD_TEST_WATCH_READY": str(ready)}
    proc = subprocess.Popen(
        [node, "--test", "--test-reporter=tap", "test/watch.test.mjs"],
        cwd=PACKAGE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    restarted = watch_scenario.drive(proc, headless_daemon, ready, short_tmp / "o" / "o.sock")
    try:
        output, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, output
        assert re.search(r"^# pass 1$", output, re.M), output
        assert re.search(r"^# skipped 0$", output, re.M), output
    finally:
        assert restarted.stop() == 0
