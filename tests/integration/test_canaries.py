"""Canaries: plant a distinctive secret through every path on main, drive every feature
(the failures too), then search everything that is not the encrypted store or the intended
`get` output. Zero hits.

Searched: every CLI output (stdout and stderr) except `get`'s own; every API answer that is
not a GET of one credential; the daemon's log; the audit log; /proc/<pid>/cmdline and
environ of the daemon; every file under the state folder, the socket folder, HOME and the
backup folder, the encrypted store and backup included (no canary in plaintext there
either); the keyring's files.

Paths planted here: `credd set` (standard input), `credd set --json`, `PUT` over the API
(plain and oauth2 with refresh token and client secret), `credd restore` of a backup, the
git and docker credential helpers, the keyring backend (the `keyring` command),
`credd import git --remove-source`, `credd import kube --remove-source` (then `credd kube`,
locked and unlocked), `credd aws add` and `credd import aws --remove-source` (an aws
credential's keys leave only through `credd aws`), an SSH key (`credd ssh-key import
--remove-source`, then `ssh-add`; its private half searched in every form); `credd exec
--mask`, `credd exec --env-file`, `credd render` (their bad input too) and a failing `credd
refresh` are driven, and so are
issue 19's refusals (endpoints credd will not contact, a write view's oauth2 and
program-restricted requests, a view's status). A change-event stream (`GET /v1/events`) is
open throughout and searched too. Not planted yet: OAuth tokens issued by a real
authorization server through `credd login` (tests/integration/test_oauth.py has that server;
a planter is the next step).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from credd_client import Client
from credd_client._transport import UnixTransport
from tests.support.cli import credd, run_program
from tests.support.daemon import DaemonProcess, raw_request
from tests.support.secret_service import SecretService

pytestmark = pytest.mark.integration

RUN = secrets.token_hex(4)
PREFIX = f"CANARY{RUN}"


def canary(path: str) -> str:
    return f"{PREFIX}-{path}"


class Seen:
    """Everything the run showed outside the intended places, to be searched at the end."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.texts.append((where, text))

    def cli(self, env: dict[str, str], *args: str, input: str | None = None) -> int:
        result = credd(env, *args, input=input)
        self.add(f"credd {' '.join(args)} (stdout)", result.stdout)
        self.add(f"credd {' '.join(args)} (stderr)", result.stderr)
        return result.returncode


def plant_cli(env: dict[str, str], seen: Seen) -> dict[str, str]:
    value = canary("cli")
    assert seen.cli(env, "set", "via/cli", "--username", "u", input=value + "\n") == 0
    return {"via/cli": value}


def plant_cli_json(env: dict[str, str], seen: Seen) -> dict[str, str]:
    value = canary("cli-json")
    body = json.dumps({"secret": value, "labels": {"team": "x"}})
    assert seen.cli(env, "set", "via/json", "--json", input=body) == 0
    return {"via/json": value}


def plant_api(env: dict[str, str], seen: Seen) -> dict[str, str]:
    value = canary("api")
    status, body = raw_request(
        Path(env["CREDD_SOCKET"]),
        "PUT",
        "/v1/credentials/via%2Fapi",
        json.dumps({"secret": value}).encode(),
    )
    assert status == 200
    seen.add("PUT answer", body)
    oauth = {
        "kind": "oauth2",
        "secret": canary("oauth-access"),
        "token_endpoint": "https://id.example.invalid/token",
        "client_id": "cli",
        "client_secret": canary("oauth-client-secret"),
        "refresh_token": canary("oauth-refresh"),
        "expires_at": "2031-01-01T00:00:00Z",
    }
    status, body = raw_request(
        Path(env["CREDD_SOCKET"]),
        "PUT",
        "/v1/credentials/via%2Foauth",
        json.dumps(oauth).encode(),
    )
    assert status == 200
    seen.add("PUT oauth2 answer", body)
    return {"via/api": value, "via/oauth": oauth["secret"]}


def plant_restore(env: dict[str, str], seen: Seen) -> dict[str, str]:
    """A backup made elsewhere (sealed offline), restored through the CLI."""
    from credd.backup import KdfParams, seal_backup
    from credd.store.records import Credential, StoreState

    value = canary("restore")
    state = StoreState({"via/restore": Credential(name="via/restore", kind="secret", secret=value)})
    passphrase = canary("passphrase-restore")
    blob = seal_backup(state, passphrase, KdfParams(salt=os.urandom(16), n=2**14))
    path = Path(env["HOME"]) / "incoming.backup"
    path.write_bytes(blob)
    assert seen.cli(env, "restore", str(path), input=passphrase + "\n") == 0
    return {"via/restore": value}


def helper(env: dict[str, str], program: str, action: str, stdin: str) -> str:
    result = run_program(env, program, action, input=stdin)
    return result.stdout + result.stderr


def plant_git_helper(env: dict[str, str], seen: Seen) -> dict[str, str]:
    value = canary("git")
    request = "protocol=https\nhost=git.example\nusername=me\n"
    seen.add(
        "git store", helper(env, "git-credential-credd", "store", request + f"password={value}\n\n")
    )
    got = helper(env, "git-credential-credd", "get", request + "\n")
    assert f"password={value}" in got  # the intended place
    # A password another helper minted, with its expiry and refresh token.
    minted, refresh = canary("git-minted"), canary("git-refresh")
    request = "protocol=https\nhost=mint.example\nusername=me\n"
    expiring = f"{request}password={minted}\npassword_expiry_utc=4070908800\n"
    stored = helper(
        env, "git-credential-credd", "store", f"{expiring}oauth_refresh_token={refresh}\n\n"
    )
    seen.add("git store (expiring)", stored)
    got = helper(env, "git-credential-credd", "get", request + "\n")
    assert f"oauth_refresh_token={refresh}" in got  # the intended place
    return {}


def plant_docker_helper(env: dict[str, str], seen: Seen) -> dict[str, str]:
    value = canary("docker")
    body = json.dumps({"ServerURL": "registry.example", "Username": "me", "Secret": value})
    seen.add("docker store", helper(env, "docker-credential-credd", "store", body))
    assert value in helper(env, "docker-credential-credd", "get", "registry.example")
    seen.add("docker list", helper(env, "docker-credential-credd", "list", ""))
    seen.add("docker get absent", helper(env, "docker-credential-credd", "get", "nowhere"))
    return {}


def plant_keyring(env: dict[str, str], seen: Seen) -> dict[str, str]:
    value = canary("keyring")
    program = shutil.which("keyring", path=env["PATH"])
    assert program is not None
    kenv = {**env, "PYTHON_KEYRING_BACKEND": "credd_client.keyring_backend.CreddKeyring"}
    stored = subprocess.run(
        [program, "set", "pypi.example", "me"],
        env=kenv,
        input=value + "\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert stored.returncode == 0, stored.stderr
    seen.add("keyring set", stored.stdout + stored.stderr)
    got = subprocess.run(
        [program, "get", "pypi.example", "me"],
        env=kenv,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert got.stdout.strip() == value  # the intended place
    seen.add("keyring get (stderr)", got.stderr)
    return {}


def plant_import(env: dict[str, str], seen: Seen) -> dict[str, str]:
    value = canary("import")
    source = Path(env["HOME"]) / ".git-credentials"
    source.write_text(f"https://me:{value}@import.example\n")
    assert seen.cli(env, "import", "git", "--dry-run") == 0
    assert seen.cli(env, "import", "git", "--remove-source") == 0
    return {}


# The private half of the planted SSH key in every form it could leak in: raw, hex, base64,
# and the lines of its OpenSSH file that hold it. Searched like the canaries.
PRIVATE_KEY_FORMS: list[bytes] = []


def plant_ssh_key(env: dict[str, str], seen: Seen) -> dict[str, str]:
    """An ed25519 key file imported with --remove-source, then added again with `ssh-add`,
    listed and used to sign through the agent."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from credd_client._paths import agent_socket_path

    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.private_bytes_raw()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    PRIVATE_KEY_FORMS.extend(
        [raw, raw.hex().encode(), base64.b64encode(raw), *pem.splitlines()[3:-2]]
    )
    path = Path(env["HOME"]) / ".ssh" / "id_ed25519"
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_bytes(pem)
    path.chmod(0o600)
    assert seen.cli(env, "ssh-key", "import", "--dry-run") == 0
    assert seen.cli(env, "ssh-key", "import", "--remove-source") == 0
    assert not path.exists()
    agent_env = {**env, "SSH_AUTH_SOCK": agent_socket_path(env)}
    for args in (["-l"], ["-L"], ["-d", str(path) + ".pub"]):
        listed = run_program(agent_env, "ssh-add", *args)
        seen.add(f"ssh-add {args}", listed.stdout + listed.stderr)
    assert seen.cli(env, "ssh-key", "offer", "ssh:id_ed25519") == 0
    for args in (("ssh-key", "list"), ("ssh-key", "list", "--json"), ("get", "ssh:id_ed25519")):
        assert seen.cli(env, *args) == 0
    status, body = raw_request(Path(env["CREDD_SOCKET"]), "GET", "/v1/ssh-keys")
    assert status == 200
    seen.add("GET /v1/ssh-keys", body)
    return {}


def plant_kube(env: dict[str, str], seen: Seen) -> dict[str, str]:
    """A kubeconfig's token user and a client-certificate user (whose key, a PEM, cannot hold
    a canary: it is checked to be in no answer but `credd kube`'s)."""
    from tests.support.certs import self_signed

    value = canary("kube-token")
    pair = self_signed("canary")
    config = Path(env["HOME"]) / ".kube" / "config"
    config.parent.mkdir()
    key_data = base64.b64encode(pair.key_pem.encode()).decode()
    cert_data = base64.b64encode(pair.certificate_pem.encode()).decode()
    config.write_text(
        "users:\n"
        f"- name: canary\n  user:\n    token: {value}\n"
        f"- name: cert\n  user:\n    client-certificate-data: {cert_data}\n"
        f"    client-key-data: {key_data}\n"
    )
    assert seen.cli(env, "import", "kube", "--dry-run", "--remove-source") == 0
    assert seen.cli(env, "import", "kube", "--remove-source") == 0
    request = json.dumps(
        {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential"}
    )
    kube_env = {**env, "KUBERNETES_EXEC_INFO": request}
    answered = credd(kube_env, "kube", "kube:canary")
    assert json.loads(answered.stdout)["status"]["token"] == value  # the intended place
    seen.add("credd kube (stderr)", answered.stderr)
    cert = credd(kube_env, "kube", "kube:cert")
    assert json.loads(cert.stdout)["status"]["clientKeyData"] == pair.key_pem  # intended
    key_line = pair.key_pem.splitlines()[1]
    for args in (("get", "kube:cert", "--json"), ("list", "--json"), ("get", "kube:cert")):
        shown = credd(env, *args)
        assert key_line not in shown.stdout + shown.stderr, args
    assert key_line not in config.read_text()
    odd = {**env, "KUBERNETES_EXEC_INFO": '{"apiVersion": "v9", "kind": "ExecCredential"}'}
    assert seen.cli(odd, "kube", "kube:canary") == 1
    assert seen.cli(env, "lock") == 0
    assert seen.cli(kube_env, "kube", "kube:canary") == 1
    assert seen.cli(env, "unlock") == 0
    return {}


def plant_aws(env: dict[str, str], seen: Seen) -> dict[str, str]:
    """`credd aws add` (sessions off: no STS here), `credd import aws --remove-source`; the
    keys go out only through `credd aws` (checked, not searched), never `get`."""
    value = canary("aws")
    args = ("aws", "add", "via/aws", "--access-key-id", "AKIACANARY", "--no-session")
    assert seen.cli(env, *args, input=value + "\n") == 0
    got = credd(env, "aws", "via/aws")
    assert json.loads(got.stdout)["SecretAccessKey"] == value
    seen.add("credd aws (stderr)", got.stderr)
    assert seen.cli(env, "get", "via/aws") == 2  # its keys only through `credd aws`
    assert seen.cli(env, "get", "via/aws", "--json") == 0
    folder = Path(env["HOME"]) / ".aws"
    folder.mkdir(mode=0o700)
    imported = canary("aws-import")
    (folder / "credentials").write_text(
        f"[canary]\naws_access_key_id = AKIAIMPORT\naws_secret_access_key = {imported}\n"
    )
    assert seen.cli(env, "import", "aws", "--dry-run", "--remove-source") == 0
    assert seen.cli(env, "import", "aws", "--remove-source") == 0
    bad = {"kind": "aws", "secret": canary("aws-bad"), "access_key_id": "A"}
    bad.update(session_token=canary("aws-token"), session=True)  # temporary keys: no session
    status, answer = raw_request(
        Path(env["CREDD_SOCKET"]), "PUT", "/v1/credentials/bad-aws", json.dumps(bad).encode()
    )
    assert status == 400
    seen.add("bad aws PUT answer", answer)
    return {}


PLANTERS: dict[str, Callable[[dict[str, str], Seen], dict[str, str]]] = {
    "cli": plant_cli,
    "cli-json": plant_cli_json,
    "api": plant_api,
    "restore": plant_restore,
    "git-helper": plant_git_helper,
    "docker-helper": plant_docker_helper,
    "keyring": plant_keyring,
    "import": plant_import,
    "ssh-key": plant_ssh_key,
    "kube": plant_kube,
    "aws": plant_aws,
}


def drive_everything(env: dict[str, str], seen: Seen, planted: dict[str, str]) -> None:
    """Every feature on main, the failures included."""
    sock = Path(env["CREDD_SOCKET"])
    home = Path(env["HOME"])
    for args in (
        ("list",),
        ("list", "--json"),
        ("status",),
        ("status", "--json"),
        ("audit",),
        ("audit", "--json"),
        ("get", "absent"),
        ("delete", "absent"),
        ("completion", "--names"),
        ("completion", "bash"),
    ):
        seen.cli(env, *args)
    # The intended place: `get` prints the secret (checked, not searched).
    for name, value in planted.items():
        if name == "via/oauth":
            continue
        got = credd(env, "get", name)
        assert got.stdout == value + "\n", name
        seen.add(f"credd get {name} (stderr)", got.stderr)
        as_json = credd(env, "get", name, "--json")
        assert value in as_json.stdout
    # Per-program refusal of a canary-holding credential.
    body = json.dumps({"secret": canary("restricted"), "allowed_programs": ["/usr/bin/true"]})
    assert seen.cli(env, "set", "restricted", "--json", input=body) == 0
    assert seen.cli(env, "get", "restricted") == 1
    assert seen.cli(env, "get", "restricted", "--json") == 1
    # Malformed and misplaced input carrying canaries.
    bad = canary("bad")
    for body_bytes in (
        json.dumps({"secret": bad, "kind": "oauth2"}).encode(),
        json.dumps({"secret": bad, "bogus": bad}).encode(),
        json.dumps({"secret": bad, "labels": {bad: 5}}).encode(),
        json.dumps({"secret": [bad]}).encode(),
        json.dumps({"secret": bad, "allowed_programs": [bad]}).encode(),
        b'{"secret": "' + bad.encode() + b'"',
        b"x" * (1024 * 1024 + 1),
    ):
        status, answer = raw_request(sock, "PUT", "/v1/credentials/bad", body_bytes)
        assert status in (400, 413)
        seen.add("bad PUT answer", answer)
    for path in (f"/v1/credentials/{bad}%0A", f"/v1/credentials/x?include={bad}", f"/v1/{bad}"):
        status, answer = raw_request(sock, "GET", path)
        assert status >= 400
        seen.add(f"GET {path} answer", answer)
    # The plain-text secret answers only a found credential: its errors are JSON, no value.
    plain = UnixTransport(str(sock), 10.0)
    for path in ("/v1/credentials/absent", f"/v1/credentials/{bad}%0A", "/v1/credentials"):
        answer = plain.request("GET", path, None, {"Accept": "text/plain"}).body
        seen.add(f"GET {path} as text/plain", answer)
    plain.close()
    assert seen.cli(env, "set", "bad", "--json", input='{"secret": "' + bad) == 2
    drive_views_and_endpoints(env, seen)
    # Recovery, the failures too: short and wrong passphrases, a cut and an altered backup.
    passphrase = canary("passphrase")
    backup = home / "b" / "all.backup"
    backup.parent.mkdir()
    assert seen.cli(env, "backup", str(backup), input=passphrase + "\n") == 0
    assert seen.cli(env, "backup", str(home / "b" / "short"), input="short\n") == 2
    assert seen.cli(env, "restore", str(backup), input=canary("wrong-passphrase") + "\n") == 2
    data = backup.read_bytes()
    (home / "b" / "cut").write_bytes(data[: len(data) // 2])
    assert seen.cli(env, "restore", str(home / "b" / "cut"), input=passphrase) == 2
    altered = data[:-3] + bytes([data[-3] ^ 1]) + data[-2:]
    (home / "b" / "altered").write_bytes(altered)
    assert seen.cli(env, "restore", str(home / "b" / "altered"), input=passphrase) == 2
    assert seen.cli(env, "restore", str(backup), input=passphrase) == 0
    assert seen.cli(env, "reset", "--yes") == 2  # the store opens fine
    with Client(str(sock)) as client:
        status, answer = raw_request(
            sock, "POST", "/v1/backup", json.dumps({"passphrase": passphrase}).encode()
        )
        assert status == 200
        sealed = json.loads(answer)["backup"]
        assert PREFIX not in sealed
        client.status()
    # credd exec with --mask: the command's output is masked, credd exec's own environment
    # and arguments (its pid is the shell's parent) hold no secret.
    script = (
        'echo "value=$V"; '
        'echo "parent-environ-hits=$(tr "\\0" "\\n" < /proc/$PPID/environ | grep -c CANARY)"; '
        'echo "parent-cmdline=$(tr "\\0" " " < /proc/$PPID/cmdline)"'
    )
    ran = credd(env, "exec", "--mask", "--env", "V=via/cli", "--", "sh", "-c", script)
    assert ran.returncode == 0, ran.stderr
    assert "parent-environ-hits=0" in ran.stdout
    seen.add("credd exec --mask (stdout)", ran.stdout)
    seen.add("credd exec --mask (stderr)", ran.stderr)
    drive_references(env, seen, planted["via/cli"])
    # A refresh that fails (the token endpoint does not resolve): the error says so, and
    # neither token appears.
    assert seen.cli(env, "refresh", "via/oauth") != 0
    # Lock and unlock: the locked errors.
    assert seen.cli(env, "lock") == 0
    assert seen.cli(env, "get", "via/cli") == 1
    assert seen.cli(env, "backup", str(home / "b" / "locked"), input=passphrase) == 1
    assert seen.cli(env, "unlock") == 0
    assert seen.cli(env, "delete", "via/json") == 0
    assert seen.cli(env, "get", "via/json") == 4


def drive_references(env: dict[str, str], seen: Seen, value: str) -> None:
    """--env-file and credd render: their errors name places, never values, even where the
    file holds one (a bad line, a template's text); the intended outputs are checked, not
    searched (a folder outside the searched roots holds the files)."""
    with tempfile.TemporaryDirectory(prefix="cd") as folder:
        files = Path(folder)
        (files / "refs.env").write_text("V=credd:via/cli\n")
        ran = credd(env, "exec", "--mask", "--env-file", str(files / "refs.env"), "--",
                    "sh", "-c", 'echo "$V"')  # fmt: skip
        assert (ran.returncode, ran.stdout) == (0, "<concealed by credd>\n"), ran.stderr
        seen.add("credd exec --env-file (stderr)", ran.stderr)
        (files / "bad.env").write_text(f'PLAIN="{canary("env-file")}"tail\nV=credd:via/cli\n')
        assert seen.cli(env, "exec", "--env-file", str(files / "bad.env"), "--", "true") == 2
        (files / "t.tmpl").write_text("token={{ credd:via/cli }}\n")
        rendered = credd(env, "render", str(files / "t.tmpl"))
        assert rendered.stdout == f"token={value}\n"  # the intended place
        seen.add("credd render (stderr)", rendered.stderr)
        assert seen.cli(env, "render", str(files / "t.tmpl"), "-o", str(files / "out")) == 0
        assert (files / "out").read_text() == f"token={value}\n"
        assert seen.cli(env, "render", str(files / "t.tmpl"), "-o", "/sys/credd-canary") == 1
        (files / "bad.tmpl").write_text(f"{canary('template')} {{{{ credd:absent }}}}\n")
        assert seen.cli(env, "render", str(files / "bad.tmpl"), "-o", str(files / "x")) == 4
        (files / "open.tmpl").write_text(f"{{{{ credd:via/cli {canary('unclosed')}\n")
        assert seen.cli(env, "render", str(files / "open.tmpl")) == 2


class EventTap:
    """A raw `GET /v1/events` stream, read whole in a thread until the daemon ends it."""

    def __init__(self, sock: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(str(sock))
        self.sock.sendall(b"GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.chunks: list[bytes] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while chunk := self.sock.recv(65536):
            self.chunks.append(chunk)

    def collected(self) -> bytes:
        """Once the daemon stopped: everything the stream carried (it ends first)."""
        self.thread.join(30)
        assert not self.thread.is_alive()
        self.sock.close()
        return b"".join(self.chunks)


def drive_views_and_endpoints(env: dict[str, str], seen: Seen) -> None:
    """Issue 19's refusals with canaries in the bodies: an endpoint credd will not contact, a
    write view's oauth2 and program-restricted requests, the view's status."""
    sock = Path(env["CREDD_SOCKET"])
    tokens = {
        "kind": "oauth2",
        "secret": canary("endpoint-access"),
        "client_id": "cli",
        "client_secret": canary("endpoint-client"),
        "refresh_token": canary("endpoint-refresh"),
    }
    for endpoint in ("http://10.0.0.1/token", "ftp://as.example/token"):
        body = json.dumps({**tokens, "token_endpoint": endpoint}).encode()
        status, answer = raw_request(sock, "PUT", "/v1/credentials/plain-http", body)
        assert status == 400
        seen.add(f"PUT with {endpoint} answer", answer)
    made = credd(env, "view", "add", "canary", "--allow", "via/*", "restricted", "--write")
    assert made.returncode == 0, made.stderr
    view = Path(made.stdout.strip())
    through = {**env, "CREDD_SOCKET": str(view)}
    body = json.dumps({**tokens, "token_endpoint": "https://as.example/token"}).encode()
    for name in ("via/new", "via/oauth"):
        status, answer = raw_request(
            view, "PUT", f"/v1/credentials/{name.replace('/', '%2F')}", body
        )
        assert status == 403
        seen.add(f"PUT {name} through a view answer", answer)
    assert seen.cli(through, "get", "restricted") == 1  # never served through a view
    assert seen.cli(through, "status", "--json") == 0
    assert seen.cli(through, "status") == 0
    assert seen.cli(env, "view", "remove", "canary") == 0


def files_under(*roots: Path) -> list[Path]:
    found = []
    for root in roots:
        if root.exists():
            found += [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    return found


def test_no_canary_anywhere_but_where_asked_for(
    daemon: DaemonProcess, credd_env: dict[str, str], secret_service: SecretService
) -> None:
    seen = Seen()
    planted: dict[str, str] = {}
    events = EventTap(Path(credd_env["CREDD_SOCKET"]))
    for plant in PLANTERS.values():
        planted.update(plant(credd_env, seen))
    drive_everything(credd_env, seen, planted)

    for part in ("cmdline", "environ"):
        seen.add(f"/proc/daemon/{part}", Path(f"/proc/{daemon.pid}/{part}").read_bytes())
    assert daemon.stop() == 0
    seen.add("daemon log", daemon.log_text())
    stream = events.collected()
    assert b"event: changed" in stream
    assert b"event: deleted" in stream
    seen.add("GET /v1/events", stream)

    hits = [where for where, text in seen.texts if PREFIX in text]
    assert hits == [], hits
    forms = [form.decode("latin-1") for form in PRIVATE_KEY_FORMS]
    key_hits = [where for where, text in seen.texts for form in forms if form in text]
    assert key_hits == [], key_hits
    state = Path(credd_env["CREDD_HOME"])
    sock_dir = Path(credd_env["CREDD_SOCKET"]).parent
    roots = [state, sock_dir, Path(credd_env["HOME"]), Path(credd_env["XDG_RUNTIME_DIR"])]
    if secret_service.root is not None:
        roots.append(secret_service.root)
    files = files_under(*roots)
    assert any(f.name == "audit.log" for f in files)
    assert any(f.name == "store.credd" for f in files)
    leaked = [str(f) for f in files if PREFIX.encode() in f.read_bytes()]
    assert leaked == []
    key_leaked = [str(f) for f in files for form in PRIVATE_KEY_FORMS if form in f.read_bytes()]
    assert key_leaked == []
